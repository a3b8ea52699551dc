//! Tokens and roles on `/api/v1`: every route of the route table ×
//! every kind of credential × `public_read` off and on answers 2xx (or,
//! for a change an earlier credential made already, 409 or 404), 401 or
//! 403 as its access says (the matrix walks `API_ROUTES`, the same table
//! the router is built from, so a new route is in it the day it is added);
//! a revoked token is refused at once; a token's use is recorded; the
//! reload over the API is audited and the audit log is for admins.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use watchkeeper_domain::access::{Role, TokenName};
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::alert::matcher::Matcher;
use watchkeeper_domain::alert::silence::Silence;
use watchkeeper_domain::incident::{EntryKind, IncidentStatus};
use watchkeeper_incidents::plan::OpenerSettings;
use watchkeeper_store::{
    DispatchCommit, IncidentChange, NewDelivery, NewEntry, NewIncident, StoredIncident,
};
use watchkeeper_testkit::{monitor, poll_until, result};
use watchkeeper_web::api::overrides::Pending;
use watchkeeper_web::api::routes::API_ROUTES;
use watchkeeper_web::auth::Access;
use watchkeeper_web::{
    IncidentWriter, ReloadApplied, ReloadOutcome, SilenceWriter, SubscribeOutcome,
    SubscribeRequest, SubscriptionWriter,
};

use crate::alerts::change;
use crate::reload::reloading;
use crate::support::{Answer, Fixture, History, at, fixture, make_token};

/// The kinds of credential a request may present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presented {
    Nothing,
    /// `Basic …`: not a bearer token.
    NotBearer,
    /// `Bearer` and something that is not a Watchkeeper token.
    Malformed,
    /// A well-formed token the store does not know.
    Unknown,
    Revoked,
    Token(Role),
}

const PRESENTED: [Presented; 8] = [
    Presented::Nothing,
    Presented::NotBearer,
    Presented::Malformed,
    Presented::Unknown,
    Presented::Revoked,
    Presented::Token(Role::Viewer),
    Presented::Token(Role::Responder),
    Presented::Token(Role::Admin),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Success,
    Unauthorized,
    Forbidden,
}

/// What the API must answer, written out here, apart from the code that
/// decides it.
fn expected(access: Access, presented: Presented, public_read: bool) -> Expected {
    let needed = match access {
        Access::Read => Role::Viewer,
        Access::Role(role) => role,
    };
    match presented {
        Presented::Nothing if access == Access::Read && public_read => Expected::Success,
        Presented::Token(role) if role >= needed => Expected::Success,
        Presented::Token(_) => Expected::Forbidden,
        _ => Expected::Unauthorized,
    }
}

/// A fixture with one monitor and one firing alert (so every route has
/// something to answer), a reloader, and a token per role plus a revoked
/// one.
struct Matrix {
    app: Fixture,
    headers: HashMap<String, String>,
    /// A value for each `{param}` of the table's paths.
    params: HashMap<&'static str, String>,
}

