//! Tests for [`super::step`]: alert events against stored open incidents,
//! with fixed times and the default templates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::{AlertState, StoredAlert, Transition};
use watchkeeper_domain::incident::policy::IncidentPolicy;
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{IncidentAlert, StoredIncident};

use super::*;

fn settings() -> OpenerSettings {
    let severities: Vec<String> = ["P0", "P1", "P2", "P3"].map(str::to_owned).to_vec();
    OpenerSettings {
        policy: IncidentPolicy {
            impacts: IncidentPolicy::default_impacts(&severities),
            severities,
            open_from: Some("P2".to_owned()),
            join_window: Duration::from_secs(30 * 60),
            resolve_with_alerts: true,
        },
        next_update: Some(Duration::from_secs(30 * 60)),
        communications: Arc::new(Communications::new(Vec::new()).unwrap()),
        names: crate::timeline::Names {
            components: BTreeMap::from([("api".to_owned(), "API".to_owned())]),
            monitors: BTreeMap::from([("api-health".to_owned(), "API health".to_owned())]),
            runbooks: BTreeMap::new(),
        },
    }
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
}

fn alert(fingerprint: &str, monitor: &str, alertname: &str, severity: &str) -> StoredAlert {
    StoredAlert {
        fingerprint: fingerprint.to_owned(),
        rule: alertname.to_owned(),
        monitor: MonitorId::parse(monitor).unwrap(),
        labels: [
            ("alertname", alertname),
            ("monitor", monitor),
            ("severity", severity),
            ("component", "api"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        state: AlertState::default(),
        updated_at: at(0),
    }
}

fn event(transition: Transition, minute: i64) -> Event<'static> {
    Event {
        transition,
        at: at(minute),
        reason: Some("3 consecutive failures"),
    }
}

fn stored(id: i64, alerts: &[(&str, bool)], opened_minute: i64) -> StoredIncident {
    StoredIncident {
        id,
        title: "API: API health is down".to_owned(),
        severity: "P2".to_owned(),
        status: IncidentStatus::Investigating,
        components: BTreeMap::from([("api".to_owned(), Impact::DegradedPerformance)]),
        commander: None,
        opened_by_alert: true,
        started_at: at(opened_minute),
        acknowledged_at: None,
        resolved_at: None,
        next_update_at: None,
        last_reminder_at: None,
        created_at: at(opened_minute),
        updated_at: at(opened_minute),
        alerts: alerts
            .iter()
            .map(|(fingerprint, firing)| IncidentAlert {
                fingerprint: (*fingerprint).to_owned(),
                monitor: "api-health".to_owned(),
                joined_at: at(opened_minute),
                firing: *firing,
            })
            .collect(),
    }
}

#[test]
fn a_severe_alert_opens_an_incident_with_its_first_update() {
    let down = alert("f1", "api-health", "MonitorDown", "P1");
    let Step::Open(incident) = step(&settings(), &[], &down, event(Transition::Fired, 0), at(0))
    else {
        panic!("expected an incident to open");
    };
    assert_eq!(incident.title, "API: API health is down");
    assert_eq!(incident.severity, "P1");
    assert_eq!(incident.status, IncidentStatus::Investigating);
    assert_eq!(incident.components["api"], Impact::PartialOutage);
    assert!(incident.opened_by_alert);
    assert_eq!(incident.started_at, at(0));
    assert_eq!(incident.next_update_at, Some(at(30)));
    assert_eq!(incident.alerts[0].fingerprint, "f1");
    let kinds: Vec<EntryKind> = incident.entries.iter().map(|entry| entry.kind).collect();
    assert_eq!(
        kinds,
        [EntryKind::Opened, EntryKind::AlertFired, EntryKind::Update]
    );
    assert_eq!(
        incident.entries[1].body,
        "MonitorDown fired on API health: 3 consecutive failures"
    );
    let update = &incident.entries[2];
    assert_eq!(update.template.as_deref(), Some("investigating"));
    assert!(update.body.contains("affecting API."), "{}", update.body);
}

#[test]
fn a_mild_alert_with_nothing_to_join_touches_nothing() {
    let slow = alert("f1", "api-health", "ApiSlow", "P3");
    assert_eq!(
        step(&settings(), &[], &slow, event(Transition::Fired, 0), at(0)),
        Step::Nothing
    );
}

#[test]
fn another_alert_on_the_component_joins_and_raises_the_severity() {
    let open = [stored(7, &[("f1", true)], 0)];
    let errors = alert("f2", "api-health", "ApiErrors", "P0");
    let Step::Change(change) = step(
        &settings(),
        &open,
        &errors,
        event(Transition::Fired, 10),
        at(10),
    ) else {
        panic!("expected a change");
    };
    assert_eq!(change.id, 7);
    assert_eq!(change.severity.as_deref(), Some("P0"));
    assert_eq!(change.components["api"], Impact::MajorOutage);
    assert_eq!(change.join_alerts[0].fingerprint, "f2");
    assert_eq!(change.entries[0].kind, EntryKind::AlertJoined);
    assert!(
        change.entries[0]
            .body
            .contains("(joined \"API: API health is down\")")
    );
}

#[test]
fn an_alert_firing_again_is_recorded_on_its_incident() {
    let open = [stored(7, &[("f1", false)], 0)];
    let down = alert("f1", "api-health", "MonitorDown", "P2");
    let Step::Change(change) = step(
        &settings(),
        &open,
        &down,
        event(Transition::Fired, 5),
        at(5),
    ) else {
        panic!("expected a change");
    };
    assert_eq!(change.alert_firing, [("f1".to_owned(), true)]);
    assert_eq!(change.entries[0].kind, EntryKind::AlertFired);
    assert!(change.join_alerts.is_empty());
}

#[test]
fn the_last_alert_resolving_resolves_the_incident_with_the_resolved_update() {
    let open = [stored(7, &[("f1", true)], 0)];
    let down = alert("f1", "api-health", "MonitorDown", "P2");
    let Step::Change(change) = step(
        &settings(),
        &open,
        &down,
        event(Transition::Resolved, 20),
        at(21),
    ) else {
        panic!("expected a change");
    };
    assert_eq!(change.status, Some(IncidentStatus::Resolved));
    assert_eq!(change.resolved_at, Some(Some(at(20))));
    assert_eq!(change.next_update_at, Some(None));
    let kinds: Vec<EntryKind> = change.entries.iter().map(|entry| entry.kind).collect();
    assert_eq!(kinds, [EntryKind::AlertResolved, EntryKind::Update]);
    assert_eq!(change.entries[1].status, Some(IncidentStatus::Resolved));
    assert!(change.entries[1].body.contains("has been resolved"));
}

#[test]
fn one_alert_resolving_while_another_fires_only_records_it() {
    let open = [stored(7, &[("f1", true), ("f2", true)], 0)];
    let down = alert("f1", "api-health", "MonitorDown", "P2");
    let Step::Change(change) = step(
        &settings(),
        &open,
        &down,
        event(Transition::Resolved, 20),
        at(20),
    ) else {
        panic!("expected a change");
    };
    assert_eq!(change.status, None);
    assert_eq!(change.alert_firing, [("f1".to_owned(), false)]);
}

#[test]
fn pending_is_not_news() {
    let down = alert("f1", "api-health", "MonitorDown", "P0");
    assert_eq!(
        step(
            &settings(),
            &[],
            &down,
            event(Transition::Pending, 0),
            at(0)
        ),
        Step::Nothing
    );
}

#[test]
fn titles_name_the_component_and_the_monitor() {
    let settings = settings();
    assert_eq!(
        title(&settings, &alert("f", "api-health", "ApiErrors", "P1")),
        "API: ApiErrors on API health"
    );
    let mut bare = alert("f", "db", "MonitorDown", "P1");
    bare.labels.remove("component");
    assert_eq!(title(&settings, &bare), "db is down");
}
