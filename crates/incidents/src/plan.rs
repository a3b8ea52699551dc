//! What one alert event does to the incidents, as a plain function: the
//! domain's policy (`on_fired`, `on_resolved`) turned into the incident to
//! open or the change to commit, with its timeline entries and the
//! templated update. No IO: the opener reads the event, the alert and the
//! open incidents, calls [`step`], and commits what it returns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::alert::rule::{ALERTNAME, COMPONENT, MONITOR_DOWN, SEVERITY};
use watchkeeper_domain::alert::{StoredAlert, Transition};
use watchkeeper_domain::incident::policy::{
    Fired, IncidentPolicy, OnFired, OnResolved, OpenIncident, on_fired, on_resolved,
};
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{IncidentAlert, IncidentChange, NewEntry, NewIncident, StoredIncident};

use crate::communications::{Communications, IncidentFacts, UpdateFacts};
use crate::timeline::Names;

/// What the opener works from; rebuilt on every reload.
#[derive(Debug, Clone)]
pub struct OpenerSettings {
    pub policy: IncidentPolicy,
    /// What an automatic "investigating" update promises.
    pub next_update: Option<Duration>,
    pub communications: Arc<Communications>,
    /// Display names of components and monitors, each rule's runbook.
    pub names: Names,
}

impl OpenerSettings {
    /// For a server without a config: the default severities, no
    /// incidents from alerts, the built-in templates, no names.
    pub fn without_config() -> OpenerSettings {
        let severities: Vec<String> = ["P0", "P1", "P2", "P3"].map(str::to_owned).to_vec();
        OpenerSettings {
            policy: IncidentPolicy {
                impacts: IncidentPolicy::default_impacts(&severities),
                severities,
                open_from: None,
                join_window: Duration::from_secs(30 * 60),
                resolve_with_alerts: true,
            },
            next_update: None,
            communications: Arc::new(Communications::builtin()),
            names: Names::default(),
        }
    }

    /// A component's display name (its id when it has none, or is gone).
    pub fn component_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.components.get(id).map_or(id, String::as_str)
    }

    /// Components by display name, with their impacts, as templates see them.
    pub fn display(&self, components: &BTreeMap<String, Impact>) -> Vec<(String, Impact)> {
        components
            .iter()
            .map(|(id, impact)| (self.component_name(id).to_owned(), *impact))
            .collect()
    }

    fn monitor_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.monitors.get(id).map_or(id, String::as_str)
    }
}

/// What to commit for one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Open(NewIncident),
    Change(IncidentChange),
    /// The event touches no incident.
    Nothing,
}

/// The opener's view of a stored open incident.
pub fn open_incident(incident: &StoredIncident) -> OpenIncident {
    OpenIncident {
        id: incident.id,
        severity: incident.severity.clone(),
        components: incident.components.clone(),
        alerts: incident
            .alerts
            .iter()
            .map(|alert| (alert.fingerprint.clone(), alert.monitor.clone()))
            .collect(),
        firing: incident
            .alerts
            .iter()
            .filter(|alert| alert.firing)
            .map(|alert| alert.fingerprint.clone())
            .collect::<BTreeSet<_>>(),
        last_alert_at: incident
            .alerts
            .iter()
            .map(|alert| alert.joined_at)
            .max()
            .unwrap_or(incident.started_at)
            .max(incident.started_at),
        opened_by_alert: incident.opened_by_alert,
    }
}

/// One alert event: `transition` at `at`, with its failed condition.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub transition: Transition,
    pub at: Timestamp,
    pub reason: Option<&'a str>,
}

/// Decides what `event` of `alert` does, given the open incidents.
pub fn step(
    settings: &OpenerSettings,
    open: &[StoredIncident],
    alert: &StoredAlert,
    event: Event<'_>,
    now: Timestamp,
) -> Step {
    let views: Vec<OpenIncident> = open.iter().map(open_incident).collect();
    match event.transition {
        Transition::Fired => fired(settings, open, &views, alert, event, now),
        Transition::Resolved => resolved(settings, open, &views, alert, event, now),
        Transition::Pending | Transition::PendingCleared => Step::Nothing,
    }
}

