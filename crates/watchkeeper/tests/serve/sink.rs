//! A webhook receiver on 127.0.0.1:0 for the notification tests: it records
//! every request (headers, body, when), answers from a script of statuses
//! (then 204), and can hang instead of answering.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use tokio::net::TcpListener;
use watchkeeper_testkit::poll_until;

use crate::support::DEADLINE;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub raw: Bytes,
    pub body: Value,
    /// What the sink answered (0: it hung).
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Script {
    /// Answered in order, then 204.
    statuses: Vec<u16>,
    hang: bool,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct WebhookSink {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

async fn receive(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    raw: Bytes,
) -> StatusCode {
    let (status, hang) = {
        let mut script = script.lock().unwrap();
        let hang = script.hang;
        let status = if hang {
            0
        } else if script.statuses.is_empty() {
            204
        } else {
            script.statuses.remove(0)
        };
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        script.received.push(Received {
            headers,
            raw,
            body,
            answered: status,
        });
        (status, hang)
    };
    if hang {
        // longer than any attempt's timeout
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT)
}

impl WebhookSink {
    pub async fn spawn() -> WebhookSink {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(script.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookSink { url, script }
    }

    /// The next requests are answered with `statuses`, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.script.lock().unwrap().statuses = statuses.to_vec();
    }

    pub fn hang(&self, hang: bool) {
        self.script.lock().unwrap().hang = hang;
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits until `count` requests have arrived; returns them all.
    pub async fn wait_for(&self, count: usize, what: &str) -> Vec<Received> {
        poll_until(DEADLINE * 2, what, || async {
            let received = self.received();
            (received.len() >= count).then_some(received)
        })
        .await
    }
}
