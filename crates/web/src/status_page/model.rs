//! What the status page shows, as a pure function of what is known: the
//! public components with their monitors' health and their open
//! incidents' impact (the worse of the two), 90 days of uptime per
//! component from the daily counts, the overall indicator, the active
//! incidents with their updates, and the past incidents by day. Private
//! components are not among the settings' `components` (only in
//! `every_component`, which no public route reads), private monitors are
//! not among a component's monitors there, and an incident that affects
//! only private components is not shown.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::maintenance::MaintenanceWindow;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::incident::component_status::{
    ComponentStatus, Indicator, component_status, from_monitors, indicator,
};
use watchkeeper_domain::incident::{EntryKind, Impact};
use watchkeeper_store::{DayCount, StoredEntry, StoredIncident};

/// How far ahead upcoming maintenance is shown.
pub const UPCOMING_DAYS: i64 = 14;

/// Days of uptime bars.
pub const UPTIME_DAYS: usize = 90;
/// Days of past incidents listed.
pub const HISTORY_DAYS: usize = 14;

/// A public component, as the page settings give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageComponent {
    pub id: String,
    pub name: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub monitors: Vec<MonitorId>,
}

/// What the config says the page is (published by the binary, replaced
/// on reload). Only public components are here, and only the maintenance
/// windows that touch one of them.
#[derive(Debug, Clone, PartialEq)]
pub struct PageSettings {
    pub title: String,
    pub description: Option<String>,
    pub logo: Option<String>,
    pub links: Vec<(String, String)>,
    /// `#rrggbb`.
    pub accent: String,
    pub components: Vec<PageComponent>,
    pub maintenance: Vec<MaintenanceWindow>,
    /// Every component, public or not, with every monitor: read by the
    /// authenticated `/api/v1/components` alone, never by a public route.
    pub every_component: Vec<AnyComponent>,
    /// From `templates_dir`.
    pub templates: super::CustomTemplates,
    /// Visitors may subscribe by email, by webhook.
    pub subscribe: Subscribe,
}

/// The ways visitors may subscribe to incident updates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Subscribe {
    pub email: bool,
    pub webhook: bool,
}

/// A component for the authenticated API: with all its monitors, private
/// ones included, and whether it is public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnyComponent {
    pub component: PageComponent,
    pub public: bool,
}

impl Default for PageSettings {
    fn default() -> Self {
        PageSettings {
            title: "Status".to_owned(),
            description: None,
            logo: None,
            links: Vec::new(),
            accent: DEFAULT_ACCENT.to_owned(),
            components: Vec::new(),
            maintenance: Vec::new(),
            every_component: Vec::new(),
            templates: super::CustomTemplates::default(),
            subscribe: Subscribe::default(),
        }
    }
}

pub const DEFAULT_ACCENT: &str = "#0b6bcb";

