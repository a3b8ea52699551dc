//! `/api/v1/alerts`: the stored alerts, firing first, and one alert with
//! its timeline.

use axum::http::Method;
use std::sync::Arc;
use watchkeeper_domain::alert::fingerprint::fingerprint;
use watchkeeper_domain::alert::matcher::Labels;

use watchkeeper_domain::alert::{
    AlertChange, AlertPhase, AlertRule, AlertState, RuleSet, Transition,
};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_testkit::{monitor, result};

use crate::support::{Fixture, History, at, fixture};

pub(crate) fn change(
    rule: &str,
    monitor: &str,
    transition: Transition,
    minutes_ago: i64,
) -> AlertChange {
    let labels: Labels = [
        ("alertname", rule),
        ("monitor", monitor),
        ("severity", "P2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let when = at(minutes_ago);
    let state = match transition {
        Transition::Fired => AlertState {
            phase: AlertPhase::Firing,
            active_since: Some(when),
            fired_at: Some(when),
            last_held: Some(when),
            resolved_at: None,
        },
        Transition::Resolved => AlertState {
            phase: AlertPhase::Resolved,
            active_since: None,
            fired_at: Some(at(minutes_ago + 10)),
            last_held: Some(at(minutes_ago + 1)),
            resolved_at: Some(when),
        },
        Transition::Pending | Transition::PendingCleared => AlertState::default(),
    };
    AlertChange {
        fingerprint: fingerprint(&labels),
        rule: rule.to_owned(),
        monitor: MonitorId::parse(monitor).unwrap(),
        labels,
        transition,
        at: when,
        state,
        reason: (transition == Transition::Fired).then(|| "connection refused".to_owned()),
    }
}

/// `db` fired 30 minutes ago and resolved 20 minutes ago; `api` fired 5
/// minutes ago and is firing.
async fn two_alerts() -> (Fixture, AlertChange) {
    let api_fired = change("MonitorDown", "api", Transition::Fired, 5);
    let history = History {
        results: vec![result("api", at(5)).down("connection refused").build()],
        alerts: vec![
            change("MonitorDown", "db", Transition::Fired, 30),
            change("MonitorDown", "db", Transition::Resolved, 20),
            api_fired.clone(),
        ],
        rules: RuleSet::new(
            ["api", "db"]
                .into_iter()
                .map(|id| {
                    Arc::new(AlertRule::monitor_down(
                        MonitorId::parse(id).unwrap(),
                        3,
                        2,
                        "P2".to_owned(),
                    ))
                })
                .collect(),
        ),
        ..History::default()
    };
    let app = fixture(vec![monitor("api").build(), monitor("db").build()], history).await;
    (app, api_fired)
}

#[tokio::test]
async fn the_list_has_firing_alerts_first_with_labels_and_times() {
    let (app, _) = two_alerts().await;
    let answer = app.get("/api/v1/alerts").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    let alerts = body["alerts"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| (a["monitor"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    assert_eq!(summary, [("api", "firing"), ("db", "resolved")], "{body}");
    assert_eq!(alerts[0]["rule"], "MonitorDown");
    assert_eq!(alerts[0]["labels"]["severity"], "P2");
    assert_eq!(alerts[0]["fired_at"], "2026-03-01T11:55:00.000Z");
    assert_eq!(alerts[0]["resolved_at"], serde_json::Value::Null);
    assert_eq!(alerts[1]["resolved_at"], "2026-03-01T11:40:00.000Z");
}

#[tokio::test]
async fn one_alert_has_its_timeline_newest_first() {
    let (app, api_fired) = two_alerts().await;
    let db = app.get("/api/v1/alerts").await.json()["alerts"][1]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app.get(&format!("/api/v1/alerts/{db}")).await.json();
    assert_eq!(body["state"], "resolved");
    let events: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transition"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["resolved", "fired"], "{body}");
    assert_eq!(body["events"][1]["reason"], "connection refused");

    let api = app
        .get(&format!("/api/v1/alerts/{}", api_fired.fingerprint))
        .await
        .json();
    assert_eq!(api["state"], "firing");
    assert_eq!(api["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_alert_is_not_found_and_alerts_take_only_get() {
    let (app, api_fired) = two_alerts().await;
    let answer = app.get("/api/v1/alerts/0123456789abcdef").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        answer.error(),
        (
            "not_found".to_owned(),
            "no alert with fingerprint `0123456789abcdef`".to_owned()
        )
    );
    for (method, path) in [
        (Method::POST, "/api/v1/alerts".to_owned()),
        (
            Method::DELETE,
            format!("/api/v1/alerts/{}", api_fired.fingerprint),
        ),
    ] {
        let answer = app.request(method.clone(), &path).await;
        assert_eq!(answer.status, 405, "{method} {path}");
    }
}
