//! The demo's webhook receiver, for the quickstart: Watchkeeper's webhook
//! notifier posts to `POST /hooks/watchkeeper`, the demo checks the
//! Standard Webhooks signature with the crates.io `standardwebhooks` crate
//! (an implementation that is not Watchkeeper's own), prints one readable
//! line per notification and keeps the last [`KEPT`] for
//! `GET /hooks/watchkeeper`.
//!
//! - With a secret (`--receiver-secret whsec_…`): a signature that
//!   verifies is answered 204; one that does not (or none) is answered 401
//!   and kept too, marked as refused, so a wrong secret is easy to see.
//! - Without one: every notification is answered 204 and marked unsigned.
//!
//! The line reads `[demo receiver] alert.firing demo-down P2: <summary>
//! (verified)`; our webhook payload (`type`, `data.alerts`) and
//! Alertmanager's (`status`, `alerts[].labels`) are both understood.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;
use standardwebhooks::Webhook;

/// How many notifications `GET /hooks/watchkeeper` shows, newest last.
pub const KEPT: usize = 50;

/// The route's path.
pub const PATH: &str = "/hooks/watchkeeper";

/// The secret does not decode: it must be `whsec_` followed by base64.
#[derive(Debug, thiserror::Error)]
#[error("the receiver secret is not `whsec_` followed by base64: {0}")]
pub struct ReceiverSecretError(String);

/// Checks a receiver secret as [`crate::spawn`] will.
pub fn parse_receiver_secret(text: &str) -> Result<String, ReceiverSecretError> {
    Webhook::new(text).map_err(|error| ReceiverSecretError(error.to_string()))?;
    if text.trim_start_matches("whsec_").is_empty() {
        return Err(ReceiverSecretError("it is empty".to_owned()));
    }
    Ok(text.to_owned())
}

/// One notification as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Received {
    /// `verified`, `refused` (the signature did not verify) or `unsigned`
    /// (the receiver has no secret).
    pub signature: &'static str,
    /// Why a refused signature was refused.
    pub refused_because: Option<String>,
    pub webhook_id: Option<String>,
    /// The line printed for it.
    pub line: String,
    /// The body: parsed JSON, or its text when it is not JSON.
    pub body: Value,
}

pub(crate) struct Receiver {
    webhook: Option<Webhook>,
    /// The binary prints each line; tests keep their output quiet.
    print: bool,
    kept: Mutex<VecDeque<Received>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("signed", &self.webhook.is_some())
            .field("print", &self.print)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    pub(crate) fn new(secret: Option<&str>, print: bool) -> Result<Self, ReceiverSecretError> {
        let webhook = secret
            .map(|secret| {
                parse_receiver_secret(secret)?;
                Webhook::new(secret).map_err(|error| ReceiverSecretError(error.to_string()))
            })
            .transpose()?;
        Ok(Self {
            webhook,
            print,
            kept: Mutex::new(VecDeque::with_capacity(KEPT)),
        })
    }

    pub(crate) fn kept(&self) -> Vec<Received> {
        self.lock().iter().cloned().collect()
    }

