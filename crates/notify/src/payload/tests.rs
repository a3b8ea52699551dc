//! Every payload's shape, fixed for one group: `api-down` firing (P1) and
//! `db-slow` resolved (P2), both labelled `team = "payments"`.

use serde_json::json;

use super::*;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn group() -> Notification {
    Notification {
        id: "msg_2b69ddd7d2300614_1".into(),
        receiver: "team-hook".into(),
        group_key: "0:{team=\"payments\"}".into(),
        group_labels: labels(&[("team", "payments")]),
        alerts: vec![
            AlertMessage {
                fingerprint: "2b69ddd7d2300614".into(),
                rule: "api-down".into(),
                status: AlertStatus::Firing,
                severity: "P1".into(),
                labels: labels(&[("team", "payments"), ("region", "eu")]),
                annotations: labels(&[("summary", "API is down"), ("shared", "yes")]),
                monitors: vec!["api".into()],
                reason: Some("status == 200 failed: status was 500".into()),
                runbook: Some("https://wiki.example/api".into()),
                starts_at: ts("2026-05-01T10:00:00Z"),
                ends_at: None,
                url: "http://127.0.0.1:8080/api/v1/alerts/2b69ddd7d2300614".into(),
                ack_url: None,
            },
            AlertMessage {
                fingerprint: "0f00000000000001".into(),
                rule: "db-slow".into(),
                status: AlertStatus::Resolved,
                severity: "P2".into(),
                labels: labels(&[("team", "payments"), ("region", "us")]),
                annotations: labels(&[("summary", "DB is slow"), ("shared", "yes")]),
                monitors: vec!["db".into()],
                reason: None,
                runbook: None,
                starts_at: ts("2026-05-01T09:00:00Z"),
                ends_at: Some(ts("2026-05-01T09:30:00Z")),
                url: "http://127.0.0.1:8080/api/v1/alerts/0f00000000000001".into(),
                ack_url: None,
            },
        ],
        external_url: "http://127.0.0.1:8080".into(),
        sent_at: ts("2026-05-01T10:00:30Z"),
        page: None,
    }
}

fn message() -> Message {
    Message {
        title: "[FIRING:1] api-down".into(),
        text: "API is down".into(),
    }
}

fn resolved() -> Notification {
    let mut n = group();
    n.alerts.remove(0);
    n
}

#[test]
fn the_group_fires_while_one_alert_fires_and_shares_what_all_share() {
    let n = group();
    assert_eq!(n.status(), AlertStatus::Firing);
    assert_eq!(n.severity(), "P1");
    assert_eq!(n.common_labels(), labels(&[("team", "payments")]));
    assert_eq!(n.common_annotations(), labels(&[("shared", "yes")]));
    assert_eq!(resolved().status(), AlertStatus::Resolved);
    assert_eq!(resolved().severity(), "P2");
}

#[test]
fn alertmanager_version_4_field_for_field() {
    assert_eq!(
        alertmanager(&group()),
        json!({
            "version": "4",
            "groupKey": "0:{team=\"payments\"}",
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "team-hook",
            "groupLabels": {"team": "payments"},
            "commonLabels": {"team": "payments"},
            "commonAnnotations": {"shared": "yes"},
            "externalURL": "http://127.0.0.1:8080",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "api-down", "region": "eu", "severity": "P1", "team": "payments"},
                    "annotations": {"shared": "yes", "summary": "API is down"},
                    "startsAt": "2026-05-01T10:00:00.000Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://127.0.0.1:8080/api/v1/alerts/2b69ddd7d2300614",
                    "fingerprint": "2b69ddd7d2300614",
                },
                {
                    "status": "resolved",
                    "labels": {"alertname": "db-slow", "region": "us", "severity": "P2", "team": "payments"},
                    "annotations": {"shared": "yes", "summary": "DB is slow"},
                    "startsAt": "2026-05-01T09:00:00.000Z",
                    "endsAt": "2026-05-01T09:30:00.000Z",
                    "generatorURL": "http://127.0.0.1:8080/api/v1/alerts/0f00000000000001",
                    "fingerprint": "0f00000000000001",
                },
            ],
        })
    );
}

