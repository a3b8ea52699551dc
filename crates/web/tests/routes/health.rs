//! The public router: `/health` and `/metrics`.

use axum::http::Method;
use watchkeeper_testkit::monitor;

use crate::support::{History, fixture};

#[tokio::test]
async fn health_answers_ok_with_the_store_writing_state() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    let answer = app.get("/health").await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["status"], "ok", "{body}");
    // Which version it is, compared with the manifest, is the serve
    // test's (`observability`); here only that it is one.
    let version = body["version"].as_str().unwrap();
    assert_eq!(version.split('.').count(), 3, "{body}");
    assert_eq!(body["region"], "eu-west", "{body}");
    assert!(body["uptime_seconds"].is_u64(), "{body}");
    assert_eq!(body["store"]["writing"], "ok", "{body}");
    assert_eq!(body["store"]["buffer_capacity"], 1_000, "{body}");
    assert_eq!(body["store"]["dropped_results"], 0, "{body}");
    assert_eq!(body["store"]["dropping"], false, "{body}");
}

#[tokio::test]
async fn metrics_are_openmetrics_text_with_what_was_recorded() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    app.metrics.set_monitor_count(7);
    let answer = app.get("/metrics").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.content_type(),
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = answer.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("watchkeeper_monitors 7"), "{text}");
}

#[tokio::test]
async fn the_public_routes_take_only_get() {
    let app = fixture(vec![], History::default()).await;
    for path in ["/health", "/metrics"] {
        let answer = app.request(Method::POST, path).await;
        assert_eq!(answer.status, 405, "POST {path}");
        let (code, message) = answer.error();
        assert_eq!(code, "method_not_allowed");
        assert_eq!(message, format!("POST is not allowed on {path}"));
    }
}