async fn matrix(public_read: bool) -> Matrix {
    let fired = change("MonitorDown", "api", Transition::Fired, 5);
    let app = fixture(
        vec![monitor("api").build()],
        History {
            results: vec![result("api", at(5)).down("connection refused").build()],
            alerts: vec![fired.clone()],
            ..History::default()
        },
    )
    .await;
    let state = reloading(ReloadOutcome::Applied(ReloadApplied::default()))
        .await
        .state
        .reloader
        .clone()
        .map(|reloader| app.state.clone().with_reloader(reloader))
        .unwrap()
        .with_public_read(public_read)
        .with_silences(std::sync::Arc::new(StoreSilences(app.store.clone())))
        .with_incidents(
            std::sync::Arc::new(StoreIncidents(app.store.clone())),
            tokio::sync::watch::channel(std::sync::Arc::new(OpenerSettings::without_config())).1,
        )
        .with_subscriptions(std::sync::Arc::new(StoreSubscribers(app.store.clone())));
    let state = crate::oncall::with_oncall(state, &app.store, app.control.external_results());
    let app = app.with_state(state);
    let mut headers = HashMap::new();
    for role in Role::ALL {
        let token = make_token(&app.store, &format!("{role}-token"), role).await;
        headers.insert(format!("{role:?}"), format!("Bearer {token}"));
    }
    let revoked = make_token(&app.store, "revoked-token", Role::Admin).await;
    app.store
        .revoke_token(&TokenName::parse("revoked-token").unwrap(), at(1))
        .await
        .unwrap();
    headers.insert("revoked".into(), format!("Bearer {revoked}"));
    // something for the outbox and silence routes to answer about
    app.store
        .commit_dispatch(&DispatchCommit {
            cursor: 0,
            deliveries: vec![NewDelivery {
                id: "msg_example".to_owned(),
                notifier: "hook".to_owned(),
                group_key: "0{}".to_owned(),
                kind: "alert.firing".to_owned(),
                created_at: at(6),
                notification: "{}".to_owned(),
            }],
            ..DispatchCommit::default()
        })
        .await
        .unwrap();
    let silence = Silence {
        id: "sil_example".to_owned(),
        matchers: vec![Matcher::parse("monitor=api").unwrap()],
        starts_at: at(0),
        ends_at: at(0) + Duration::from_secs(365 * 24 * 3600 * 100),
        created_by: "matrix".to_owned(),
        comment: "an example".to_owned(),
    };
    app.store.add_silence(&silence, at(0)).await.unwrap();
    let swap = app
        .store
        .add_override(&watchkeeper_store::NewOverride {
            schedule: "primary".to_owned(),
            person: "alice".to_owned(),
            start: "2030-01-01T00:00:00Z".parse().unwrap(),
            end: "2030-01-02T00:00:00Z".parse().unwrap(),
            author: "matrix".to_owned(),
            comment: String::new(),
            created_at: at(0),
        })
        .await
        .unwrap()
        .unwrap();
    let incident = app
        .store
        .open_incident(&NewIncident {
            title: "An example".to_owned(),
            severity: "P2".to_owned(),
            status: IncidentStatus::Investigating,
            components: Default::default(),
            commander: None,
            opened_by_alert: false,
            started_at: at(1),
            created_at: at(1),
            next_update_at: None,
            alerts: Vec::new(),
            entries: vec![NewEntry::new(at(1), EntryKind::Opened)],
        })
        .await
        .unwrap();
    let (subscriber, _) = app
        .store
        .add_subscriber(&watchkeeper_store::NewSubscriber {
            kind: "email".to_owned(),
            address: "ann@example.com".to_owned(),
            at: at(1),
            confirmed: true,
        })
        .await
        .unwrap();
    let params = HashMap::from([
        ("subscriber", subscriber.id.to_string()),
        ("id", "api".to_owned()),
        ("file", "primary.ics".to_owned()),
        ("schedule", "primary".to_owned()),
        ("override", swap.id.to_string()),
        ("fingerprint", fired.fingerprint),
        ("delivery", "msg_example".to_owned()),
        ("silence", "sil_example".to_owned()),
        ("incident", incident.to_string()),
    ]);
    Matrix {
        app,
        headers,
        params,
    }
}

impl Matrix {
    fn header(&self, presented: Presented) -> Option<String> {
        match presented {
            Presented::Nothing => None,
            Presented::NotBearer => Some("Basic YWRtaW46YWRtaW4=".to_owned()),
            Presented::Malformed => Some("Bearer hunter2".to_owned()),
            Presented::Unknown => Some(format!("Bearer wk_{}", "Q".repeat(43))),
            Presented::Revoked => Some(self.headers["revoked"].clone()),
            Presented::Token(role) => Some(self.headers[&format!("{role:?}")].clone()),
        }
    }

    /// `path` with each `{param}` filled in.
    fn example(&self, path: &str) -> String {
        let mut filled = path.to_owned();
        while let Some(start) = filled.find('{') {
            let end = filled[start..].find('}').unwrap() + start;
            let name = &filled[start + 1..end];
            let value = self.params.get(name).unwrap_or_else(|| {
                panic!("no example value for `{{{name}}}` in {path}: add one to the matrix")
            });
            filled.replace_range(start..=end, value);
        }
        filled
    }
}

