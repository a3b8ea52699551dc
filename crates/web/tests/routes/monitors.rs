//! The API router: the monitor list and one monitor's detail, answered from
//! the board and the store's history.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use watchkeeper_domain::check::StateChange;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_engine::ResultSource;
use watchkeeper_testkit::{monitor, result};
use watchkeeper_web::api::ListCache;

use crate::support::{Fixture, History, at, fixture};

/// `api` went up, down ("connection refused"), up again, ten minutes
/// apart; `db` has never been probed.
async fn two_monitors() -> Fixture {
    let api = MonitorId::parse("api").unwrap();
    let change =
        |from: Option<Health>, to: Health, minutes_ago: i64, reason: Option<&str>| StateChange {
            monitor: api.clone(),
            from,
            to,
            at: at(minutes_ago),
            reason: reason.map(str::to_owned),
        };
    let history = History {
        results: vec![
            result("api", at(30)).build(),
            result("api", at(20)).down("connection refused").build(),
            result("api", at(10)).build(),
        ],
        changes: vec![
            change(None, Health::Up, 30, None),
            change(
                Some(Health::Up),
                Health::Down,
                20,
                Some("connection refused"),
            ),
            change(Some(Health::Down), Health::Up, 10, None),
        ],
        ..History::default()
    };
    fixture(
        vec![
            monitor("api")
                .name("Public API")
                .component("edge")
                .http("http://127.0.0.1:9/health")
                .expect("status == 200")
                .degraded_if("latency > duration('2s')")
                .build(),
            monitor("db").build(),
        ],
        history,
    )
    .await
}