/// Everything read for one rendering.
pub struct Inputs<'a> {
    pub healths: &'a HashMap<MonitorId, Option<Health>>,
    /// Open incidents and those resolved in the last [`HISTORY_DAYS`],
    /// each with its timeline.
    pub incidents: &'a [(StoredIncident, Vec<StoredEntry>)],
    pub daily: &'a HashMap<MonitorId, Vec<DayCount>>,
    pub now: Timestamp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    pub date: String,
    /// `up`, `minor`, `partial`, `major` or `none` (no data): its colour.
    pub class: &'static str,
    /// The bar's tooltip: `2026-12-01: 99.95 % (2 of 4,320 failed)`.
    pub title: String,
    /// Probes that day, and how many failed (for the uptime badge).
    #[serde(skip)]
    pub count: u64,
    #[serde(skip)]
    pub failures: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Statuspage's name: `operational`, `degraded_performance`, …
    pub status: &'static str,
    /// "Operational", "Degraded performance", …
    pub status_title: &'static str,
    /// Over the days with data, e.g. `99.98 %`; `None` without data.
    pub uptime: Option<String>,
    pub days: Vec<Day>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GroupView {
    pub name: Option<String>,
    /// The worst of its components.
    pub status: &'static str,
    pub status_title: &'static str,
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UpdateView {
    pub status: &'static str,
    pub status_title: &'static str,
    pub body: String,
    pub posted_at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IncidentView {
    pub id: i64,
    pub title: String,
    pub status: &'static str,
    pub status_title: &'static str,
    /// Statuspage's incident impact: `none`, `minor`, `major`, `critical`.
    pub impact: &'static str,
    /// Its public components' names.
    pub components: Vec<String>,
    pub started_at: String,
    pub resolved_at: Option<String>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
}

/// One occurrence of a maintenance window, as the page shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaintenanceView {
    pub id: String,
    pub title: String,
    /// `in_progress` or `scheduled`, as Statuspage says it.
    pub status: &'static str,
    /// Its public components' names.
    pub components: Vec<String>,
    pub component_ids: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
    /// RFC 3339, for the JSON.
    pub scheduled_for: String,
    pub scheduled_until: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryDay {
    pub date: String,
    pub incidents: Vec<IncidentView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PageModel {
    pub title: String,
    pub description: Option<String>,
    pub logo: Option<String>,
    pub links: Vec<(String, String)>,
    /// `none`, `minor`, `major` or `critical`.
    pub indicator: &'static str,
    /// "All Systems Operational", "Partial System Outage", …
    pub indicator_description: &'static str,
    pub groups: Vec<GroupView>,
    pub active: Vec<IncidentView>,
    /// In progress first, then upcoming (the next [`UPCOMING_DAYS`]).
    pub maintenance: Vec<MaintenanceView>,
    pub history: Vec<HistoryDay>,
    /// `2026-12-02 10:32 UTC`.
    pub updated_at: String,
    pub first_day: String,
    pub subscribe: Subscribe,
}

/// `2026-12-02 10:32 UTC`.
pub fn utc_minute(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn status_title(status: ComponentStatus) -> &'static str {
    status.title()
}

/// The colour of a day with this availability.
fn day_class(availability: f64) -> &'static str {
    if availability >= 0.999 {
        "up"
    } else if availability >= 0.99 {
        "minor"
    } else if availability >= 0.95 {
        "partial"
    } else {
        "major"
    }
}

/// `99.95 %`, two decimals, never rounding a failure up to 100.
pub fn percent(availability: f64) -> String {
    let hundredths = (availability * 10_000.0).floor() / 100.0;
    format!("{hundredths:.2} %")
}

fn grouped_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The UTC day `days_back` days before `today`.
fn day_before(today: Date, days_back: usize) -> Date {
    let back = i64::try_from(days_back).unwrap_or(0);
    today
        .checked_sub(jiff::Span::new().days(back))
        .unwrap_or(today)
}

fn uptime(
    component: &PageComponent,
    daily: &HashMap<MonitorId, Vec<DayCount>>,
    today: Date,
) -> (Option<String>, Vec<Day>) {
    let mut per_day: BTreeMap<Date, (u64, u64)> = BTreeMap::new();
    for monitor in &component.monitors {
        for day in daily.get(monitor).map(Vec::as_slice).unwrap_or_default() {
            let entry = per_day.entry(day.day).or_default();
            entry.0 += day.count;
            entry.1 += day.failures;
        }
    }
    let (mut count, mut failures) = (0u64, 0u64);
    let days = (0..UPTIME_DAYS)
        .rev()
        .map(|back| {
            let date = day_before(today, back);
            let label = date.strftime("%Y-%m-%d").to_string();
            match per_day.get(&date) {
                Some(&(probes, failed)) if probes > 0 => {
                    count += probes;
                    failures += failed;
                    let availability = 1.0 - failed as f64 / probes as f64;
                    Day {
                        count: probes,
                        failures: failed,
                        class: day_class(availability),
                        title: format!(
                            "{label}: {} ({} of {} failed)",
                            percent(availability),
                            grouped_thousands(failed),
                            grouped_thousands(probes)
                        ),
                        date: label,
                    }
                }
                _ => Day {
                    count: 0,
                    failures: 0,
                    class: "none",
                    title: format!("{label}: no data"),
                    date: label,
                },
            }
        })
        .collect();
    let overall = (count > 0).then(|| percent(1.0 - failures as f64 / count as f64));
    (overall, days)
}

/// Statuspage's incident impact from the worst component impact.
pub fn incident_impact(incident: &StoredIncident) -> &'static str {
    match incident.components.values().max() {
        None => "none",
        Some(Impact::DegradedPerformance) => "minor",
        Some(Impact::PartialOutage) => "major",
        Some(Impact::MajorOutage) => "critical",
    }
}

/// An incident as the page shows it, or `None` when it affects only
/// private components.
pub fn incident_view(
    settings: &PageSettings,
    incident: &StoredIncident,
    entries: &[StoredEntry],
) -> Option<IncidentView> {
    let public: Vec<String> = incident
        .components
        .keys()
        .filter_map(|id| settings.components.iter().find(|c| &c.id == id))
        .map(|component| component.name.clone())
        .collect();
    if !incident.components.is_empty() && public.is_empty() {
        return None;
    }
    let updates = entries
        .iter()
        .rev()
        .filter(|entry| entry.kind == EntryKind::Update)
        .map(|entry| {
            let status = entry.status.unwrap_or(incident.status);
            UpdateView {
                status: status.as_str(),
                status_title: status.title(),
                body: entry.body.clone(),
                posted_at: utc_minute(entry.at),
            }
        })
        .collect();
    Some(IncidentView {
        id: incident.id,
        title: incident.title.clone(),
        status: incident.status.as_str(),
        status_title: incident.status.title(),
        impact: incident_impact(incident),
        components: public,
        started_at: utc_minute(incident.started_at),
        resolved_at: incident.resolved_at.map(utc_minute),
        updates,
    })
}

impl PageModel {
    /// The page's title, links and time with nothing else (for pages that
    /// show one incident).
    pub fn chrome(settings: &PageSettings, now: Timestamp) -> PageModel {
        let overall = Indicator::None;
        PageModel {
            title: settings.title.clone(),
            description: settings.description.clone(),
            logo: settings.logo.clone(),
            links: settings.links.clone(),
            indicator: overall.as_str(),
            indicator_description: overall.description(),
            groups: Vec::new(),
            active: Vec::new(),
            maintenance: Vec::new(),
            history: Vec::new(),
            updated_at: utc_minute(now),
            first_day: String::new(),
            subscribe: settings.subscribe,
        }
    }
}

/// The public components a window touches.
fn window_components<'a>(
    settings: &'a PageSettings,
    window: &MaintenanceWindow,
) -> Vec<&'a PageComponent> {
    settings
        .components
        .iter()
        .filter(|component| touches(window, component))
        .collect()
}