/// A body each route that takes one accepts.
fn example_body(method: &Method, path: &str) -> Option<&'static str> {
    match (method.as_str(), path) {
        ("POST", "/silences") => {
            Some(r#"{"matchers": ["monitor=api"], "duration": "1h", "comment": "matrix"}"#)
        }
        ("POST", "/schedules/{schedule}/overrides") => {
            Some(r#"{"person": "bob", "start": "2031-01-01T00:00:00Z", "duration": "1h"}"#)
        }
        ("POST", "/incidents") => Some(r#"{"title": "Matrix", "severity": "P2"}"#),
        ("POST", "/incidents/{incident}/updates") => Some(r#"{"message": "Still looking."}"#),
        _ => None,
    }
}

/// Silences written straight to the fixture's store.
struct StoreSilences(watchkeeper_store::Store);

impl SilenceWriter for StoreSilences {
    fn add(
        &self,
        silence: Silence,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            self.0
                .add_silence(&silence, at(7))
                .await
                .map_err(|error| error.to_string())
        })
    }

    fn expire(
        &self,
        id: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<bool, String>> + Send + '_>>
    {
        Box::pin(async move {
            self.0
                .expire_silence(&id, at(8))
                .await
                .map_err(|error| error.to_string())
        })
    }
}

/// Subscribers removed straight from the fixture's store (the public
/// routes that add them are not in the matrix).
struct StoreSubscribers(watchkeeper_store::Store);

impl SubscriptionWriter for StoreSubscribers {
    fn subscribe(&self, _: SubscribeRequest) -> Pending<'_, SubscribeOutcome> {
        Box::pin(async { Err("not in the matrix".to_owned()) })
    }

    fn confirm(&self, _: String) -> Pending<'_, SubscribeOutcome> {
        Box::pin(async { Err("not in the matrix".to_owned()) })
    }

    fn unsubscribe(&self, _: String) -> Pending<'_, SubscribeOutcome> {
        Box::pin(async { Err("not in the matrix".to_owned()) })
    }

    fn remove(&self, id: i64) -> Pending<'_, bool> {
        Box::pin(async move {
            self.0
                .remove_subscriber(id, None)
                .await
                .map_err(|error| error.to_string())
        })
    }
}

/// Incidents written straight to the fixture's store.
struct StoreIncidents(watchkeeper_store::Store);

impl IncidentWriter for StoreIncidents {
    fn open(&self, incident: NewIncident) -> Pending<'_, i64> {
        Box::pin(async move {
            self.0
                .open_incident(&incident)
                .await
                .map_err(|error| error.to_string())
        })
    }

    fn change(&self, change: IncidentChange) -> Pending<'_, Option<StoredIncident>> {
        Box::pin(async move {
            self.0
                .change_incident(&change)
                .await
                .map_err(|error| error.to_string())
        })
    }
}

fn check(answer: &Answer, expected: Expected, what: &str, change: bool) {
    match expected {
        // Let in: a change made once by an earlier credential may answer
        // that it is done (409 conflict, 404 for one removed), never 401
        // or 403, never a server error.
        Expected::Success => assert!(
            answer.status.is_success() || change && (answer.status == 409 || answer.status == 404),
            "{what}: {} {}",
            answer.status,
            answer.text()
        ),
        Expected::Unauthorized => {
            assert_eq!(answer.status, 401, "{what}: {}", answer.text());
            assert_eq!(answer.error().0, "unauthorized", "{what}");
            let challenge = answer
                .headers
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap());
            assert_eq!(challenge, Some("Bearer realm=\"watchkeeper\""), "{what}");
        }
        Expected::Forbidden => {
            assert_eq!(answer.status, 403, "{what}: {}", answer.text());
            assert_eq!(answer.error().0, "forbidden", "{what}");
            assert!(answer.headers.get("www-authenticate").is_none(), "{what}");
        }
    }
}

