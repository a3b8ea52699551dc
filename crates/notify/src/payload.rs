//! What each channel is sent, built from one [`Notification`] (a route
//! group's flush: the alerts firing and resolved since the last one) and
//! its rendered [`Message`]. Pure: a function of its inputs, so every
//! payload's shape is fixed by a test here, and docs/alerting.md documents
//! the same shapes.
//!
//! - [`webhook`]: our own versioned JSON (`"version": "1"`), sent with
//!   Standard Webhooks headers; `type` is `alert.firing` while any alert
//!   of the group fires, else `alert.resolved`.
//! - [`alertmanager`]: Alertmanager's webhook payload, version 4, field
//!   for field, so receivers written for Alertmanager work unchanged.
//! - [`slack`], [`discord`], [`teams`], [`ntfy`]: each service's incoming
//!   webhook format, coloured by severity.
//! - [`pagerduty`]: Events API v2, one event per alert (trigger or
//!   resolve) with the alert's fingerprint as `dedup_key`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert as a notification shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertMessage {
    pub fingerprint: String,
    /// The rule's id (Alertmanager's `alertname` label).
    pub rule: String,
    pub status: AlertStatus,
    pub severity: String,
    pub labels: Labels,
    /// Rendered: `summary`, `description`, and any others the rule has.
    pub annotations: Labels,
    pub monitors: Vec<String>,
    /// The failed condition with its values, when there is one.
    pub reason: Option<String>,
    pub runbook: Option<String>,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    /// This alert in Watchkeeper's API.
    pub url: String,
    /// Opening it offers to acknowledge this firing (`/ack/{link}`); for a
    /// firing alert when the server signs links.
    #[serde(default)]
    pub ack_url: Option<String>,
}

/// Whom an escalation level pages, when a notification is a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageInfo {
    pub policy: String,
    /// From 1, as people count levels.
    pub level: u32,
    /// From 1: the first climb of the ladder is round 1.
    pub round: u32,
    /// As written in config: `schedule:primary`, `person:carol`, a notifier.
    pub target: String,
    pub person: Option<PagedPerson>,
    /// Not an escalation level but a reminder to an incident's commander
    /// that a promised update is overdue (`policy` names the incident,
    /// `level` and `round` are 1).
    #[serde(default)]
    pub reminder: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagedPerson {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub slack: Option<String>,
}

/// One flush of one route group, to one notifier. Stored in the outbox as
/// its serde JSON (not a wire format: only this crate reads it back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The delivery's id: `webhook-id`, the same on every attempt.
    pub id: String,
    /// The notifier's id.
    pub receiver: String,
    pub group_key: String,
    pub group_labels: Labels,
    pub alerts: Vec<AlertMessage>,
    /// Where Watchkeeper is reached (`[server] external_url`).
    pub external_url: String,
    pub sent_at: Timestamp,
    /// Set when this is an escalation level's page rather than a route
    /// group's notification.
    #[serde(default)]
    pub page: Option<PageInfo>,
}

impl Notification {
    pub fn firing(&self) -> impl Iterator<Item = &AlertMessage> {
        self.alerts
            .iter()
            .filter(|alert| alert.status == AlertStatus::Firing)
    }

    /// Firing while any alert fires, as Alertmanager decides a group's
    /// status.
    pub fn status(&self) -> AlertStatus {
        if self.firing().next().is_some() {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        }
    }

    /// The labels every alert shares, with equal values.
    pub fn common_labels(&self) -> Labels {
        common(self.alerts.iter().map(|alert| &alert.labels))
    }

    pub fn common_annotations(&self) -> Labels {
        common(self.alerts.iter().map(|alert| &alert.annotations))
    }

    /// The most urgent severity among the firing alerts (the seeds' P0
    /// before P3; names sort that way), or among all when none fires.
    pub fn severity(&self) -> &str {
        self.firing()
            .map(|alert| alert.severity.as_str())
            .min()
            .or_else(|| {
                self.alerts
                    .iter()
                    .map(|alert| alert.severity.as_str())
                    .min()
            })
            .unwrap_or("")
    }
}

fn common<'a>(mut sets: impl Iterator<Item = &'a Labels>) -> Labels {
    let Some(first) = sets.next() else {
        return Labels::new();
    };
    let mut shared = first.clone();
    for set in sets {
        shared.retain(|key, value| set.get(key) == Some(value));
    }
    shared
}

/// The text a person reads, rendered from the notifier's templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub text: String,
}

fn time(at: Timestamp) -> String {
    format!("{at:.3}")
}

/// Our webhook payload, version 1.
pub fn webhook(notification: &Notification) -> Value {
    let status = notification.status();
    json!({
        "type": format!("alert.{}", status.as_str()),
        "timestamp": time(notification.sent_at),
        "data": {
            "version": "1",
            "status": status.as_str(),
            "receiver": notification.receiver,
            "group_key": notification.group_key,
            "group_labels": notification.group_labels,
            "common_labels": notification.common_labels(),
            "external_url": notification.external_url,
            "page": notification.page,
            "alerts": notification.alerts.iter().map(|alert| json!({
                "fingerprint": alert.fingerprint,
                "rule": alert.rule,
                "status": alert.status.as_str(),
                "severity": alert.severity,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "monitors": alert.monitors,
                "reason": alert.reason,
                "runbook": alert.runbook,
                "starts_at": time(alert.starts_at),
                "ends_at": alert.ends_at.map(time),
                "url": alert.url,
                "ack_url": alert.ack_url,
            })).collect::<Vec<_>>(),
        },
    })
}

/// Alertmanager's "zero" time, which its payload gives a firing alert's
/// `endsAt`.
const ALERTMANAGER_NO_END: &str = "0001-01-01T00:00:00Z";

