//! Test targets and spec builders: an axum server that can answer well,
//! fail, stall, redirect or send too much; raw TCP listeners for protocol
//! misbehaviour; and helpers that build specs and a prober on a fake clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use watchkeeper_domain::schedule::Schedule;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jiff::Timestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use watchkeeper_domain::condition::Condition;
use watchkeeper_domain::monitor::{HttpSpec, MonitorSpec, ProbeKind, ProbeSpec};
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_domain::{ManualClock, MonitorId};
use watchkeeper_runner::Prober;

pub const START: &str = "2026-03-01T12:00:00Z";

pub fn start_time() -> Timestamp {
    START.parse().unwrap()
}

pub fn prober() -> Prober {
    prober_with(TargetPolicy::default())
}

pub fn prober_with(policy: TargetPolicy) -> Prober {
    Prober::new(policy, Arc::new(ManualClock::new(start_time()))).unwrap()
}

pub fn http_spec(url: &str) -> HttpSpec {
    watchkeeper_testkit::http_probe(url)
}

pub fn conditions(kind: ProbeKind, sources: &[&str]) -> Vec<Condition> {
    sources
        .iter()
        .map(|source| Condition::compile(source, kind).unwrap())
        .collect()
}

pub fn monitor(probe: ProbeSpec, expect: &[&str], degraded_if: &[&str]) -> MonitorSpec {
    let kind = probe.kind();
    MonitorSpec {
        id: MonitorId::parse("api").unwrap(),
        name: "api".to_owned(),
        component: None,
        schedule: Schedule::Every(Duration::from_secs(30)),
        timeout: Duration::from_secs(5),
        probe,
        expect: conditions(kind, expect),
        degraded_if: conditions(kind, degraded_if),
    }
}

/// A running axum target and how many requests it has seen.
pub struct Target {
    pub address: SocketAddr,
    pub requests: Arc<AtomicUsize>,
}

impl Target {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct TargetState {
    requests: Arc<AtomicUsize>,
    health_body: &'static str,
}

/// The general-purpose target; `/health` answers `health_body` as JSON.
pub async fn spawn_target(health_body: &'static str) -> Target {
    let requests = Arc::new(AtomicUsize::new(0));
    let state = TargetState {
        requests: requests.clone(),
        health_body,
    };
    let router = Router::new()
        .route("/health", get(health))
        .route(
            "/fail",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route("/big", get(big_body))
        .route("/big-announced", get(big_announced_body))
        .route("/endless", get(endless_body))
        .route(
            "/invalid-utf8",
            get(|| async { vec![0xff_u8, 0xfe, b'o', b'k'] }),
        )
        .route(
            "/malformed-json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"status\": \"ok\"",
                )
            }),
        )
        .route("/redirect/{hops}", get(redirect))
        .route(
            "/redirect-to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route("/echo-header", get(echo_header))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count))
        .with_state(state);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Target { address, requests }
}

async fn count(
    State(state): State<TargetState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

async fn health(State(state): State<TargetState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.health_body,
    )
}

const TEN_MB: usize = 10 * 1024 * 1024;

/// 10 MB streamed in chunks, with no Content-Length.
async fn big_body() -> Response {
    let chunks = futures_stream(TEN_MB / 65536);
    Body::from_stream(chunks).into_response()
}

/// 10 MB with an honest Content-Length.
async fn big_announced_body() -> Vec<u8> {
    vec![b'x'; TEN_MB]
}

/// A body that never ends: only a reader that stops early can finish.
async fn endless_body() -> Response {
    Body::from_stream(futures_stream(usize::MAX)).into_response()
}

fn futures_stream(
    chunks: usize,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send {
    futures_util::stream::iter((0..chunks).map(|_| Ok(vec![b'x'; 65536])))
}

async fn redirect(Path(hops): Path<u32>) -> Response {
    if hops == 0 {
        "arrived".into_response()
    } else {
        Redirect::temporary(&format!("/redirect/{}", hops - 1)).into_response()
    }
}

async fn echo_header(headers: axum::http::HeaderMap) -> String {
    headers
        .get("x-token")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

/// A listener that accepts and then does nothing with the connection.
pub async fn spawn_silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// A listener that reads a little, answers `reply` and closes.
pub async fn spawn_replying(reply: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    address
}

/// An address where nothing listens: bound, then released.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}
