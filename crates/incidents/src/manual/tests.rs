//! Tests for the parent module: people's updates and new incidents
//! against a stored incident, with fixed times and the default templates
//! plus the seeds' `payment-delay`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::incident::policy::IncidentPolicy;
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::StoredIncident;

use super::*;
use crate::communications::{Communications, TemplateSpec};

fn settings() -> OpenerSettings {
    let severities: Vec<String> = ["P0", "P1", "P2", "P3"].map(str::to_owned).to_vec();
    let payment_delay = TemplateSpec {
        id: "payment-delay".to_owned(),
        status: Some(IncidentStatus::Identified),
        subject: None,
        body: "We've identified an issue affecting payment confirmations.\
{% if message %} {{ message }}{% endif %}"
            .to_owned(),
    };
    OpenerSettings {
        policy: IncidentPolicy {
            impacts: IncidentPolicy::default_impacts(&severities),
            severities,
            open_from: Some("P2".to_owned()),
            join_window: Duration::from_secs(30 * 60),
            resolve_with_alerts: true,
        },
        next_update: None,
        communications: Arc::new(Communications::new(vec![payment_delay]).unwrap()),
        names: crate::timeline::Names {
            components: BTreeMap::from([("payments".to_owned(), "Payments".to_owned())]),
            monitors: BTreeMap::new(),
            runbooks: BTreeMap::new(),
        },
    }
}

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
}

fn incident(status: IncidentStatus) -> StoredIncident {
    StoredIncident {
        id: 4,
        title: "Payment Processing Delays".to_owned(),
        severity: "P1".to_owned(),
        status,
        components: BTreeMap::from([("payments".to_owned(), Impact::PartialOutage)]),
        commander: None,
        opened_by_alert: true,
        started_at: at(0),
        acknowledged_at: None,
        resolved_at: None,
        next_update_at: Some(at(30)),
        last_reminder_at: None,
        created_at: at(0),
        updated_at: at(0),
        alerts: Vec::new(),
    }
}

fn request(author: &str) -> UpdateRequest {
    UpdateRequest {
        author: author.to_owned(),
        ..UpdateRequest::default()
    }
}

#[test]
fn a_template_update_takes_its_status_and_announces_as_the_seeds_do() {
    let posted = update(
        &settings(),
        &incident(IncidentStatus::Investigating),
        &UpdateRequest {
            template: Some("payment-delay".to_owned()),
            message: Some("Confirmations are delayed by up to 10 minutes.".to_owned()),
            next_update: Some(Duration::from_secs(30 * 60)),
            ..request("alice")
        },
        at(12),
    )
    .unwrap();
    let change = &posted.write;
    assert_eq!(change.status, Some(IncidentStatus::Identified));
    assert_eq!(change.next_update_at, Some(Some(at(42))));
    // the first person to post commands an incident that had no commander
    assert_eq!(change.commander, Some(Some("alice".to_owned())));
    let update = change.entries.last().unwrap();
    assert_eq!(update.kind, EntryKind::Update);
    assert_eq!(update.template.as_deref(), Some("payment-delay"));
    assert_eq!(update.author.as_deref(), Some("alice"));
    assert_eq!(
        posted.announcement,
        "[Identified] Payment Processing Delays\n\n\
         We've identified an issue affecting payment confirmations. \
         Confirmations are delayed by up to 10 minutes.\n\n\
         Posted: 2026-09-21 14:25 UTC\nNext update: 30 minutes\n"
    );
}

#[test]
fn a_message_alone_is_posted_as_written_and_clears_the_promise() {
    let posted = update(
        &settings(),
        &incident(IncidentStatus::Identified),
        &UpdateRequest {
            message: Some("Still on it.".to_owned()),
            ..request("bob")
        },
        at(31),
    )
    .unwrap();
    let update = posted.write.entries.last().unwrap();
    assert_eq!(update.body, "Still on it.");
    assert_eq!(update.template, None);
    assert_eq!(posted.write.status, None);
    assert_eq!(posted.write.next_update_at, Some(None));
}