/// Whether a window touches a component: named, or through one of its
/// monitors.
pub(crate) fn touches(window: &MaintenanceWindow, component: &PageComponent) -> bool {
    window
        .components
        .iter()
        .any(|id| id.as_str() == component.id)
        || component
            .monitors
            .iter()
            .any(|m| window.monitors.contains(m))
}

/// The worst impact each component has from the open incidents.
pub(crate) fn open_impacts<'a>(
    incidents: impl IntoIterator<Item = &'a StoredIncident>,
) -> HashMap<&'a str, Impact> {
    let mut impacts: HashMap<&str, Impact> = HashMap::new();
    for incident in incidents {
        if !incident.status.is_open() {
            continue;
        }
        for (component, impact) in &incident.components {
            let worst = impacts.entry(component.as_str()).or_insert(*impact);
            *worst = (*worst).max(*impact);
        }
    }
    impacts
}

/// A component's status now: the worse of its monitors and its open
/// incidents, or under maintenance while a window touching it is active.
pub(crate) fn status_of(
    component: &PageComponent,
    maintenance: &[MaintenanceWindow],
    healths: &HashMap<MonitorId, Option<Health>>,
    impacts: &HashMap<&str, Impact>,
    now: Timestamp,
) -> ComponentStatus {
    let monitors = from_monitors(
        component
            .monitors
            .iter()
            .map(|id| healths.get(id).copied().flatten()),
    );
    let in_maintenance = maintenance
        .iter()
        .any(|window| window.active_at(now).is_some() && touches(window, component));
    component_status(
        monitors,
        impacts.get(component.id.as_str()).copied(),
        in_maintenance,
    )
}

