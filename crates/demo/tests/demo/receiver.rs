//! The webhook receiver: a body signed by Watchkeeper's own signing
//! (`notify::signature`) verifies with the `standardwebhooks` crate and is
//! answered 204; a wrong or missing signature is 401; without a secret
//! everything is taken unsigned; the last notifications are listed; the
//! binary prints one line per notification.

use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::Command;
use watchkeeper_demo::{DemoConfig, DemoHandle, RECEIVER_KEPT, spawn};
use watchkeeper_notify::signature::SigningSecret;

use crate::client;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==";

/// The receiver checks timestamps against its own wall clock.
#[allow(clippy::disallowed_methods)] // the receiver under test reads the wall clock too
fn receivers_now() -> Timestamp {
    Timestamp::now()
}

async fn start_receiver(secret: Option<&str>) -> DemoHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn(
        listener,
        DemoConfig {
            receiver_secret: secret.map(str::to_owned),
            ..DemoConfig::default()
        },
    )
    .await
    .unwrap()
}

fn firing() -> Value {
    json!({
        "type": "alert.firing",
        "timestamp": "2026-05-01T12:30:00.000Z",
        "data": {"version": "1", "status": "firing", "alerts": [{
            "rule": "demo-down", "severity": "P2", "status": "firing",
            "annotations": {"summary": "the demo API failed 3 checks — in a row"},
        }]},
    })
}

/// POSTs `body` signed with `secret` (unsigned when `None`); the status.
async fn post(url: &str, secret: Option<&str>, id: &str, body: &Value) -> u16 {
    let body = body.to_string();
    let mut request = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone());
    if let Some(secret) = secret {
        let now = receivers_now();
        let signature = SigningSecret::parse(secret)
            .unwrap()
            .sign(id, now, body.as_bytes());
        request = request
            .header("webhook-id", id)
            .header("webhook-timestamp", now.as_second().to_string())
            .header("webhook-signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn our_signature_verifies_and_the_notification_is_kept() {
    let demo = start_receiver(Some(SECRET)).await;
    let url = demo.url("/hooks/watchkeeper");
    assert_eq!(post(&url, Some(SECRET), "msg_1", &firing()).await, 204);

    let kept = demo.received();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].signature, "verified");
    assert_eq!(kept[0].webhook_id.as_deref(), Some("msg_1"));
    assert_eq!(
        kept[0].line,
        "[demo receiver] alert.firing demo-down P2: the demo API failed 3 checks — in a row (verified)"
    );
    // The same over HTTP.
    let listed: Value = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["signature"], "verified");
    assert_eq!(listed[0]["body"], firing());
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_401_and_kept_as_refused() {
    let demo = start_receiver(Some(SECRET)).await;
    let url = demo.url("/hooks/watchkeeper");
    assert_eq!(
        post(&url, Some(OTHER_SECRET), "msg_2", &firing()).await,
        401
    );
    assert_eq!(post(&url, None, "msg_3", &firing()).await, 401);

    let kept = demo.received();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|received| received.signature == "refused"));
    assert_eq!(
        kept[0].refused_because.as_deref(),
        Some("signature invalid")
    );
    assert!(
        kept[1]
            .line
            .ends_with("(NOT VERIFIED, refused: missing header id)"),
        "{}",
        kept[1].line
    );
}

#[tokio::test]
async fn without_a_secret_notifications_are_taken_unsigned_and_the_last_50_kept() {
    let demo = start_receiver(None).await;
    let url = demo.url("/hooks/watchkeeper");
    for n in 0..(RECEIVER_KEPT + 2) {
        assert_eq!(
            post(&url, Some(SECRET), &format!("msg_{n}"), &firing()).await,
            204
        );
    }
    let listed: Vec<Value> = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), RECEIVER_KEPT);
    assert_eq!(listed[0]["webhook_id"], "msg_2");
    assert_eq!(
        listed[RECEIVER_KEPT - 1]["webhook_id"],
        format!("msg_{}", RECEIVER_KEPT + 1)
    );
    assert!(
        listed
            .iter()
            .all(|received| received["signature"] == "unsigned")
    );
}

#[tokio::test]
async fn a_secret_that_is_not_base64_is_refused_at_start() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = spawn(
        listener,
        DemoConfig {
            receiver_secret: Some("whsec_not base64!".into()),
            ..DemoConfig::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn the_binary_prints_one_line_per_notification() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchkeeper-demo"))
        .args(["--listen", "127.0.0.1:0", "--receiver-secret", SECRET])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let receiver = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("receiver=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the binary exited without saying where its receiver is");
    })
    .await
    .expect("the binary did not log its receiver in time");

    assert_eq!(
        post(&receiver, Some(SECRET), "msg_cli", &firing()).await,
        204
    );
    let printed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("[demo receiver]") {
                return line;
            }
        }
        panic!("the binary exited without printing the notification");
    })
    .await
    .expect("the binary did not print the notification in time");
    assert_eq!(
        printed,
        "[demo receiver] alert.firing demo-down P2: the demo API failed 3 checks — in a row (verified)"
    );
}
