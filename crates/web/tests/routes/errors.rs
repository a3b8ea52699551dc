//! Errors the router itself answers: a path no router has, a store that
//! cannot answer (its text never reaches the client), and requests axum's
//! own extractors refuse (a query string, a path or a body they cannot
//! read), all in the one JSON error shape.

use axum::http::Method;
use watchkeeper_testkit::monitor;

use crate::support::{History, fixture};

#[tokio::test]
async fn a_path_no_router_has_is_a_json_404_naming_it() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    for path in ["/nope", "/api/v1", "/api/v2/monitors", "/-/nothing-here"] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        let (code, message) = answer.error();
        assert_eq!(code, "not_found", "{path}");
        assert_eq!(message, format!("no route for {path}"));
    }
}

#[tokio::test]
async fn a_store_failure_is_internal_with_an_id_and_no_database_text() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    app.store.close().await;
    for path in ["/api/v1/monitors", "/api/v1/monitors/api"] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 500, "{path}");
        let (code, message) = answer.error();
        assert_eq!(code, "internal", "{path}");
        assert!(message.starts_with("internal error E"), "{message}");
        let lower = message.to_lowercase();
        for leak in ["pool", "closed", "sqlite", "database", "select"] {
            assert!(!lower.contains(leak), "{path}: {message}");
        }
    }
    // Health comes from memory and still answers.
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn a_query_string_the_api_cannot_read_is_a_json_400_naming_the_query() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    for path in [
        "/api/v1/deliveries?limit=1&limit=2",
        "/api/v1/mtta?since=a&since=b",
        "/api/v1/oncall?at=a&at=b",
        "/api/v1/silences?all=true&all=false",
        "/api/v1/incidents?limit=many",
        "/api/v1/audit?before=yesterday",
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 400, "{path}");
        assert_eq!(answer.content_type(), "application/json", "{path}");
        let (code, message) = answer.error();
        assert_eq!(code, "bad_request", "{path}");
        assert!(message.starts_with("`query`: "), "{path}: {message}");
    }
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_json_400() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    let answer = app.get("/api/v1/alerts/%FF%FE").await;
    assert_eq!(answer.status, 400);
    let (code, message) = answer.error();
    assert_eq!(code, "bad_request");
    assert!(message.starts_with("`path`: "), "{message}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_json_413_and_nothing_is_written() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    let comment = "x".repeat(watchkeeper_web::api::extract::BODY_LIMIT);
    let body = format!(r#"{{"matchers":["severity=P2"],"duration":"1h","comment":"{comment}"}}"#);
    let answer = app
        .request_with_body(
            Method::POST,
            "/api/v1/silences",
            Some(&app.admin_token),
            Some(&body),
        )
        .await;
    assert_eq!(answer.status, 413);
    let (code, message) = answer.error();
    assert_eq!(code, "payload_too_large");
    assert!(message.contains("65536 bytes"), "{message}");
    let listed = app.get("/api/v1/silences?all=true").await.json();
    assert_eq!(listed["silences"], serde_json::json!([]));
}