    fn keep(&self, received: Received) {
        let mut kept = self.lock();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(received);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Received>> {
        // A panic while holding it cannot leave the list half-changed.
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `POST /hooks/watchkeeper`.
pub(crate) async fn receive(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (signature, refused_because) = match &receiver.webhook {
        None => ("unsigned", None),
        Some(webhook) => match webhook.verify(&body, &headers) {
            Ok(()) => ("verified", None),
            Err(error) => ("refused", Some(error.to_string())),
        },
    };
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let shown = match (&refused_because, signature) {
        (Some(why), _) => format!("NOT VERIFIED, refused: {why}"),
        (None, "unsigned") => "unsigned: the demo has no --receiver-secret".to_owned(),
        (None, _) => "verified".to_owned(),
    };
    let line = format!("[demo receiver] {} ({shown})", describe(&body));
    if receiver.print {
        println!("{line}");
    }
    tracing::debug!(line = %line, "demo receiver got a notification");
    let status = if refused_because.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::NO_CONTENT
    };
    receiver.keep(Received {
        signature,
        refused_because,
        webhook_id: headers
            .get("webhook-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        line,
        body,
    });
    status
}

/// `GET /hooks/watchkeeper`: the last [`KEPT`] notifications, oldest first.
pub(crate) async fn list(State(receiver): State<Arc<Receiver>>) -> Json<Vec<Received>> {
    Json(receiver.kept())
}

/// `alert.firing demo-down P2: the summary (+1 more)`, from our payload or
/// Alertmanager's; a page starts with `PAGE level 1 of POLICY to NAME: `,
/// and a firing alert's acknowledgement link ends it.
pub fn describe(body: &Value) -> String {
    let text = |value: &Value| value.as_str().unwrap_or("").to_owned();
    let (kind, alerts, ours) = if let Some(kind) = body.get("type").and_then(Value::as_str) {
        (kind.to_owned(), &body["data"]["alerts"], true)
    } else if let Some(status) = body.get("status").and_then(Value::as_str) {
        (format!("alertmanager {status}"), &body["alerts"], false)
    } else {
        return match body {
            Value::String(text) => format!("a body that is not JSON ({} bytes)", text.len()),
            _ => "a JSON body that is not a notification".to_owned(),
        };
    };
    let alerts = alerts.as_array().map(Vec::as_slice).unwrap_or_default();
    let Some(first) = alerts.first() else {
        return format!("{kind} with no alerts");
    };
    let (rule, severity) = if ours {
        (text(&first["rule"]), text(&first["severity"]))
    } else {
        (
            text(&first["labels"]["alertname"]),
            text(&first["labels"]["severity"]),
        )
    };
    let summary = [
        &first["annotations"]["summary"],
        &first["reason"],
        &first["annotations"]["description"],
    ]
    .into_iter()
    .find_map(Value::as_str)
    .unwrap_or("no summary");
    let more = match alerts.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    // A page says whom, at which level; a firing alert has its ack link.
    let page = &body["data"]["page"];
    let paging = if page.is_object() {
        let whom = page["person"]["name"]
            .as_str()
            .or_else(|| page["target"].as_str())
            .unwrap_or("?");
        format!(
            "PAGE level {} of {} to {whom}: ",
            page["level"],
            text(&page["policy"])
        )
    } else {
        String::new()
    };
    let ack = first["ack_url"]
        .as_str()
        .map(|url| format!("; acknowledge: {url}"))
        .unwrap_or_default();
    format!("{paging}{kind} {rule} {severity}: {summary}{more}{ack}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn describes_our_payload_and_alertmanagers() {
        let ours = json!({"type": "alert.firing", "data": {"alerts": [
            {"rule": "demo-down", "severity": "P2", "annotations": {"summary": "the demo API is down"}, "reason": "status == 200 was false"},
            {"rule": "demo-slow", "severity": "P3", "annotations": {}}
        ]}});
        assert_eq!(
            describe(&ours),
            "alert.firing demo-down P2: the demo API is down (+1 more)"
        );
        let no_summary = json!({"type": "alert.resolved", "data": {"alerts": [
            {"rule": "demo-down", "severity": "P2", "annotations": {}, "reason": "3 failures"}
        ]}});
        assert_eq!(
            describe(&no_summary),
            "alert.resolved demo-down P2: 3 failures"
        );
        let alertmanager = json!({"version": "4", "status": "firing", "alerts": [
            {"labels": {"alertname": "demo-down", "severity": "P2"}, "annotations": {"summary": "down"}}
        ]});
        assert_eq!(
            describe(&alertmanager),
            "alertmanager firing demo-down P2: down"
        );
        let page = json!({"type": "alert.firing", "data": {
            "page": {"policy": "quickstart", "level": 1, "target": "schedule:quickstart", "person": {"name": "You"}},
            "alerts": [{"rule": "MonitorDown", "severity": "P2", "annotations": {}, "reason": "status was 500",
                        "ack_url": "http://127.0.0.1:8686/ack/wk1.x.y"}]
        }});
        assert_eq!(
            describe(&page),
            "PAGE level 1 of quickstart to You: alert.firing MonitorDown P2: status was 500; acknowledge: http://127.0.0.1:8686/ack/wk1.x.y"
        );
        assert_eq!(
            describe(&Value::String("hello".into())),
            "a body that is not JSON (5 bytes)"
        );
        assert_eq!(
            describe(&json!([1])),
            "a JSON body that is not a notification"
        );
    }

    #[test]
    fn keeps_the_last_fifty() {
        let receiver = Receiver::new(None, false).unwrap();
        for n in 0..(KEPT + 3) {
            receiver.keep(Received {
                signature: "unsigned",
                refused_because: None,
                webhook_id: Some(format!("msg_{n}")),
                line: String::new(),
                body: Value::Null,
            });
        }
        let kept = receiver.kept();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0].webhook_id.as_deref(), Some("msg_3"));
        assert_eq!(
            kept[KEPT - 1].webhook_id.as_deref(),
            Some(format!("msg_{}", KEPT + 2).as_str())
        );
    }

    #[test]
    fn a_secret_must_be_base64() {
        assert!(parse_receiver_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert!(parse_receiver_secret("whsec_not base64!").is_err());
        assert!(parse_receiver_secret("whsec_").is_err());
    }
}
