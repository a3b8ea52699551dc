//! A router over a real SQLite store in a temporary directory, a board
//! seeded as a restart would seed it, and a manual clock.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use jiff::Timestamp;
use tower::ServiceExt;
use watchkeeper_domain::check::{CheckResult, MonitorStatus, StateChange};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_engine::{Board, Metrics, StoreHealth};
use watchkeeper_store::Store;
use watchkeeper_testkit::ManualClock;
use watchkeeper_web::AppState;

pub const NOW: &str = "2026-03-01T12:00:00Z";

pub fn now() -> Timestamp {
    NOW.parse().unwrap()
}

pub fn at(minutes_ago: i64) -> Timestamp {
    now() - jiff::SignedDuration::from_mins(minutes_ago)
}

/// What the router is built over, kept so a test can change it.
pub struct Fixture {
    pub router: Router,
    pub store: Store,
    pub metrics: Metrics,
    _dir: tempfile::TempDir,
}

/// The history a fixture starts from: written to the store, and the
/// board seeded from it as `Engine::start` does after a restart.
#[derive(Default)]
pub struct History {
    pub results: Vec<CheckResult>,
    pub changes: Vec<StateChange>,
}

pub async fn fixture(monitors: Vec<MonitorSpec>, history: History) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("watchkeeper.db"))
        .await
        .unwrap();
    let monitors: Vec<Arc<MonitorSpec>> = monitors.into_iter().map(Arc::new).collect();
    let ids: Vec<MonitorId> = monitors.iter().map(|m| m.id.clone()).collect();
    store.register_monitors(&ids).await.unwrap();
    store
        .write_batch(&history.results, &history.changes)
        .await
        .unwrap();
    let states: HashMap<MonitorId, MonitorStatus> = store.current_states().await.unwrap();
    let mut recent: HashMap<MonitorId, Vec<CheckResult>> = HashMap::new();
    for result in history.results.iter().rev() {
        recent
            .entry(result.monitor.clone())
            .or_default()
            .push(result.clone());
    }
    let board = Board::new(&monitors, states, recent);
    let metrics = Metrics::new();
    let state = AppState::new(
        board,
        store.clone(),
        metrics.clone(),
        StoreHealth::new(1_000),
        Arc::new(ManualClock::new(now())),
        Some("eu-west".to_owned()),
    );
    Fixture {
        router: watchkeeper_web::router(state),
        store,
        metrics,
        _dir: dir,
    }
}

/// One answer, its body read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// The `{"error":{"code","message"}}` every failure answers, checked
    /// for its shape: exactly those two string fields.
    pub fn error(&self) -> (String, String) {
        let body = self.json();
        let error = body["error"]
            .as_object()
            .unwrap_or_else(|| panic!("no error object: {body}"));
        assert_eq!(error.len(), 2, "{body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
        assert!(self.content_type().starts_with("application/json"));
        (
            error["code"].as_str().unwrap().to_owned(),
            error["message"].as_str().unwrap().to_owned(),
        )
    }
}

impl Fixture {
    pub async fn request(&self, method: Method, path: &str) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path).await
    }
}