#[test]
fn our_webhook_version_1() {
    let body = webhook(&group());
    assert_eq!(body["type"], "alert.firing");
    assert_eq!(body["timestamp"], "2026-05-01T10:00:30.000Z");
    let data = &body["data"];
    assert_eq!(data["version"], "1");
    assert_eq!(data["status"], "firing");
    assert_eq!(data["receiver"], "team-hook");
    assert_eq!(data["group_labels"], json!({"team": "payments"}));
    assert_eq!(data["common_labels"], json!({"team": "payments"}));
    assert_eq!(
        data["alerts"][0],
        json!({
            "fingerprint": "2b69ddd7d2300614",
            "rule": "api-down",
            "status": "firing",
            "severity": "P1",
            "labels": {"region": "eu", "team": "payments"},
            "annotations": {"shared": "yes", "summary": "API is down"},
            "monitors": ["api"],
            "reason": "status == 200 failed: status was 500",
            "runbook": "https://wiki.example/api",
            "starts_at": "2026-05-01T10:00:00.000Z",
            "ends_at": null,
            "url": "http://127.0.0.1:8080/api/v1/alerts/2b69ddd7d2300614",
            "ack_url": null,
        })
    );
    assert_eq!(
        data["page"],
        Value::Null,
        "a group's notification is no page"
    );
    assert_eq!(data["alerts"][1]["ends_at"], "2026-05-01T09:30:00.000Z");
    assert_eq!(webhook(&resolved())["type"], "alert.resolved");
}

fn page() -> Notification {
    let mut page = group();
    page.alerts.truncate(1);
    page.alerts[0].ack_url = Some("http://127.0.0.1:8080/ack/wk1.abc.def".into());
    page.page = Some(PageInfo {
        policy: "default".into(),
        level: 2,
        round: 1,
        target: "schedule:primary".into(),
        person: Some(PagedPerson {
            id: "alice".into(),
            name: "Alice Example".into(),
            email: Some("alice@example.com".into()),
            slack: Some("U024BE7LH".into()),
        }),
        reminder: false,
    });
    page
}

#[test]
fn a_page_says_whom_it_pages_at_which_level_with_the_acknowledgement_link() {
    let data = &webhook(&page())["data"];
    assert_eq!(
        data["page"],
        json!({
            "policy": "default",
            "level": 2,
            "round": 1,
            "target": "schedule:primary",
            "person": {"id": "alice", "name": "Alice Example", "email": "alice@example.com", "slack": "U024BE7LH"},
            "reminder": false,
        })
    );
    assert_eq!(
        data["alerts"][0]["ack_url"],
        "http://127.0.0.1:8080/ack/wk1.abc.def"
    );
    assert_eq!(
        slack(&page(), &message())["text"],
        "<@U024BE7LH> [FIRING:1] api-down",
        "Slack mentions the person paged"
    );
    assert_eq!(slack(&group(), &message())["text"], "[FIRING:1] api-down");
}

#[test]
fn chat_payloads_carry_the_message_coloured_by_severity() {
    let slack = slack(&group(), &message());
    assert_eq!(slack["text"], "[FIRING:1] api-down");
    assert_eq!(slack["attachments"][0]["color"], "#d62c2c");
    assert_eq!(slack["attachments"][0]["text"], "API is down");
    assert_eq!(slack["attachments"][0]["fields"][1]["value"], "api, db");
    assert_eq!(
        super::slack(&resolved(), &message())["attachments"][0]["color"],
        "#2eb886"
    );

    let discord = discord(&group(), &message());
    assert_eq!(discord["embeds"][0]["color"], 0xd6_2c2c);
    assert_eq!(discord["embeds"][0]["description"], "API is down");

    let teams = teams(&group(), &message());
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["body"][0]["text"], "[FIRING:1] api-down");
    assert_eq!(card["content"]["body"][0]["color"], "attention");

    let ntfy = ntfy(&group(), &message(), "ops");
    assert_eq!(
        ntfy,
        json!({"topic": "ops", "title": "[FIRING:1] api-down", "message": "API is down", "priority": 4, "tags": ["rotating_light"]})
    );
    assert_eq!(super::ntfy(&resolved(), &message(), "ops")["priority"], 1);
}

#[test]
fn pagerduty_triggers_and_resolves_each_alert_by_its_fingerprint() {
    let events = pagerduty(&group(), "R0UT1NGKEY");
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["event_action"], "trigger");
    assert_eq!(events[0]["dedup_key"], "2b69ddd7d2300614");
    assert_eq!(events[0]["routing_key"], "R0UT1NGKEY");
    assert_eq!(events[0]["payload"]["summary"], "API is down");
    assert_eq!(events[0]["payload"]["source"], "api");
    assert_eq!(events[0]["payload"]["severity"], "error");
    assert_eq!(
        events[1],
        json!({"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "0f00000000000001"})
    );
    assert_eq!(
        ["P0", "P1", "P2", "P3", "custom"].map(pagerduty_severity),
        ["critical", "error", "warning", "info", "info"]
    );
}
