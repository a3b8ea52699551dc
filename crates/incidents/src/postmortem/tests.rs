//! Tests for the parent module, with fixed times and the default templates.
use jiff::Timestamp;
use watchkeeper_domain::incident::{Impact, IncidentStatus};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn facts() -> PostmortemFacts {
    PostmortemFacts {
        id: 12,
        title: "Payment Processing Delays".to_owned(),
        severity: "P1".to_owned(),
        status: IncidentStatus::Resolved,
        commander: Some("alice".to_owned()),
        started_at: at("2026-12-02T10:00:00Z"),
        acknowledged_at: Some(at("2026-12-02T10:04:30Z")),
        resolved_at: Some(at("2026-12-02T10:42:00Z")),
        written_at: at("2026-12-02T11:00:00Z"),
        components: vec![("Payments".to_owned(), Impact::PartialOutage)],
        monitors: vec![
            MonitorImpact {
                monitor: "stripe-webhook".to_owned(),
                probes: 84,
                failed: 21,
            },
            MonitorImpact {
                monitor: "queue-depth".to_owned(),
                probes: 0,
                failed: 0,
            },
        ],
        alerts: vec![AlertFacts {
            rule: "webhook-errors".to_owned(),
            monitor: "stripe-webhook".to_owned(),
            severity: Some("P1".to_owned()),
            reason: Some("`status == 200` is false: status is 401".to_owned()),
            runbook: Some("https://runbooks.example/webhooks".to_owned()),
            fired_at: Some(at("2026-12-02T10:00:00Z")),
            resolved_at: Some(at("2026-12-02T10:40:10Z")),
        }],
        notifications_delivered: 3,
        notifications_failed: 1,
        pages: 2,
        resolution: Some("Updated STRIPE_WEBHOOK_SECRET and restarted services.".to_owned()),
        timeline: vec![
            TimelineLine {
                at: at("2026-12-02T10:00:00Z"),
                text: "Opened by alert webhook-errors on stripe-webhook (P1)".to_owned(),
            },
            TimelineLine {
                at: at("2026-12-02T10:04:30Z"),
                text: "Acknowledged by alice | via link".to_owned(),
            },
            TimelineLine {
                at: at("2026-12-02T10:42:00Z"),
                text: "Resolved: the fix\nholds".to_owned(),
            },
        ],
    }
}

#[test]
fn a_resolved_incident() {
    insta::assert_snapshot!(render(&facts()).unwrap());
}

#[test]
fn an_ongoing_incident_without_alerts_or_acknowledgement() {
    let facts = PostmortemFacts {
        status: IncidentStatus::Identified,
        commander: None,
        acknowledged_at: None,
        resolved_at: None,
        components: Vec::new(),
        monitors: Vec::new(),
        alerts: Vec::new(),
        resolution: None,
        timeline: Vec::new(),
        ..facts()
    };
    insta::assert_snapshot!(render(&facts).unwrap());
}