/// Alertmanager's webhook payload, version 4.
pub fn alertmanager(notification: &Notification) -> Value {
    json!({
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status().as_str(),
        "receiver": notification.receiver,
        "groupLabels": notification.group_labels,
        "commonLabels": notification.common_labels(),
        "commonAnnotations": notification.common_annotations(),
        "externalURL": notification.external_url,
        "alerts": notification.alerts.iter().map(|alert| {
            let mut labels = alert.labels.clone();
            labels.entry("alertname".to_owned()).or_insert_with(|| alert.rule.clone());
            labels.entry("severity".to_owned()).or_insert_with(|| alert.severity.clone());
            json!({
                "status": alert.status.as_str(),
                "labels": labels,
                "annotations": alert.annotations,
                "startsAt": time(alert.starts_at),
                "endsAt": alert.ends_at.map_or_else(|| ALERTMANAGER_NO_END.to_owned(), time),
                "generatorURL": alert.url,
                "fingerprint": alert.fingerprint,
            })
        }).collect::<Vec<_>>(),
    })
}

/// The colour of a notification: green once resolved, else by severity.
pub fn colour(notification: &Notification) -> &'static str {
    if notification.status() == AlertStatus::Resolved {
        return "#2eb886";
    }
    match notification.severity() {
        "P0" | "P1" => "#d62c2c",
        "P2" => "#e8912d",
        _ => "#3b7dd8",
    }
}

fn colour_number(notification: &Notification) -> u32 {
    u32::from_str_radix(colour(notification).trim_start_matches('#'), 16).unwrap_or(0)
}

/// Slack incoming webhook: one attachment coloured by severity.
pub fn slack(notification: &Notification, message: &Message) -> Value {
    // A page to a person with a Slack id mentions them, so Slack notifies them.
    let mention = notification
        .page
        .as_ref()
        .and_then(|page| page.person.as_ref())
        .and_then(|person| person.slack.as_deref())
        .map(|id| format!("<@{id}> "))
        .unwrap_or_default();
    json!({
        "text": format!("{mention}{}", message.title),
        "attachments": [{
            "color": colour(notification),
            "title": message.title,
            "text": message.text,
            "fields": summary_fields(notification),
            "ts": notification.sent_at.as_second(),
        }],
    })
}

fn summary_fields(notification: &Notification) -> Vec<Value> {
    let monitors: Vec<&str> = notification
        .alerts
        .iter()
        .flat_map(|alert| alert.monitors.iter().map(String::as_str))
        .collect();
    vec![
        json!({"title": "Severity", "value": notification.severity(), "short": true}),
        json!({"title": "Monitors", "value": monitors.join(", "), "short": true}),
    ]
}

/// Discord webhook: the title as content and one embed.
pub fn discord(notification: &Notification, message: &Message) -> Value {
    json!({
        "content": message.title,
        "embeds": [{
            "title": message.title,
            "description": message.text,
            "color": colour_number(notification),
            "timestamp": time(notification.sent_at),
        }],
    })
}

/// Microsoft Teams workflow webhook ("Post to a channel when a webhook
/// request is received"): a message with one Adaptive Card.
pub fn teams(notification: &Notification, message: &Message) -> Value {
    let emphasis = if notification.status() == AlertStatus::Resolved {
        "good"
    } else {
        "attention"
    };
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": message.title, "weight": "Bolder", "size": "Medium", "color": emphasis, "wrap": true},
                    {"type": "TextBlock", "text": message.text, "wrap": true},
                ],
            },
        }],
    })
}

/// ntfy's JSON publish body: `topic` from the notifier's config, priority
/// 5 (max) for P0 down to 2 (low) for P3, 1 once resolved.
pub fn ntfy(notification: &Notification, message: &Message, topic: &str) -> Value {
    let priority = if notification.status() == AlertStatus::Resolved {
        1
    } else {
        match notification.severity() {
            "P0" => 5,
            "P1" => 4,
            "P2" => 3,
            _ => 2,
        }
    };
    let tag = if notification.status() == AlertStatus::Resolved {
        "white_check_mark"
    } else {
        "rotating_light"
    };
    json!({
        "topic": topic,
        "title": message.title,
        "message": message.text,
        "priority": priority,
        "tags": [tag],
    })
}

/// PagerDuty Events API v2: one event per alert of the notification.
pub fn pagerduty(notification: &Notification, routing_key: &str) -> Vec<Value> {
    notification
        .alerts
        .iter()
        .map(|alert| match alert.status {
            AlertStatus::Resolved => json!({
                "routing_key": routing_key,
                "event_action": "resolve",
                "dedup_key": alert.fingerprint,
            }),
            AlertStatus::Firing => json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": alert.fingerprint,
                "payload": {
                    "summary": alert.annotations.get("summary").cloned()
                        .unwrap_or_else(|| format!("{} is firing", alert.rule)),
                    "source": alert.monitors.first().cloned().unwrap_or_else(|| alert.rule.clone()),
                    "severity": pagerduty_severity(&alert.severity),
                    "timestamp": time(alert.starts_at),
                    "custom_details": {
                        "labels": alert.labels,
                        "reason": alert.reason,
                        "monitors": alert.monitors,
                    },
                },
                "links": [{"href": alert.url, "text": "Alert in Watchkeeper"}],
            }),
        })
        .collect()
}

/// The seeds' severities on PagerDuty's four.
pub fn pagerduty_severity(severity: &str) -> &'static str {
    match severity {
        "P0" => "critical",
        "P1" => "error",
        "P2" => "warning",
        _ => "info",
    }
}

#[cfg(test)]
mod tests;