fn label<'a>(alert: &'a StoredAlert, name: &str) -> Option<&'a str> {
    alert.labels.get(name).map(String::as_str)
}

/// `"MonitorDown on api-health: 3 consecutive failures"`.
fn describe(
    settings: &OpenerSettings,
    alert: &StoredAlert,
    verb: &str,
    reason: Option<&str>,
) -> String {
    let name = label(alert, ALERTNAME).unwrap_or(&alert.rule);
    let monitor = settings.monitor_name(alert.monitor.as_str());
    match reason {
        Some(reason) => format!("{name} {verb} on {monitor}: {reason}"),
        None => format!("{name} {verb} on {monitor}"),
    }
}

/// `"API: API health is down"` for a monitor's own alert, `"ApiErrors on
/// API health"` for a rule's.
pub fn title(settings: &OpenerSettings, alert: &StoredAlert) -> String {
    let monitor = settings.monitor_name(alert.monitor.as_str());
    let name = label(alert, ALERTNAME).unwrap_or(&alert.rule);
    let component = label(alert, COMPONENT).map(|id| settings.component_name(id));
    match (name == MONITOR_DOWN, component) {
        (true, Some(component)) => format!("{component}: {monitor} is down"),
        (true, None) => format!("{monitor} is down"),
        (false, Some(component)) => format!("{component}: {name} on {monitor}"),
        (false, None) => format!("{name} on {monitor}"),
    }
}

fn alert_entry(alert: &StoredAlert, kind: EntryKind, at: Timestamp, body: String) -> NewEntry {
    NewEntry {
        body,
        fingerprint: Some(alert.fingerprint.clone()),
        ..NewEntry::new(at, kind)
    }
}

fn fired(
    settings: &OpenerSettings,
    open: &[StoredIncident],
    views: &[OpenIncident],
    alert: &StoredAlert,
    event: Event<'_>,
    now: Timestamp,
) -> Step {
    let policy = &settings.policy;
    let severity = label(alert, SEVERITY).unwrap_or_default();
    let component = label(alert, COMPONENT);
    let decision = on_fired(
        policy,
        views,
        Fired {
            fingerprint: &alert.fingerprint,
            monitor: alert.monitor.as_str(),
            severity,
            component,
            at: event.at,
        },
    );
    let body = describe(settings, alert, "fired", event.reason);
    match decision {
        OnFired::Ignore => Step::Nothing,
        OnFired::Again { incident } => {
            let mut change = IncidentChange::new(incident, now);
            change.alert_firing.push((alert.fingerprint.clone(), true));
            change
                .entries
                .push(alert_entry(alert, EntryKind::AlertFired, event.at, body));
            Step::Change(change)
        }
        OnFired::Join {
            incident,
            severity: worse,
            impact,
        } => {
            let mut change = IncidentChange::new(incident, now);
            change.severity = worse;
            change.components = impact.into_iter().collect();
            change.join_alerts.push(IncidentAlert {
                fingerprint: alert.fingerprint.clone(),
                monitor: alert.monitor.to_string(),
                joined_at: event.at,
                firing: true,
            });
            let title = open
                .iter()
                .find(|stored| stored.id == incident)
                .map_or_else(String::new, |stored| stored.title.clone());
            change.entries.push(alert_entry(
                alert,
                EntryKind::AlertJoined,
                event.at,
                format!("{body} (joined \"{title}\")"),
            ));
            Step::Change(change)
        }
        OnFired::Open {
            severity,
            components,
        } => {
            let title = title(settings, alert);
            let next_update_at = settings.next_update.and_then(|after| {
                now.checked_add(jiff::SignedDuration::try_from(after).ok()?)
                    .ok()
            });
            let update =
                investigating_update(settings, &title, &severity, &components, event.at, now);
            let mut entries = vec![
                NewEntry {
                    body: format!(
                        "Opened by the {severity} alert {}",
                        label(alert, ALERTNAME).unwrap_or(&alert.rule)
                    ),
                    status: Some(IncidentStatus::Investigating),
                    ..NewEntry::new(event.at, EntryKind::Opened)
                },
                alert_entry(alert, EntryKind::AlertFired, event.at, body),
            ];
            entries.extend(update);
            Step::Open(NewIncident {
                title,
                severity,
                status: IncidentStatus::Investigating,
                components,
                commander: None,
                opened_by_alert: true,
                started_at: event.at,
                created_at: now,
                next_update_at,
                alerts: vec![IncidentAlert {
                    fingerprint: alert.fingerprint.clone(),
                    monitor: alert.monitor.to_string(),
                    joined_at: event.at,
                    firing: true,
                }],
                entries,
            })
        }
    }
}

