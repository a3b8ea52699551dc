//! Reminders to an incident's commander: when a promised update passes
//! without one, the incidents' opener writes a `reminder` entry on the
//! timeline; here it becomes a page to the commander — when the commander
//! is a `[[person]]` — through each of their `contact` notifiers, with the
//! notifiers' own templates and channels. The page is marked
//! [`PageInfo::reminder`], so the default text says "Reminder for Alice,
//! who leads incident #42" rather than naming an escalation level, and its
//! one alert is `IncidentUpdateOverdue` at the incident's severity.
//!
//! Like subscriber messages these are deliveries in the outbox, under the
//! reserved notifier [`REMINDERS`], made with the same cursor over the
//! timeline, so a reminder is sent once; one planned more than
//! [`STALE_AFTER`] after it was written is not sent at all.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use watchkeeper_domain::id::NotifierId;
use watchkeeper_store::{NewDelivery, StoredEntry, StoredIncident};

use super::SubscriptionConfig;
use crate::payload::{AlertMessage, AlertStatus, Notification, PageInfo, PagedPerson};

/// The outbox's notifier for reminders (sent through the commander's own
/// notifiers).
pub const REMINDERS: &str = "@reminders";
/// The rule a reminder's alert is named after.
pub const RULE: &str = "IncidentUpdateOverdue";

/// A reminder older than this when it is planned pages nobody: the
/// timeline before a store first ran this version (whose cursor starts at
/// the beginning), or a server down for longer, must not page a commander
/// for promises long past. The timeline entry stays.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_hours(1);

/// Whether `entry` is too old at `now` to page anyone.
pub fn stale(entry: &StoredEntry, now: Timestamp) -> bool {
    now.duration_since(entry.at) > STALE_AFTER
}

/// A commander who can be reached: a `[[person]]` with their contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commander {
    pub person: PagedPerson,
    pub contact: Vec<NotifierId>,
}

/// One reminder to one of the commander's notifiers, as a delivery
/// stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderDelivery {
    pub notifier: String,
    pub notification: Notification,
}

/// The reminder `entry` (of kind `reminder`) makes: one delivery per
/// contact of the incident's commander; none when nobody commands it or
/// the commander is no `[[person]]`.
pub fn reminder_deliveries(
    config: &SubscriptionConfig,
    incident: &StoredIncident,
    entry: &StoredEntry,
) -> Vec<NewDelivery> {
    let Some(commander) = incident
        .commander
        .as_ref()
        .and_then(|name| config.commanders.get(name))
    else {
        return Vec::new();
    };
    let mut monitors: Vec<String> = incident
        .alerts
        .iter()
        .map(|alert| alert.monitor.clone())
        .collect();
    monitors.sort();
    monitors.dedup();
    let labels = BTreeMap::from([
        ("alertname".to_owned(), RULE.to_owned()),
        ("severity".to_owned(), incident.severity.clone()),
        ("incident".to_owned(), incident.id.to_string()),
    ]);
    let annotations = BTreeMap::from([
        (
            "summary".to_owned(),
            format!(
                "incident #{} {}: the promised update is overdue",
                incident.id, incident.title
            ),
        ),
        ("description".to_owned(), entry.body.clone()),
    ]);
    let alert = AlertMessage {
        fingerprint: format!("incident-{}-reminder", incident.id),
        rule: RULE.to_owned(),
        status: AlertStatus::Firing,
        severity: incident.severity.clone(),
        labels,
        annotations,
        monitors,
        reason: Some(entry.body.clone()),
        runbook: None,
        starts_at: entry.at,
        ends_at: None,
        url: format!("{}/api/v1/incidents/{}", config.server_url, incident.id),
        ack_url: None,
    };
    commander
        .contact
        .iter()
        .map(|notifier| {
            let id = format!("rem-{}-{notifier}", entry.id);
            let notification = Notification {
                id: id.clone(),
                receiver: notifier.to_string(),
                group_key: format!("incident:{}:reminder", incident.id),
                group_labels: BTreeMap::from([("incident".to_owned(), incident.id.to_string())]),
                alerts: vec![alert.clone()],
                external_url: config.server_url.clone(),
                sent_at: entry.at,
                page: Some(PageInfo {
                    policy: format!("incident #{}", incident.id),
                    level: 1,
                    round: 1,
                    target: format!("person:{}", commander.person.id),
                    person: Some(commander.person.clone()),
                    reminder: true,
                }),
            };
            let stored = ReminderDelivery {
                notifier: notifier.to_string(),
                notification,
            };
            NewDelivery {
                id,
                notifier: REMINDERS.to_owned(),
                group_key: format!("incident:{}:reminder", incident.id),
                kind: "incident.reminder".to_owned(),
                created_at: entry.at,
                // Strings, numbers and maps of them always encode.
                notification: serde_json::to_string(&stored).unwrap_or_default(),
            }
        })
        .collect()
}
