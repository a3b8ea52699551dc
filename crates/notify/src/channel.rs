//! The channels a notification is delivered over: [`http`] (webhook,
//! Slack, Discord, Teams, ntfy, PagerDuty), [`email`] (SMTP) and
//! [`command`] (a program, the event on its stdin). Each returns a
//! [`crate::retry::Outcome`] — a failing receiver is data, never an `Err` —
//! for the retry policy to decide on. [`deliver`] renders the message and
//! picks the channel. [`test_notification`] is what `watchkeeper notify
//! test` sends.

pub mod command;
pub mod email;
pub mod http;

use std::collections::BTreeMap;

use jiff::Timestamp;
use watchkeeper_domain::notifier::{Channel, NotifierSpec};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::dispatch::delivery_id;
use crate::payload::{AlertMessage, AlertStatus, Notification};
use crate::retry::Outcome;
use crate::template::MessageTemplates;

/// One attempt's outcome and the receiver's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    /// `HTTP 204`, or why there was no answer.
    pub summary: String,
    /// The start of the answer's body, when there was one.
    pub body: Option<String>,
}

impl Answer {
    /// An attempt's outcome with its words (a channel without a body to
    /// keep: email, command).
    pub fn of(outcome: Outcome) -> Answer {
        let summary = match &outcome {
            Outcome::Accepted { answer } => answer.clone(),
            Outcome::Rejected { reason } | Outcome::Failed { reason } => reason.clone(),
            Outcome::Answered { status, .. } => format!("HTTP {status}"),
        };
        Answer {
            outcome,
            summary,
            body: None,
        }
    }

    /// An attempt that failed before or without an answer.
    pub fn failed(reason: String) -> Answer {
        Answer {
            outcome: Outcome::Failed {
                reason: reason.clone(),
            },
            summary: reason,
            body: None,
        }
    }
}

/// Renders the notifier's message and sends `notification` over its
/// channel: one attempt.
pub async fn deliver(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    spec: &NotifierSpec,
    templates: &MessageTemplates,
    notification: &Notification,
    now: Timestamp,
) -> Answer {
    let message = match templates.render(notification) {
        Ok(message) => message,
        Err(error) => {
            return Answer::failed(format!("the message template did not render: {error}"));
        }
    };
    if let Some(answer) =
        http::send(client, policy, &spec.channel, notification, &message, now).await
    {
        return answer;
    }
    let outcome = match &spec.channel {
        Channel::Email(email) => {
            email::send(
                email,
                &message,
                notification,
                crate::outbox::ATTEMPT_TIMEOUT,
            )
            .await
        }
        // The event on stdin is the webhook payload, version 1.
        Channel::Command(command) => {
            command::run(
                command,
                notification,
                &crate::payload::webhook(notification),
            )
            .await
        }
        // Every HTTP channel was sent above.
        _ => Outcome::Rejected {
            reason: "this channel has no sender".to_owned(),
        },
    };
    Answer::of(outcome)
}

/// A firing test alert, `WatchkeeperTest` at severity P3, addressed to
/// `notifier`.
pub fn test_notification(notifier: &str, external_url: &str, now: Timestamp) -> Notification {
    let labels = BTreeMap::from([
        ("alertname".to_owned(), "WatchkeeperTest".to_owned()),
        ("severity".to_owned(), "P3".to_owned()),
    ]);
    let annotations = BTreeMap::from([(
        "summary".to_owned(),
        "A test notification from `watchkeeper notify test`; nothing is wrong".to_owned(),
    )]);
    Notification {
        id: delivery_id("test", notifier, now),
        receiver: notifier.to_owned(),
        group_key: "test".to_owned(),
        group_labels: BTreeMap::new(),
        alerts: vec![AlertMessage {
            fingerprint: "0000000000000000".to_owned(),
            rule: "WatchkeeperTest".to_owned(),
            status: AlertStatus::Firing,
            severity: "P3".to_owned(),
            labels,
            annotations,
            monitors: Vec::new(),
            reason: None,
            runbook: None,
            starts_at: now,
            ends_at: None,
            url: format!("{}/api/v1/alerts", external_url.trim_end_matches('/')),
            ack_url: None,
        }],
        external_url: external_url.to_owned(),
        sent_at: now,
        page: None,
    }
}