/// The automatic first update, from the `investigating` template.
fn investigating_update(
    settings: &OpenerSettings,
    title: &str,
    severity: &str,
    components: &BTreeMap<String, Impact>,
    started_at: Timestamp,
    now: Timestamp,
) -> Option<NewEntry> {
    let facts = IncidentFacts {
        id: 0,
        title: title.to_owned(),
        severity: severity.to_owned(),
        status: IncidentStatus::Investigating,
        components: settings.display(components),
        started_at,
        resolved_at: None,
    };
    templated(
        settings,
        &facts,
        IncidentStatus::Investigating,
        settings.next_update,
        now,
    )
}

/// An update entry from the template named after `status`; `None` (and
/// a warning) in the unlikely case it does not render: load rendered it.
fn templated(
    settings: &OpenerSettings,
    facts: &IncidentFacts,
    status: IncidentStatus,
    next_update: Option<Duration>,
    now: Timestamp,
) -> Option<NewEntry> {
    let update = UpdateFacts {
        incident: facts,
        status,
        message: None,
        next_update,
        posted_at: now,
    };
    match settings.communications.render(status.as_str(), &update) {
        Ok(rendered) => Some(NewEntry {
            status: Some(status),
            subject: rendered.subject,
            body: rendered.body,
            template: Some(status.as_str().to_owned()),
            ..NewEntry::new(now, EntryKind::Update)
        }),
        Err(error) => {
            tracing::warn!(error = %error, "the automatic incident update was not posted");
            None
        }
    }
}

fn resolved(
    settings: &OpenerSettings,
    open: &[StoredIncident],
    views: &[OpenIncident],
    alert: &StoredAlert,
    event: Event<'_>,
    now: Timestamp,
) -> Step {
    let body = describe(settings, alert, "resolved", None);
    let (incident, resolves) = match on_resolved(&settings.policy, views, &alert.fingerprint) {
        OnResolved::Ignore => return Step::Nothing,
        OnResolved::Record { incident } => (incident, false),
        OnResolved::ResolveIncident { incident } => (incident, true),
    };
    let mut change = IncidentChange::new(incident, now);
    change.alert_firing.push((alert.fingerprint.clone(), false));
    change
        .entries
        .push(alert_entry(alert, EntryKind::AlertResolved, event.at, body));
    if resolves {
        change.status = Some(IncidentStatus::Resolved);
        change.resolved_at = Some(Some(event.at));
        change.next_update_at = Some(None);
        if let Some(stored) = open.iter().find(|stored| stored.id == incident) {
            let facts = IncidentFacts {
                id: stored.id,
                title: stored.title.clone(),
                severity: stored.severity.clone(),
                status: IncidentStatus::Resolved,
                components: settings.display(&stored.components),
                started_at: stored.started_at,
                resolved_at: Some(event.at),
            };
            change.entries.extend(templated(
                settings,
                &facts,
                IncidentStatus::Resolved,
                None,
                now,
            ));
        }
    }
    Step::Change(change)
}

#[cfg(test)]
mod tests;
