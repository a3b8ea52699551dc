//! Atlassian Statuspage's public JSON (`/api/v2/…`), with its field names
//! and enums, so tools and widgets written for Statuspage read
//! Watchkeeper: `status.json`, `summary.json`, `components.json`,
//! `incidents.json`, `incidents/unresolved.json` and
//! `scheduled-maintenances.json` (+ `upcoming.json`, `active.json`). Groups and their
//! children sit in one flat `components` array, as Statuspage has them.
//! Built from the same model as the HTML page; private components are not
//! in it. Sent with `Access-Control-Allow-Origin: *`: Statuspage's own
//! widget fetches `summary.json` from other origins.

use axum::Json;
use axum::extract::State;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Value, json};
use watchkeeper_domain::incident::{EntryKind, IncidentStatus};
use watchkeeper_store::{StoredEntry, StoredIncident};

use super::model::{MaintenanceView, PageModel, PageSettings, incident_impact, is_public};
use crate::AppState;
use crate::api::wire::time;

/// The page's id in every object (Statuspage has one per page).
const PAGE_ID: &str = "watchkeeper";

type Incidents = Vec<(StoredIncident, Vec<StoredEntry>)>;

fn page(settings: &PageSettings, now: Timestamp) -> Value {
    json!({
        "id": PAGE_ID,
        "name": settings.title,
        "url": "/",
        "time_zone": "Etc/UTC",
        "updated_at": time(now),
    })
}

fn group_id(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("group-{slug}")
}

/// Every public component and group, flat, in page order. Watchkeeper
/// keeps no creation time for a component: `created_at` and `updated_at`
/// are when the answer was made.
pub fn components(model: &PageModel, now: Timestamp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut position = 0;
    for group in &model.groups {
        let group_key = group.name.as_deref().map(group_id);
        if let (Some(name), Some(id)) = (&group.name, &group_key) {
            position += 1;
            out.push(json!({
                "id": id, "name": name, "status": group.status,
                "created_at": time(now), "updated_at": time(now),
                "position": position, "description": null, "showcase": false,
                "start_date": null, "group_id": null, "page_id": PAGE_ID,
                "group": true, "only_show_if_degraded": false,
                "components": group.components.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            }));
        }
        for component in &group.components {
            position += 1;
            out.push(json!({
                "id": component.id, "name": component.name, "status": component.status,
                "created_at": time(now), "updated_at": time(now),
                "position": position, "description": component.description,
                "showcase": true, "start_date": null, "group_id": group_key,
                "page_id": PAGE_ID, "group": false, "only_show_if_degraded": false,
            }));
        }
    }
    out
}

fn incident(components: &[Value], stored: &StoredIncident, entries: &[StoredEntry]) -> Value {
    let affected: Vec<&Value> = components
        .iter()
        .filter(|c| c["group"] == false)
        .filter(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| stored.components.contains_key(id))
        })
        .collect();
    let updates: Vec<Value> = entries
        .iter()
        .rev()
        .filter(|entry| entry.kind == EntryKind::Update)
        .map(|entry| {
            let status = entry.status.unwrap_or(stored.status);
            json!({
                "id": entry.id.to_string(), "status": status.as_str(), "body": entry.body,
                "incident_id": stored.id.to_string(), "created_at": time(entry.at),
                "updated_at": time(entry.at), "display_at": time(entry.at),
                "affected_components": null, "deliver_notifications": true,
                "custom_tweet": null, "tweet_id": null,
            })
        })
        .collect();
    let monitoring_at = entries
        .iter()
        .find(|entry| {
            entry.kind == EntryKind::Update && entry.status == Some(IncidentStatus::Monitoring)
        })
        .map(|entry| time(entry.at));
    json!({
        "id": stored.id.to_string(), "name": stored.title, "status": stored.status.as_str(),
        "created_at": time(stored.created_at), "updated_at": time(stored.updated_at),
        "monitoring_at": monitoring_at, "resolved_at": stored.resolved_at.map(time),
        "impact": incident_impact(stored), "shortlink": format!("/incidents/{}", stored.id),
        "started_at": time(stored.started_at), "page_id": PAGE_ID,
        "incident_updates": updates, "components": affected,
    })
}

/// The settings, the page's model and its public incidents, read once.
async fn read(
    state: &AppState,
) -> Result<(PageSettings, PageModel, Incidents, Timestamp), Response> {
    let now = state.clock.wall();
    let settings = state.status_page.borrow().as_ref().clone();
    let (model, incidents) = super::model_with_incidents(state)
        .await
        .map_err(IntoResponse::into_response)?;
    let incidents = incidents
        .into_iter()
        .filter(|(incident, _)| is_public(&settings, incident))
        .collect();
    Ok((settings, model, incidents, now))
}

