//! The ops router: `POST /-/reload` through the binary's `Reloader`, with
//! each outcome in its own answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::Method;
use watchkeeper_web::{ReloadApplied, ReloadOutcome, Reloader};

use crate::support::{Fixture, History, fixture};

/// Answers every reload with the same outcome.
pub(crate) struct Answers(pub(crate) ReloadOutcome);

impl Reloader for Answers {
    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>> {
        let outcome = self.0.clone();
        Box::pin(async move { outcome })
    }
}

pub(crate) async fn reloading(outcome: ReloadOutcome) -> Fixture {
    let app = fixture(vec![], History::default()).await;
    let state = app.state.clone().with_reloader(Arc::new(Answers(outcome)));
    app.with_state(state)
}

#[tokio::test]
async fn an_applied_reload_answers_what_changed() {
    let app = reloading(ReloadOutcome::Applied(ReloadApplied {
        added: vec!["new".into()],
        removed: vec!["gone".into()],
        changed: vec![],
        unchanged: 3,
        restart_required: vec!["[server] listen".into()],
    }))
    .await;
    let answer = app.request(Method::POST, "/-/reload").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "status": "applied",
            "added": ["new"],
            "removed": ["gone"],
            "changed": [],
            "unchanged": 3,
            "restart_required": ["[server] listen"],
        })
    );
}

#[tokio::test]
async fn an_invalid_config_is_a_400_with_every_error_in_details() {
    let errors = vec![
        "watchkeeper.toml:3:1: unknown key `intervl`".to_owned(),
        "watchkeeper.toml:9:12: `timeout` must be longer than zero".to_owned(),
    ];
    let app = reloading(ReloadOutcome::Rejected {
        errors: errors.clone(),
    })
    .await;
    let answer = app.request(Method::POST, "/-/reload").await;
    assert_eq!(answer.status, 400);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "invalid_config");
    assert_eq!(
        body["error"]["message"],
        "the new configuration has 2 errors; the running one is unchanged"
    );
    assert_eq!(body["error"]["details"], serde_json::json!(errors));
}

#[tokio::test]
async fn a_reload_the_engine_could_not_apply_is_internal_and_its_text_is_logged_only() {
    let app = reloading(ReloadOutcome::Failed {
        error: "cannot register monitors: database is locked".into(),
    })
    .await;
    let answer = app.request(Method::POST, "/-/reload").await;
    assert_eq!(answer.status, 500);
    let (code, message) = answer.error();
    assert_eq!(code, "internal");
    assert!(!message.contains("locked"), "{message}");
}

#[tokio::test]
async fn without_a_reloader_reload_is_unavailable_and_only_post_is_taken() {
    let app = fixture(vec![], History::default()).await;
    let answer = app.request(Method::POST, "/-/reload").await;
    assert_eq!(answer.status, 503);
    let (code, message) = answer.error();
    assert_eq!(code, "unavailable");
    assert_eq!(message, "this server cannot reload its configuration");

    let answer = app.get("/-/reload").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.error().0, "method_not_allowed");
}
