//! `/api/v1/components` and `/api/v1/maintenance`: every component, the
//! private ones too, with its status now (the worse of its monitors and its
//! open incidents, or under maintenance) and its monitors; every
//! maintenance window from the config with the occurrence in effect and
//! the next one. Both read the status page's settings' `every_component`,
//! which no public route reads.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::Serialize;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, Occurrence, When};
use watchkeeper_domain::health::Health;
use watchkeeper_store::IncidentQuery;

use crate::AppState;
use crate::api::wire::time;
use crate::error::ApiError;
use crate::status_page::model::{AnyComponent, open_impacts, status_of};

/// Open incidents read for the components' status: far more than are ever
/// open at once.
const OPEN_INCIDENTS: u32 = 500;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentList {
    /// In config order.
    pub components: Vec<ComponentNow>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentNow {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    /// `false`: never on the status page or any unauthenticated route.
    pub public: bool,
    /// `operational`, `degraded_performance`, `partial_outage`,
    /// `major_outage` or `under_maintenance`, as on the status page.
    pub status: &'static str,
    /// Its monitors' ids, private ones included.
    pub monitors: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MaintenanceList {
    /// In config order.
    pub maintenance: Vec<MaintenanceBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MaintenanceBody {
    pub id: String,
    pub title: String,
    /// The components and monitors it names.
    pub components: Vec<String>,
    pub monitors: Vec<String>,
    /// `once`, or `cron 0 3 * * SUN Europe/Berlin for 2h`.
    pub schedule: String,
    /// The occurrence in effect now, if any.
    pub active: Option<OccurrenceBody>,
    /// The next occurrence that starts after now, if any.
    pub next: Option<OccurrenceBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OccurrenceBody {
    pub start: String,
    pub end: String,
}

impl From<Occurrence> for OccurrenceBody {
    fn from(occurrence: Occurrence) -> Self {
        OccurrenceBody {
            start: time(occurrence.start),
            end: time(occurrence.end),
        }
    }
}

fn schedule(window: &MaintenanceWindow) -> String {
    match &window.when {
        When::Once { .. } => "once".to_owned(),
        When::Recurring { cron, duration } => format!(
            "cron {} {} for {duration:#}",
            cron.expression(),
            cron.time_zone()
        ),
    }
}

/// The windows as the API shows them at `now`.
pub(crate) fn maintenance_bodies(
    windows: &[MaintenanceWindow],
    now: Timestamp,
) -> Vec<MaintenanceBody> {
    windows
        .iter()
        .map(|window| MaintenanceBody {
            id: window.id.clone(),
            title: window.title.clone(),
            components: window.components.iter().map(ToString::to_string).collect(),
            monitors: window.monitors.iter().map(ToString::to_string).collect(),
            schedule: schedule(window),
            active: window.active_at(now).map(OccurrenceBody::from),
            next: window.next_after(now).map(OccurrenceBody::from),
        })
        .collect()
}

/// The components as the API shows them.
pub(crate) fn component_bodies(
    components: &[AnyComponent],
    maintenance: &[MaintenanceWindow],
    healths: &HashMap<MonitorId, Option<Health>>,
    incidents: &[watchkeeper_store::StoredIncident],
    now: Timestamp,
) -> Vec<ComponentNow> {
    let impacts = open_impacts(incidents);
    components
        .iter()
        .map(|any| {
            let component = &any.component;
            ComponentNow {
                id: component.id.clone(),
                name: component.name.clone(),
                group: component.group.clone(),
                description: component.description.clone(),
                public: any.public,
                status: status_of(component, maintenance, healths, &impacts, now).as_str(),
                monitors: component.monitors.iter().map(ToString::to_string).collect(),
            }
        })
        .collect()
}

#[utoipa::path(
    get, path = "/components", tag = "components",
    summary = "Every component, private ones too, with its status now",
    responses((status = 200, description = "The components", body = ComponentList))
)]
pub(crate) async fn list_components(
    State(state): State<AppState>,
) -> Result<Json<ComponentList>, ApiError> {
    let settings = state.status_page.borrow().clone();
    let incidents = state
        .queries
        .incidents(&IncidentQuery {
            open_only: true,
            limit: OPEN_INCIDENTS,
            ..IncidentQuery::default()
        })
        .await?;
    let healths = crate::status_page::healths(&state);
    let components = component_bodies(
        &settings.every_component,
        &settings.maintenance,
        &healths,
        &incidents,
        state.clock.wall(),
    );
    Ok(Json(ComponentList { components }))
}

#[utoipa::path(
    get, path = "/maintenance", tag = "components",
    summary = "Every maintenance window, with the occurrence in effect and the next",
    responses((status = 200, description = "The maintenance windows", body = MaintenanceList))
)]
pub(crate) async fn list_maintenance(
    State(state): State<AppState>,
) -> Result<Json<MaintenanceList>, ApiError> {
    let settings = state.status_page.borrow().clone();
    Ok(Json(MaintenanceList {
        maintenance: maintenance_bodies(&settings.maintenance, state.clock.wall()),
    }))
}