#[tokio::test]
async fn the_list_has_every_monitor_in_config_order_with_state_and_availability() {
    let app = two_monitors().await;
    let answer = app.get("/api/v1/monitors").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    let monitors = body["monitors"].as_array().unwrap();
    assert_eq!(monitors.len(), 2, "{body}");

    let api = &monitors[0];
    assert_eq!(api["id"], "api");
    assert_eq!(api["name"], "Public API");
    assert_eq!(api["component"], "edge");
    assert_eq!(api["kind"], "http");
    assert_eq!(api["target"], "GET http://127.0.0.1:9/health");
    assert_eq!(api["interval_seconds"], 1.0);
    assert_eq!(api["state"], "up");
    assert_eq!(api["since"], "2026-03-01T11:50:00.000Z");
    assert_eq!(api["reason"], serde_json::Value::Null);
    assert_eq!(api["last_result"]["started_at"], "2026-03-01T11:50:00.000Z");
    assert_eq!(api["last_result"]["latency_ms"], 10.0);
    // Two of the three results in the last 24 h were not down.
    let availability = api["availability_24h"].as_f64().unwrap();
    assert!((availability - 2.0 / 3.0).abs() < 1e-9, "{availability}");

    let db = &monitors[1];
    assert_eq!(db["id"], "db");
    assert_eq!(db["kind"], "tcp");
    assert_eq!(db["state"], serde_json::Value::Null);
    assert_eq!(db["last_result"], serde_json::Value::Null);
    assert_eq!(db["availability_24h"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_detail_has_conditions_state_changes_and_recent_results_newest_first() {
    let app = two_monitors().await;
    let answer = app.get("/api/v1/monitors/api").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["id"], "api");
    assert_eq!(body["timeout_seconds"], 1.0);
    assert_eq!(body["expect"], serde_json::json!(["status == 200"]));
    assert_eq!(
        body["degraded_if"],
        serde_json::json!(["latency > duration('2s')"])
    );

    let changes: Vec<(&str, &str)> = body["state_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["at"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("2026-03-01T11:50:00.000Z", "up"),
            ("2026-03-01T11:40:00.000Z", "down"),
            ("2026-03-01T11:30:00.000Z", "up"),
        ]
    );
    assert_eq!(body["state_changes"][1]["from"], "up");
    assert_eq!(body["state_changes"][1]["reason"], "connection refused");
    assert_eq!(body["state_changes"][2]["from"], serde_json::Value::Null);

    let results: Vec<(&str, &str)> = body["recent_results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["started_at"].as_str().unwrap(),
                r["health"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("2026-03-01T11:50:00.000Z", "up"),
            ("2026-03-01T11:40:00.000Z", "down"),
            ("2026-03-01T11:30:00.000Z", "up"),
        ]
    );
    assert_eq!(body["recent_results"][1]["reason"], "connection refused");
    assert_eq!(body["recent_results"][0]["lag_ms"], 0.0);
}

#[tokio::test]
async fn a_monitor_never_probed_has_an_empty_detail() {
    let app = two_monitors().await;
    let body = app.get("/api/v1/monitors/db").await.json();
    assert_eq!(body["state"], serde_json::Value::Null);
    assert_eq!(body["state_changes"], serde_json::json!([]));
    assert_eq!(body["recent_results"], serde_json::json!([]));
    assert_eq!(body["availability_24h"], serde_json::Value::Null);
}

#[tokio::test]
async fn unknown_and_malformed_monitor_ids_are_not_found() {
    let app = two_monitors().await;
    for (path, id) in [
        ("/api/v1/monitors/nope", "nope"),
        ("/api/v1/monitors/NOT%20AN%20ID", "NOT AN ID"),
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        let (code, message) = answer.error();
        assert_eq!(code, "not_found", "{path}");
        assert_eq!(message, format!("no monitor with id `{id}`"), "{path}");
    }
}

#[tokio::test]
async fn the_api_routes_take_only_get() {
    let app = two_monitors().await;
    for (method, path) in [
        (Method::POST, "/api/v1/monitors"),
        (Method::DELETE, "/api/v1/monitors/api"),
        (Method::PUT, "/api/v1/monitors/api"),
    ] {
        let answer = app.request(method.clone(), path).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        let (code, message) = answer.error();
        assert_eq!(code, "method_not_allowed");
        assert_eq!(message, format!("{method} is not allowed on {path}"));
    }
}

/// `db`'s `last_result` in a list answer.
fn db_last_result(answer: &crate::support::Answer) -> serde_json::Value {
    let body = answer.json();
    let monitors = body["monitors"].as_array().unwrap();
    let db = monitors.iter().find(|m| m["id"] == "db").unwrap();
    db["last_result"].clone()
}

#[tokio::test]
async fn one_encoded_list_answers_until_it_expires_and_a_reload_starts_a_new_one() {
    let mut app = two_monitors().await;
    // A cache that would answer for an hour: only a reload can renew it.
    let state = app
        .state
        .clone()
        .with_list_cache(ListCache::answering_for(Duration::from_secs(3600)));
    app.router = watchkeeper_web::router(state);
    let first = app.get("/api/v1/monitors").await;
    assert_eq!(db_last_result(&first), serde_json::Value::Null);

    app.control
        .external_results()
        .submit(result("db", at(1)).build(), ResultSource::Pushed)
        .await
        .unwrap();
    let cached = app.get("/api/v1/monitors").await;
    assert_eq!(
        cached.body, first.body,
        "the same encoded list, byte for byte"
    );

    let monitors = vec![
        Arc::new(monitor("db").build()),
        Arc::new(monitor("web").build()),
    ];
    app.control.reload(monitors, None).await.unwrap();
    let reloaded = app.get("/api/v1/monitors").await.json();
    let ids: Vec<&str> = reloaded["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["db", "web"], "{reloaded}");
    assert_eq!(
        reloaded["monitors"][0]["last_result"]["started_at"], "2026-03-01T11:59:00.000Z",
        "{reloaded}"
    );
}

#[tokio::test]
async fn a_cache_answering_for_no_time_lists_every_new_result_at_once() {
    let mut app = two_monitors().await;
    let state = app
        .state
        .clone()
        .with_list_cache(ListCache::answering_for(Duration::ZERO));
    app.router = watchkeeper_web::router(state);
    assert_eq!(
        db_last_result(&app.get("/api/v1/monitors").await),
        serde_json::Value::Null
    );
    app.control
        .external_results()
        .submit(result("db", at(1)).build(), ResultSource::Pushed)
        .await
        .unwrap();
    let answer = app.get("/api/v1/monitors").await;
    assert_eq!(
        db_last_result(&answer)["started_at"],
        "2026-03-01T11:59:00.000Z"
    );
}
