//! Building a flush's notifications: one per notifier of the route, each
//! alert as a notification shows it (annotations rendered, links made), and
//! each delivery's id, derived so it is unique and the same on every
//! attempt.

use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};
use watchkeeper_domain::alert::group::Flush;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::route::Route;
use watchkeeper_domain::alert::rule::SEVERITY;

use super::{AlertInfo, Dispatcher, Group, Outgoing};
use crate::payload::{AlertMessage, AlertStatus, Notification};
use crate::template::AnnotationTemplate;

/// `msg_` and 26 hex digits of a hash of the group, the notifier and the
/// instant (a group flushes at most once per instant): unique, and known
/// before the first attempt, so every attempt carries the same
/// `webhook-id`.
pub fn delivery_id(group_key: &str, notifier: &str, at: Timestamp) -> String {
    message_id(&[
        group_key.as_bytes(),
        notifier.as_bytes(),
        &at.as_nanosecond().to_be_bytes(),
    ])
}

/// `msg_` and 26 hex digits of a hash of `parts`, a zero byte between
/// each two.
pub(super) fn message_id(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            hasher.update([0]);
        }
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut id = String::from("msg_");
    for byte in &digest[..13] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

pub(super) fn notifications(
    dispatcher: &Dispatcher,
    key: &str,
    group: &Group,
    route: &Route,
    flush: &Flush,
    now: Timestamp,
) -> Vec<Outgoing> {
    let config = &dispatcher.config;
    let message = |fingerprint: &String, status| {
        dispatcher
            .alerts
            .get(fingerprint)
            .map(|alert| alert_message(dispatcher, alert, status))
    };
    let firing: Vec<AlertMessage> = flush
        .firing
        .iter()
        .filter_map(|fingerprint| message(fingerprint, AlertStatus::Firing))
        .collect();
    let resolved: Vec<AlertMessage> = flush
        .resolved
        .iter()
        .filter_map(|fingerprint| message(fingerprint, AlertStatus::Resolved))
        .collect();
    route
        .notify
        .iter()
        .filter_map(|notifier| {
            let send_resolved = config
                .notifiers
                .iter()
                .find(|spec| spec.id.as_str() == notifier)
                .is_none_or(|spec| spec.send_resolved);
            let mut alerts = firing.clone();
            if send_resolved {
                alerts.extend(resolved.iter().cloned());
            }
            if alerts.is_empty() {
                return None;
            }
            let id = delivery_id(key, notifier, now);
            if let Some(links) = &dispatcher.links {
                for alert in &mut alerts {
                    alert.ack_url =
                        super::paging::ack_url(&config.external_url, links, alert, "", &id, now);
                }
            }
            Some(Outgoing {
                notifier: notifier.clone(),
                notification: Notification {
                    id,
                    receiver: notifier.clone(),
                    group_key: key.to_owned(),
                    group_labels: group.labels.clone(),
                    alerts,
                    external_url: config.external_url.clone(),
                    sent_at: now,
                    page: None,
                },
            })
        })
        .collect()
}

pub(super) fn alert_message(
    dispatcher: &Dispatcher,
    alert: &AlertInfo,
    status: AlertStatus,
) -> AlertMessage {
    let config = &dispatcher.config;
    let rule = config
        .rules
        .rules
        .iter()
        .find(|rule| rule.name == alert.rule && rule.monitors.contains(&alert.monitor));
    let severity = alert
        .labels
        .get(SEVERITY)
        .cloned()
        .or_else(|| rule.map(|rule| rule.severity.clone()))
        .unwrap_or_default();
    let runbook = rule.and_then(|rule| rule.runbook.clone());
    let annotations = rule.map_or_else(Labels::new, |rule| {
        render_annotations(&rule.annotations, alert, &severity, runbook.as_deref())
    });
    AlertMessage {
        fingerprint: alert.fingerprint.clone(),
        rule: alert.rule.clone(),
        status,
        severity,
        labels: alert.labels.clone(),
        annotations,
        monitors: vec![alert.monitor.to_string()],
        reason: alert.reason.clone(),
        runbook,
        starts_at: alert.fired_at.unwrap_or(Timestamp::UNIX_EPOCH),
        ends_at: match status {
            AlertStatus::Firing => None,
            AlertStatus::Resolved => alert.resolved_at,
        },
        url: format!(
            "{}/api/v1/alerts/{}",
            config.external_url.trim_end_matches('/'),
            alert.fingerprint
        ),
        ack_url: None,
    }
}

/// Renders a rule's annotations for one alert. The window statistics are
/// the engine's and are not in the outbox, so `stats` is empty here: an
/// annotation that reads it falls back to its source text, logged once per
/// render (docs/alerting.md says so).
fn render_annotations(
    sources: &Labels,
    alert: &AlertInfo,
    severity: &str,
    runbook: Option<&str>,
) -> Labels {
    let context = json!({
        "rule": alert.rule,
        "severity": severity,
        "labels": alert.labels,
        "monitor": alert.monitor.as_str(),
        "reason": alert.reason,
        "runbook": runbook,
        "stats": {},
    });
    sources
        .iter()
        .map(|(name, source)| {
            let rendered = AnnotationTemplate::compile_unchecked(source)
                .and_then(|template| template.render(&context))
                .unwrap_or_else(|error| {
                    tracing::warn!(
                        rule = %alert.rule,
                        annotation = %name,
                        error = %error,
                        "an annotation did not render; sending its source"
                    );
                    source.clone()
                });
            (name.clone(), rendered)
        })
        .collect()
}
