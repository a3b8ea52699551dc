//! Errors the router itself answers: a path no router has, and a store
//! that cannot answer (its text never reaches the client).

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