#[cfg(test)]
mod tests {
    use watchkeeper_domain::incident::{Impact, IncidentStatus};
    use watchkeeper_domain::schedule::CronSchedule;

    use super::*;
    use crate::status_page::model::{PageComponent, touches};

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn any(id: &str, monitors: &[&str], public: bool) -> AnyComponent {
        AnyComponent {
            component: PageComponent {
                id: id.to_owned(),
                name: id.to_uppercase(),
                group: None,
                description: None,
                monitors: monitors
                    .iter()
                    .map(|m| MonitorId::parse(m).unwrap())
                    .collect(),
            },
            public,
        }
    }

    #[test]
    fn a_component_is_as_bad_as_its_worst_monitor_or_open_incident() {
        let components = [
            any("api", &["api"], true),
            any("db", &["db"], false),
            any("web", &["web"], true),
        ];
        let healths = HashMap::from([
            (MonitorId::parse("api").unwrap(), Some(Health::Up)),
            (MonitorId::parse("db").unwrap(), Some(Health::Down)),
            (MonitorId::parse("web").unwrap(), Some(Health::Up)),
        ]);
        let now = ts("2026-12-02T12:00:00Z");
        let incident = watchkeeper_store::StoredIncident {
            id: 7,
            title: "Web slow".to_owned(),
            severity: "P2".to_owned(),
            status: IncidentStatus::Identified,
            components: [("web".to_owned(), Impact::PartialOutage)].into(),
            commander: None,
            opened_by_alert: false,
            started_at: now,
            acknowledged_at: None,
            resolved_at: None,
            next_update_at: None,
            last_reminder_at: None,
            created_at: now,
            updated_at: now,
            alerts: Vec::new(),
        };
        let bodies = component_bodies(&components, &[], &healths, &[incident], now);
        let seen: Vec<_> = bodies
            .iter()
            .map(|b| (b.id.as_str(), b.public, b.status))
            .collect();
        assert_eq!(
            seen,
            [
                ("api", true, "operational"),
                ("db", false, "major_outage"),
                ("web", true, "partial_outage"),
            ]
        );
    }

    #[test]
    fn a_window_shows_its_schedule_and_the_occurrence_in_effect() {
        let now = ts("2026-12-06T03:30:00Z");
        let windows = [
            MaintenanceWindow {
                id: "upgrade".to_owned(),
                title: "Database upgrade".to_owned(),
                monitors: vec![MonitorId::parse("db").unwrap()],
                components: Vec::new(),
                when: When::Once {
                    start: ts("2026-12-10T00:00:00Z"),
                    end: ts("2026-12-10T02:00:00Z"),
                },
            },
            MaintenanceWindow {
                id: "weekly".to_owned(),
                title: "Weekly patching".to_owned(),
                monitors: Vec::new(),
                components: vec!["api".parse().unwrap()],
                when: When::Recurring {
                    cron: Box::new(CronSchedule::parse("0 3 * * SUN", "UTC").unwrap()),
                    duration: jiff::SignedDuration::from_hours(2),
                },
            },
        ];
        let bodies = maintenance_bodies(&windows, now);
        assert_eq!(bodies[0].schedule, "once");
        assert!(bodies[0].active.is_none());
        assert_eq!(
            bodies[0].next.as_ref().map(|n| n.start.as_str()),
            Some("2026-12-10T00:00:00.000Z")
        );
        assert_eq!(bodies[1].schedule, "cron 0 3 * * SUN UTC for 2h");
        assert_eq!(
            bodies[1].active.as_ref().map(|a| a.end.as_str()),
            Some("2026-12-06T05:00:00.000Z")
        );
        assert_eq!(bodies[1].components, ["api"]);
    }

    #[test]
    fn a_window_naming_a_monitor_touches_its_component() {
        let window = MaintenanceWindow {
            id: "w".to_owned(),
            title: "W".to_owned(),
            monitors: vec![MonitorId::parse("db").unwrap()],
            components: Vec::new(),
            when: When::Once {
                start: ts("2026-12-01T00:00:00Z"),
                end: ts("2026-12-02T00:00:00Z"),
            },
        };
        assert!(touches(&window, &any("data", &["db"], false).component));
        assert!(!touches(&window, &any("api", &["api"], true).component));
    }
}