/// Windows in progress at `now`, then those starting in the next
/// [`UPCOMING_DAYS`], each with its public components.
pub fn maintenance(settings: &PageSettings, now: Timestamp) -> Vec<MaintenanceView> {
    let horizon = now
        .checked_add(jiff::SignedDuration::from_hours(24 * UPCOMING_DAYS))
        .unwrap_or(now);
    let mut active = Vec::new();
    let mut upcoming = Vec::new();
    for window in &settings.maintenance {
        let components = window_components(settings, window);
        if components.is_empty() {
            continue;
        }
        let view = |status: &'static str, start: Timestamp, end: Timestamp| MaintenanceView {
            id: window.id.clone(),
            title: window.title.clone(),
            status,
            components: components.iter().map(|c| c.name.clone()).collect(),
            component_ids: components.iter().map(|c| c.id.clone()).collect(),
            starts_at: utc_minute(start),
            ends_at: utc_minute(end),
            scheduled_for: crate::api::wire::time(start),
            scheduled_until: crate::api::wire::time(end),
        };
        if let Some(now_on) = window.active_at(now) {
            active.push(view("in_progress", now_on.start, now_on.end));
        } else if let Some(next) = window.next_after(now).filter(|next| next.start <= horizon) {
            upcoming.push((next.start, view("scheduled", next.start, next.end)));
        }
    }
    upcoming.sort_by_key(|(start, _)| *start);
    active.extend(upcoming.into_iter().map(|(_, view)| view));
    active
}

/// The page.
pub fn build(settings: &PageSettings, inputs: &Inputs<'_>) -> PageModel {
    let today = inputs.now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let impacts = open_impacts(inputs.incidents.iter().map(|(incident, _)| incident));
    let mut groups: Vec<GroupView> = Vec::new();
    let mut statuses = Vec::new();
    for component in &settings.components {
        let status = status_of(
            component,
            &settings.maintenance,
            inputs.healths,
            &impacts,
            inputs.now,
        );
        statuses.push(status);
        let (uptime, days) = uptime(component, inputs.daily, today);
        let view = ComponentView {
            id: component.id.clone(),
            name: component.name.clone(),
            description: component.description.clone(),
            status: status.as_str(),
            status_title: status_title(status),
            uptime,
            days,
        };
        match groups
            .iter_mut()
            .find(|group| group.name == component.group)
        {
            Some(group) => group.components.push(view),
            None => groups.push(GroupView {
                name: component.group.clone(),
                status: status.as_str(),
                status_title: status.title(),
                components: vec![view],
            }),
        }
    }
    for group in &mut groups {
        let worst = group
            .components
            .iter()
            .filter_map(|view| {
                statuses
                    .iter()
                    .zip(&settings.components)
                    .find(|(_, component)| component.id == view.id)
                    .map(|(status, _)| *status)
            })
            .max()
            .unwrap_or(ComponentStatus::Operational);
        group.status = worst.as_str();
        group.status_title = worst.title();
    }
    let overall: Indicator = indicator(statuses.iter().copied());
    let mut active = Vec::new();
    let mut by_day: BTreeMap<Date, Vec<IncidentView>> = BTreeMap::new();
    for (incident, entries) in inputs.incidents {
        let Some(view) = incident_view(settings, incident, entries) else {
            continue;
        };
        if incident.status.is_open() {
            active.push(view);
        } else {
            let day = incident.started_at.to_zoned(jiff::tz::TimeZone::UTC).date();
            by_day.entry(day).or_default().push(view);
        }
    }
    active.sort_by_key(|view| std::cmp::Reverse(view.id));
    let history = (0..HISTORY_DAYS)
        .map(|back| {
            let date = day_before(today, back);
            let mut incidents = by_day.remove(&date).unwrap_or_default();
            incidents.sort_by_key(|view| std::cmp::Reverse(view.id));
            HistoryDay {
                date: date.strftime("%b %-d, %Y").to_string(),
                incidents,
            }
        })
        .collect();
    PageModel {
        title: settings.title.clone(),
        description: settings.description.clone(),
        logo: settings.logo.clone(),
        links: settings.links.clone(),
        indicator: overall.as_str(),
        indicator_description: overall.description(),
        groups,
        active,
        maintenance: maintenance(settings, inputs.now),
        history,
        updated_at: utc_minute(inputs.now),
        first_day: day_before(today, UPTIME_DAYS - 1)
            .strftime("%b %-d")
            .to_string(),
        subscribe: settings.subscribe,
    }
}

/// Whether an incident is shown at `/incidents/{id}`: an open one, or one
/// resolved, that touches a public component (or none).
pub fn is_public(settings: &PageSettings, incident: &StoredIncident) -> bool {
    incident.components.is_empty()
        || incident
            .components
            .keys()
            .any(|id| settings.components.iter().any(|c| &c.id == id))
}