#[tokio::test]
async fn every_api_route_answers_every_credential_as_its_access_says() {
    let mut checked = 0;
    for public_read in [false, true] {
        let matrix = matrix(public_read).await;
        for route in API_ROUTES {
            let path = format!("/api/v1{}", matrix.example(route.path));
            for presented in PRESENTED {
                let header = matrix.header(presented);
                let answer = matrix
                    .app
                    .request_with_body(
                        route.method.clone(),
                        &path,
                        header.as_deref(),
                        example_body(&route.method, route.path),
                    )
                    .await;
                let what = format!(
                    "{} {path} with {presented:?}, public_read = {public_read}",
                    route.method
                );
                check(
                    &answer,
                    expected(route.access, presented, public_read),
                    &what,
                    route.method != Method::GET,
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, API_ROUTES.len() * PRESENTED.len() * 2);
}

#[test]
fn the_route_table_lists_each_route_once_and_every_change_names_a_role() {
    let mut seen = std::collections::HashSet::new();
    for route in API_ROUTES {
        assert!(
            seen.insert((route.method.clone(), route.path)),
            "{} {} twice",
            route.method,
            route.path
        );
        if route.method != Method::GET {
            assert!(
                matches!(route.access, Access::Role(_)),
                "{} {} changes something: it must name the role it needs",
                route.method,
                route.path
            );
        }
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_its_next_request() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    let token = format!(
        "Bearer {}",
        make_token(&app.store, "ci-bot", Role::Viewer).await
    );
    let answer = app
        .request_as(Method::GET, "/api/v1/monitors", Some(&token))
        .await;
    assert_eq!(answer.status, 200);
    app.store
        .revoke_token(&TokenName::parse("ci-bot").unwrap(), at(0))
        .await
        .unwrap();
    let answer = app
        .request_as(Method::GET, "/api/v1/monitors", Some(&token))
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.error(),
        (
            "unauthorized".to_owned(),
            "this token has been revoked".to_owned()
        )
    );
}

#[tokio::test]
async fn a_tokens_use_is_recorded_and_the_header_is_never_echoed() {
    let app = fixture(vec![monitor("api").build()], History::default()).await;
    let token = make_token(&app.store, "ci-bot", Role::Viewer).await;
    let answer = app
        .request_as(
            Method::GET,
            "/api/v1/monitors",
            Some(&format!("bearer {token}")),
        )
        .await;
    assert_eq!(answer.status, 200, "the scheme is case-insensitive");
    let used = poll_until(
        Duration::from_secs(5),
        "the token's use to be recorded",
        || async {
            let tokens = app.store.tokens().await.unwrap();
            tokens
                .into_iter()
                .find(|t| t.name.as_str() == "ci-bot")
                .and_then(|t| t.last_used_at)
        },
    )
    .await;
    // The fixture's manual clock.
    assert_eq!(used, crate::support::now());

    let answer = app
        .request_as(
            Method::GET,
            "/api/v1/monitors",
            Some("Bearer wk_secret-looking-text"),
        )
        .await;
    assert_eq!(answer.status, 401);
    let (_, message) = answer.error();
    assert_eq!(
        message,
        "this is not a Watchkeeper token (`wk_` and 43 characters)"
    );
    assert!(
        !answer.text().contains("secret-looking"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn a_reload_over_the_api_is_audited_and_the_audit_log_is_for_admins() {
    let app = reloading(ReloadOutcome::Applied(ReloadApplied {
        added: vec!["new".into()],
        unchanged: 2,
        ..ReloadApplied::default()
    }))
    .await;
    let viewer = format!(
        "Bearer {}",
        make_token(&app.store, "viewer", Role::Viewer).await
    );
    let refused = app
        .request_as(Method::POST, "/api/v1/reload", Some(&viewer))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.error().1,
        "this needs a token with the admin role; this one is viewer"
    );
    let answer = app.request(Method::POST, "/api/v1/reload").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["added"], serde_json::json!(["new"]));

    let log = app.get("/api/v1/audit").await;
    assert_eq!(log.status, 200, "{}", log.text());
    let body = log.json();
    let entries = body["entries"].as_array().unwrap();
    // The refused attempt changed nothing and is not an entry.
    assert_eq!(entries.len(), 1, "{body}");
    let entry = &entries[0];
    assert_eq!(entry["actor"], "test-admin");
    assert_eq!(entry["role"], "admin");
    assert_eq!(entry["action"], "config.reload");
    assert_eq!(entry["target"], "-");
    assert_eq!(entry["at"], "2026-03-01T12:00:00.000Z");
    assert_eq!(
        entry["detail"],
        serde_json::json!({
            "outcome": "applied", "added": ["new"], "removed": [], "changed": [],
            "restart_required": []
        })
    );
    // In process, there is no connection to take an address from.
    assert_eq!(entry["remote"], serde_json::Value::Null);
    assert_eq!(body["next_before"], serde_json::Value::Null);

    // A viewer may not read it.
    let answer = app
        .request_as(Method::GET, "/api/v1/audit", Some(&viewer))
        .await;
    assert_eq!(answer.status, 403);
}

#[tokio::test]
async fn the_audit_log_pages_by_id_and_names_a_bad_limit() {
    let app = reloading(ReloadOutcome::Rejected {
        errors: vec!["watchkeeper.toml:1:1: nope".into()],
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.request(Method::POST, "/api/v1/reload").await.status,
            400
        );
    }
    let first = app.get("/api/v1/audit?limit=2").await.json();
    let ids: Vec<i64> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids[0] > ids[1]);
    assert_eq!(
        first["entries"][0]["detail"],
        serde_json::json!({"outcome": "rejected", "errors": 1})
    );
    assert_eq!(first["next_before"], ids[1]);
    let rest = app
        .get(&format!("/api/v1/audit?limit=2&before={}", ids[1]))
        .await
        .json();
    assert_eq!(rest["entries"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_before"], serde_json::Value::Null);

    for (query, field) in [
        ("limit=0", "`limit`"),
        ("limit=5000", "`limit`"),
        ("limit=many", "limit"),
    ] {
        let answer = app.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(answer.status, 400, "{query}");
        let (code, message) = answer.error();
        assert_eq!(code, "bad_request", "{query}");
        assert!(message.contains(field), "{query}: {message}");
    }
}