#[test]
fn a_bare_status_posts_that_statuss_template_and_resolving_sets_the_time() {
    let posted = update(
        &settings(),
        &incident(IncidentStatus::Monitoring),
        &UpdateRequest {
            status: Some(IncidentStatus::Resolved),
            ..request("alice")
        },
        at(50),
    )
    .unwrap();
    assert_eq!(posted.write.resolved_at, Some(Some(at(50))));
    let update = posted.write.entries.last().unwrap();
    assert_eq!(update.template.as_deref(), Some("resolved"));
    assert!(
        update.body.contains("Payments has been resolved"),
        "{}",
        update.body
    );
}

#[test]
fn impacts_severity_and_commander_are_one_changed_entry() {
    let posted = update(
        &settings(),
        &incident(IncidentStatus::Identified),
        &UpdateRequest {
            severity: Some("P0".to_owned()),
            impacts: BTreeMap::from([("payments".to_owned(), Impact::MajorOutage)]),
            commander: Some("carol".to_owned()),
            message: Some("Worse.".to_owned()),
            ..request("alice")
        },
        at(5),
    )
    .unwrap();
    let change = &posted.write;
    assert_eq!(change.severity.as_deref(), Some("P0"));
    assert_eq!(change.components["payments"], Impact::MajorOutage);
    assert_eq!(change.entries[0].kind, EntryKind::Changed);
    assert_eq!(
        change.entries[0].body,
        "severity P1 → P0; Payments is major_outage; commander: carol"
    );
}

#[test]
fn mistakes_name_their_field() {
    let settings = settings();
    let field = |status: IncidentStatus, request: UpdateRequest| {
        update(&settings, &incident(status), &request, at(5))
            .unwrap_err()
            .field
    };
    use IncidentStatus::*;
    assert_eq!(
        field(
            Identified,
            UpdateRequest {
                template: Some("nope".into()),
                ..request("a")
            }
        ),
        "template"
    );
    assert_eq!(
        field(
            Identified,
            UpdateRequest {
                status: Some(Postmortem),
                ..request("a")
            }
        ),
        "status"
    );
    assert_eq!(
        field(
            Identified,
            UpdateRequest {
                severity: Some("P9".into()),
                ..request("a")
            }
        ),
        "severity"
    );
    assert_eq!(
        field(
            Identified,
            UpdateRequest {
                impacts: BTreeMap::from([("db".to_owned(), Impact::MajorOutage)]),
                ..request("a")
            }
        ),
        "components"
    );
    assert_eq!(field(Identified, request("a")), "message");
    assert_eq!(
        field(
            Identified,
            UpdateRequest {
                status: Some(Resolved),
                next_update: Some(Duration::from_secs(60)),
                ..request("a")
            }
        ),
        "next_update"
    );
}

#[test]
fn a_person_opens_an_incident_they_command() {
    let posted = open(
        &settings(),
        &OpenRequest {
            title: "  Payment Processing Delays ".to_owned(),
            severity: "P1".to_owned(),
            components: BTreeMap::from([("payments".to_owned(), Impact::PartialOutage)]),
            update: UpdateRequest {
                next_update: Some(Duration::from_secs(1800)),
                ..request("alice")
            },
        },
        at(0),
    )
    .unwrap();
    let incident = &posted.write;
    assert_eq!(incident.title, "Payment Processing Delays");
    assert!(!incident.opened_by_alert);
    assert_eq!(incident.commander.as_deref(), Some("alice"));
    assert_eq!(incident.next_update_at, Some(at(30)));
    let kinds: Vec<EntryKind> = incident.entries.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EntryKind::Opened, EntryKind::Update]);
    assert!(
        posted
            .announcement
            .starts_with("[Investigating] Payment Processing Delays\n")
    );
    let refused = open(
        &settings(),
        &OpenRequest {
            title: " ".to_owned(),
            severity: "P1".to_owned(),
            components: BTreeMap::new(),
            update: request("a"),
        },
        at(0),
    )
    .unwrap_err();
    assert_eq!(refused.field, "title");
}
