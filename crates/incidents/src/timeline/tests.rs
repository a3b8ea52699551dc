//! Tests for [`super::merge`] and the postmortem's facts: entries, steps
//! and deliveries in one time order, described as a person reads them.

use std::collections::BTreeMap;

use jiff::Timestamp;
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_store::{
    Delivery, DeliveryStatus, EscalationStep, IncidentAlert, StoredEntry, StoredIncident,
};

use super::*;

fn at(minute: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
}

fn entry(id: i64, minute: i64, kind: EntryKind, body: &str) -> StoredEntry {
    StoredEntry {
        id,
        incident: 1,
        at: at(minute),
        kind,
        author: None,
        status: None,
        subject: None,
        body: body.to_owned(),
        fingerprint: None,
        template: None,
    }
}

fn delivery(seq: i64, minute: i64, notification: &str) -> Delivery {
    Delivery {
        seq,
        id: format!("msg_{seq}"),
        notifier: "ops-webhook".to_owned(),
        group_key: "g".to_owned(),
        kind: "alert.firing".to_owned(),
        created_at: at(minute),
        status: DeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: None,
        last_attempt_at: Some(at(minute)),
        last_outcome: Some("200 OK".to_owned()),
        finished_at: Some(at(minute)),
        notification: notification.to_owned(),
    }
}

fn incident() -> StoredIncident {
    StoredIncident {
        id: 1,
        title: "API down".to_owned(),
        severity: "P1".to_owned(),
        status: IncidentStatus::Resolved,
        components: BTreeMap::from([("api".to_owned(), Impact::MajorOutage)]),
        commander: Some("alice".to_owned()),
        opened_by_alert: true,
        started_at: at(0),
        acknowledged_at: Some(at(3)),
        resolved_at: Some(at(20)),
        next_update_at: None,
        last_reminder_at: None,
        created_at: at(0),
        updated_at: at(20),
        alerts: vec![IncidentAlert {
            fingerprint: "f1".to_owned(),
            monitor: "api-health".to_owned(),
            joined_at: at(0),
            firing: false,
        }],
    }
}

#[test]
fn entries_steps_and_deliveries_merge_in_time_order() {
    let entries = [
        entry(1, 0, EntryKind::Opened, "Opened"),
        entry(2, 10, EntryKind::Update, "Fixed"),
    ];
    let steps = [EscalationStep {
        id: 5,
        fingerprint: "f1".to_owned(),
        firing_since: at(0),
        policy: "payments".to_owned(),
        level: 0,
        round: 0,
        at: at(2),
        target: "person:alice".to_owned(),
        person: Some("alice".to_owned()),
        notifier: Some("alice-ntfy".to_owned()),
        delivery_id: None,
        note: "paged".to_owned(),
    }];
    let deliveries = [delivery(9, 1, r#"{"alerts":[{"fingerprint":"f1"}]}"#)];
    let merged = merge(&entries, &steps, &deliveries);
    let kinds: Vec<EntryKind> = merged.iter().map(|item| item.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Opened,
            EntryKind::Notified,
            EntryKind::Escalated,
            EntryKind::Update
        ]
    );
    assert_eq!(
        merged[1].body,
        "Notification alert.firing to ops-webhook delivered after 1 attempt: 200 OK"
    );
    assert_eq!(
        merged[2].body,
        "Escalation payments level 1 paged alice via alice-ntfy"
    );
}

#[test]
fn only_deliveries_about_its_alerts_during_its_span_are_its_own() {
    let incident = incident();
    let end = at(20);
    assert!(relevant(
        &delivery(1, 5, r#"{"alerts":[{"fingerprint":"f1"}]}"#),
        &incident,
        end
    ));
    assert!(!relevant(
        &delivery(2, 5, r#"{"alerts":[{"fingerprint":"f9"}]}"#),
        &incident,
        end
    ));
    assert!(!relevant(
        &delivery(3, 25, r#"{"alerts":[{"fingerprint":"f1"}]}"#),
        &incident,
        end
    ));
    assert!(!relevant(&delivery(4, 5, "not json"), &incident, end));
}

#[test]
fn the_postmortem_takes_the_resolving_update_and_credits_authors() {
    let mut resolved = entry(3, 20, EntryKind::Update, "The fix is out.");
    resolved.status = Some(IncidentStatus::Resolved);
    resolved.author = Some("alice".to_owned());
    let record = Record {
        timeline: merge(
            &[entry(1, 0, EntryKind::Opened, "Opened"), resolved],
            &[],
            &[],
        ),
        notifications_delivered: 2,
        notifications_failed: 0,
        pages: 1,
        alerts: Vec::new(),
        monitors: Vec::new(),
    };
    let names = Names {
        components: BTreeMap::from([("api".to_owned(), "Public API".to_owned())]),
        ..Names::default()
    };
    let facts = postmortem_facts(&incident(), &record, &names, at(30));
    assert_eq!(facts.resolution.as_deref(), Some("The fix is out."));
    assert_eq!(
        facts.components,
        [("Public API".to_owned(), Impact::MajorOutage)]
    );
    assert_eq!(facts.timeline[1].text, "[Resolved] The fix is out. (alice)");
}
