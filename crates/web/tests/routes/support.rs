//! A router over a real SQLite store in a temporary directory and a real
//! engine started on it (so the board is seeded as after a restart) whose
//! probes never finish, under a manual clock: nothing changes while a
//! test reads. Every request carries an admin token made in the store
//! (`Fixture::admin_token`) unless a test says otherwise
//! (`Fixture::request_as`), so the API's own tests run behind the token
//! layer as a real client does.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use jiff::Timestamp;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use watchkeeper_domain::access::{NewToken, Role, TokenName};
use watchkeeper_domain::alert::{AlertChange, RuleSet};
use watchkeeper_domain::check::{CheckResult, StateChange};
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_engine::{Checker, Engine, EngineConfig, EngineControl, EngineHandle, Metrics};
use watchkeeper_store::{Batch, Store};
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
    /// What the router was built from, for a test that builds another.
    pub state: AppState,
    pub store: Store,
    pub metrics: Metrics,
    /// The running engine's controls: outside results, reloads.
    pub control: EngineControl,
    /// `Bearer …` of the admin token every request sends by default.
    pub admin_token: String,
    _engine: EngineHandle,
    _dir: tempfile::TempDir,
}

/// The history a fixture starts from: written to the store, and the
/// board seeded from it as `Engine::start` does after a restart.
#[derive(Default)]
pub struct History {
    pub results: Vec<CheckResult>,
    pub changes: Vec<StateChange>,
    pub alerts: Vec<AlertChange>,
    /// The engine's alert rules: a stored alert no rule makes is resolved
    /// at start.
    pub rules: RuleSet,
}

/// A checker whose probes never finish: the board keeps what the store
/// had.
struct Never;

impl Checker for Never {
    async fn check(&self, _monitor: &MonitorSpec, _due_at: Timestamp) -> CheckResult {
        std::future::pending().await
    }
}

pub async fn fixture(monitors: Vec<MonitorSpec>, history: History) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    // SQLite: these tests are about the routes; the store's own tests run
    // every read on both engines.
    let store = Store::open(&StorageConfig::sqlite(dir.path().join("watchkeeper.db")))
        .await
        .unwrap();
    let monitors: Vec<Arc<MonitorSpec>> = monitors.into_iter().map(Arc::new).collect();
    let ids: Vec<MonitorId> = monitors.iter().map(|m| m.id.clone()).collect();
    store.register_monitors(&ids).await.unwrap();
    store
        .write(Batch {
            results: &history.results,
            changes: &history.changes,
            alerts: &history.alerts,
        })
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now()));
    let mut registry = Registry::with_prefix("watchkeeper");
    let metrics = Metrics::register(&mut registry);
    let mut config = EngineConfig::new(monitors);
    config.alert_rules = history.rules;
    let engine = Engine::start(
        config,
        Arc::new(Never),
        store.clone(),
        clock.clone(),
        metrics.clone(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let control = engine.control();
    let state = AppState::new(
        control.board(),
        store.clone(),
        Arc::new(registry),
        control.health(),
        clock,
        Some("eu-west".to_owned()),
    );
    let admin_token = format!(
        "Bearer {}",
        make_token(&store, "test-admin", Role::Admin).await
    );
    Fixture {
        router: watchkeeper_web::router(state.clone()),
        state,
        store,
        metrics,
        control,
        admin_token,
        _engine: engine,
        _dir: dir,
    }
}

/// A new token named `name` with `role`, stored; returns its text.
pub async fn make_token(store: &Store, name: &str, role: Role) -> String {
    let token = NewToken::from_random(random_bytes(name));
    store
        .create_token(&TokenName::parse(name).unwrap(), role, &token.hash(), now())
        .await
        .unwrap();
    token.reveal().to_owned()
}

/// Distinct bytes per name (tests need distinct tokens, not secret ones).
fn random_bytes(name: &str) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (slot, byte) in bytes.iter_mut().zip(name.bytes().cycle()) {
        *slot = byte;
    }
    bytes[31] = u8::try_from(name.len()).unwrap();
    bytes
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
    /// The router rebuilt over `state` (a reloader, public reads).
    pub fn with_state(mut self, state: AppState) -> Self {
        self.router = watchkeeper_web::router(state.clone());
        self.state = state;
        self
    }

    /// `method path` with the admin token.
    pub async fn request(&self, method: Method, path: &str) -> Answer {
        let authorization = self.admin_token.clone();
        self.request_as(method, path, Some(&authorization)).await
    }

    /// `method path` with this `Authorization` header, or none.
    pub async fn request_as(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
    ) -> Answer {
        self.request_with_body(method, path, authorization, None)
            .await
    }

    /// `method path` with this `Authorization` header (or none) and this
    /// JSON body (or none).
    pub async fn request_with_body(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        json: Option<&str>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let request = match json {
            Some(json) => request
                .header("content-type", "application/json")
                .body(Body::from(json.to_owned()))
                .unwrap(),
            None => request.body(Body::empty()).unwrap(),
        };
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

/// GETs `path` (admin token) until its JSON satisfies `done`, within 10 s.
pub async fn poll_json(
    app: &Fixture,
    path: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    watchkeeper_testkit::poll_until(std::time::Duration::from_secs(10), path, || async {
        let body = app.request(Method::GET, path).await.json();
        done(&body).then_some(body)
    })
    .await
}