fn answer(body: Value) -> Response {
    (
        [
            (ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (CACHE_CONTROL, "public, max-age=5"),
        ],
        Json(body),
    )
        .into_response()
}

fn status_object(model: &PageModel) -> Value {
    json!({ "indicator": model.indicator, "description": model.indicator_description })
}

fn incidents_of(
    components: &[Value],
    incidents: &[(StoredIncident, Vec<StoredEntry>)],
    open_only: bool,
) -> Vec<Value> {
    incidents
        .iter()
        .filter(|(stored, _)| !open_only || stored.status.is_open())
        .map(|(stored, entries)| incident(components, stored, entries))
        .collect()
}

pub(crate) async fn status(State(state): State<AppState>) -> Response {
    match read(&state).await {
        Ok((settings, model, _, now)) => answer(json!({
            "page": page(&settings, now), "status": status_object(&model),
        })),
        Err(response) => response,
    }
}

pub(crate) async fn components_json(State(state): State<AppState>) -> Response {
    match read(&state).await {
        Ok((settings, model, _, now)) => answer(json!({
            "page": page(&settings, now), "components": components(&model, now),
        })),
        Err(response) => response,
    }
}

async fn incidents_answer(state: AppState, open_only: bool) -> Response {
    match read(&state).await {
        Ok((settings, model, incidents, now)) => {
            let components = components(&model, now);
            answer(json!({
                "page": page(&settings, now),
                "incidents": incidents_of(&components, &incidents, open_only),
            }))
        }
        Err(response) => response,
    }
}

pub(crate) async fn incidents_json(State(state): State<AppState>) -> Response {
    incidents_answer(state, false).await
}

pub(crate) async fn unresolved_json(State(state): State<AppState>) -> Response {
    incidents_answer(state, true).await
}

/// Statuspage's scheduled maintenance object for one occurrence.
fn maintenance_object(components: &[Value], view: &MaintenanceView) -> Value {
    let affected: Vec<&Value> = components
        .iter()
        .filter(|c| c["group"] == false)
        .filter(|c| {
            c["id"]
                .as_str()
                .is_some_and(|id| view.component_ids.iter().any(|own| own == id))
        })
        .collect();
    json!({
        "id": format!("{}-{}", view.id, view.scheduled_for), "name": view.title,
        "status": view.status, "created_at": view.scheduled_for, "updated_at": view.scheduled_for,
        "monitoring_at": null, "resolved_at": null, "impact": "maintenance",
        "shortlink": "/", "started_at": view.scheduled_for, "page_id": PAGE_ID,
        "incident_updates": [], "components": affected,
        "scheduled_for": view.scheduled_for, "scheduled_until": view.scheduled_until,
    })
}

fn maintenances(model: &PageModel, components: &[Value], status: Option<&str>) -> Vec<Value> {
    model
        .maintenance
        .iter()
        .filter(|view| status.is_none_or(|status| view.status == status))
        .map(|view| maintenance_object(components, view))
        .collect()
}

async fn maintenance_json(state: AppState, status: Option<&str>) -> Response {
    match read(&state).await {
        Ok((settings, model, _, now)) => {
            let components = components(&model, now);
            answer(json!({
                "page": page(&settings, now),
                "scheduled_maintenances": maintenances(&model, &components, status),
            }))
        }
        Err(response) => response,
    }
}

/// `scheduled-maintenances.json`: in progress and upcoming (the next 14 days).
pub(crate) async fn scheduled(State(state): State<AppState>) -> Response {
    maintenance_json(state, None).await
}

pub(crate) async fn upcoming(State(state): State<AppState>) -> Response {
    maintenance_json(state, Some("scheduled")).await
}

pub(crate) async fn active(State(state): State<AppState>) -> Response {
    maintenance_json(state, Some("in_progress")).await
}

/// `summary.json`'s body: a pure function of what the page shows.
pub fn summary_body(
    settings: &PageSettings,
    model: &PageModel,
    incidents: &[(StoredIncident, Vec<StoredEntry>)],
    now: Timestamp,
) -> Value {
    let components = components(model, now);
    json!({
        "page": page(settings, now),
        "components": components,
        "incidents": incidents_of(&components, incidents, true),
        "scheduled_maintenances": maintenances(model, &components, None),
        "status": status_object(model),
    })
}

pub(crate) async fn summary(State(state): State<AppState>) -> Response {
    match read(&state).await {
        Ok((settings, model, incidents, now)) => {
            answer(summary_body(&settings, &model, &incidents, now))
        }
        Err(response) => response,
    }
}
