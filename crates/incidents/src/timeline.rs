//! An incident's whole story, read from the store: its own timeline
//! entries (opened, alerts, updates, acknowledgements, reminders) merged
//! in time order with what happened to its alerts elsewhere — each
//! escalation step, and each notification about them delivered or failed
//! — and the facts the postmortem measures (probes and failures of its
//! monitors over its span, its alerts with their failed conditions).
//!
//! [`merge`] is pure; [`gather`] only reads.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::alert::rule::SEVERITY;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::incident::{EntryKind, IncidentStatus};
use watchkeeper_store::{
    Delivery, DeliveryStatus, EscalationStep, Store, StoreError, StoredEntry, StoredIncident,
};

use crate::postmortem::{AlertFacts, MonitorImpact, PostmortemFacts, TimelineLine};

/// How many of the newest deliveries are searched for an incident's
/// alerts: a bound on one read, far beyond what one incident sends.
pub const DELIVERY_SCAN: u32 = 2_000;
/// Escalation steps read per alert.
const STEPS_PER_ALERT: u32 = 200;

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    pub at: Timestamp,
    pub kind: EntryKind,
    pub author: Option<String>,
    pub status: Option<IncidentStatus>,
    pub subject: Option<String>,
    pub body: String,
    pub fingerprint: Option<String>,
}

impl From<&StoredEntry> for TimelineItem {
    fn from(entry: &StoredEntry) -> Self {
        TimelineItem {
            at: entry.at,
            kind: entry.kind,
            author: entry.author.clone(),
            status: entry.status,
            subject: entry.subject.clone(),
            body: entry.body.clone(),
            fingerprint: entry.fingerprint.clone(),
        }
    }
}

/// The fingerprints of the alerts a delivery's notification is about
/// (its payload's `alerts[].fingerprint`).
fn delivery_alerts(delivery: &Delivery) -> BTreeSet<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&delivery.notification) else {
        return BTreeSet::new();
    };
    value
        .get("alerts")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|alert| alert.get("fingerprint")?.as_str().map(str::to_owned))
        .collect()
}

/// Whether a delivery is about the incident: one of its alerts, made
/// during its span.
fn relevant(delivery: &Delivery, incident: &StoredIncident, end: Timestamp) -> bool {
    if delivery.created_at < incident.started_at || delivery.created_at > end {
        return false;
    }
    let alerts = delivery_alerts(delivery);
    incident
        .alerts
        .iter()
        .any(|alert| alerts.contains(&alert.fingerprint))
}

/// The entries with the steps and deliveries (already chosen as the
/// incident's), in time order; at the same instant, stored entries first.
pub fn merge(
    entries: &[StoredEntry],
    steps: &[EscalationStep],
    deliveries: &[Delivery],
) -> Vec<TimelineItem> {
    let mut items: Vec<(Timestamp, u8, i64, TimelineItem)> = entries
        .iter()
        .map(|entry| (entry.at, 0, entry.id, TimelineItem::from(entry)))
        .collect();
    for step in steps {
        let who = step.person.as_deref().unwrap_or(&step.target);
        let via = step
            .notifier
            .as_deref()
            .map(|notifier| format!(" via {notifier}"))
            .unwrap_or_default();
        // "paged" says nothing the sentence does not; other notes do
        // (paged early, nobody on call).
        let note = if step.note.is_empty() || step.note == "paged" {
            String::new()
        } else {
            format!(" ({})", step.note)
        };
        items.push((
            step.at,
            1,
            step.id,
            TimelineItem {
                at: step.at,
                kind: EntryKind::Escalated,
                author: None,
                status: None,
                subject: None,
                body: format!(
                    "Escalation {} level {} paged {who}{via}{note}",
                    step.policy,
                    // stored from 0; people count levels from 1
                    step.level.saturating_add(1)
                ),
                fingerprint: Some(step.fingerprint.clone()),
            },
        ));
    }
    for delivery in deliveries {
        let (at, outcome) = match delivery.status {
            DeliveryStatus::Delivered => (
                delivery.finished_at.unwrap_or(delivery.created_at),
                "delivered",
            ),
            DeliveryStatus::Failed => (
                delivery.finished_at.unwrap_or(delivery.created_at),
                "failed for good",
            ),
            DeliveryStatus::Pending => (delivery.created_at, "waiting to be delivered"),
            DeliveryStatus::Dropped => (
                delivery.finished_at.unwrap_or(delivery.created_at),
                "dropped (its notifier was disabled)",
            ),
        };
        let last = delivery
            .last_outcome
            .as_deref()
            .map(|outcome| format!(": {outcome}"))
            .unwrap_or_default();
        items.push((
            at,
            2,
            delivery.seq,
            TimelineItem {
                at,
                kind: EntryKind::Notified,
                author: None,
                status: None,
                subject: None,
                body: format!(
                    "Notification {} to {} {outcome} after {} attempt{}{last}",
                    delivery.kind,
                    delivery.notifier,
                    delivery.attempts,
                    if delivery.attempts == 1 { "" } else { "s" }
                ),
                fingerprint: None,
            },
        ));
    }
    items.sort_by_key(|item| (item.0, item.1, item.2));
    items.into_iter().map(|(_, _, _, item)| item).collect()
}

/// What the binary's config says beyond the store: display names and
/// each rule's runbook.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub components: BTreeMap<String, String>,
    pub monitors: BTreeMap<String, String>,
    pub runbooks: BTreeMap<String, String>,
}

/// An incident's timeline and postmortem facts, read at `now`.
#[derive(Debug, Clone)]
pub struct Record {
    pub timeline: Vec<TimelineItem>,
    pub notifications_delivered: u64,
    pub notifications_failed: u64,
    pub pages: u64,
    pub alerts: Vec<AlertFacts>,
    pub monitors: Vec<MonitorImpact>,
}

/// Reads everything the incident's detail and postmortem show.
pub async fn gather(
    store: &Store,
    incident: &StoredIncident,
    names: &Names,
    now: Timestamp,
) -> Result<Record, StoreError> {
    let end = incident.resolved_at.unwrap_or(now);
    let entries = store.incident_entries(incident.id).await?;
    let mut steps = Vec::new();
    let mut alerts = Vec::new();
    let mut monitors: BTreeSet<String> = BTreeSet::new();
    for member in &incident.alerts {
        monitors.insert(member.monitor.clone());
        steps.extend(
            store
                .escalation_steps(&member.fingerprint, STEPS_PER_ALERT)
                .await?
                .into_iter()
                .filter(|step| step.at >= incident.started_at && step.at <= end),
        );
        let Some(alert) = store.alert(&member.fingerprint).await? else {
            continue;
        };
        let events = store.alert_events(&member.fingerprint, 100).await?;
        let during = |event: &&watchkeeper_store::AlertEvent| {
            event.at >= member.joined_at.min(incident.started_at) && event.at <= end
        };
        // newest first: the last fired is the first one of the span
        let fired = events
            .iter()
            .rev()
            .filter(during)
            .find(|event| event.transition == Transition::Fired);
        let resolved = events
            .iter()
            .filter(during)
            .find(|event| event.transition == Transition::Resolved);
        alerts.push(AlertFacts {
            rule: alert.rule.clone(),
            monitor: names
                .monitors
                .get(alert.monitor.as_str())
                .cloned()
                .unwrap_or_else(|| alert.monitor.to_string()),
            severity: alert.labels.get(SEVERITY).cloned(),
            reason: fired.and_then(|event| event.reason.clone()),
            runbook: names.runbooks.get(&alert.rule).cloned(),
            fired_at: fired.map(|event| event.at),
            resolved_at: resolved.map(|event| event.at),
        });
    }
    let deliveries: Vec<Delivery> = store
        .deliveries(None, DELIVERY_SCAN)
        .await?
        .into_iter()
        .filter(|delivery| relevant(delivery, incident, end))
        .collect();
    let mut measured = Vec::new();
    for monitor in &monitors {
        let Ok(id) = MonitorId::parse(monitor) else {
            continue;
        };
        let results = store.results_between(&id, incident.started_at, end).await?;
        let (probes, failed) = if results.is_empty() {
            // Older than the raw retention: the minute rollups remember.
            let rollups = store.rollups(&id, incident.started_at, end).await?;
            (
                rollups.iter().map(|r| u64::from(r.count)).sum(),
                rollups.iter().map(|r| u64::from(r.failures)).sum(),
            )
        } else {
            (
                results.len() as u64,
                results.iter().filter(|r| r.health == Health::Down).count() as u64,
            )
        };
        measured.push(MonitorImpact {
            monitor: names
                .monitors
                .get(monitor)
                .cloned()
                .unwrap_or_else(|| monitor.clone()),
            probes,
            failed,
        });
    }
    let count =
        |status: DeliveryStatus| deliveries.iter().filter(|d| d.status == status).count() as u64;
    Ok(Record {
        notifications_delivered: count(DeliveryStatus::Delivered),
        notifications_failed: count(DeliveryStatus::Failed),
        pages: steps.len() as u64,
        timeline: merge(&entries, &steps, &deliveries),
        alerts,
        monitors: measured,
    })
}

/// The postmortem's facts from an incident and its record.
pub fn postmortem_facts(
    incident: &StoredIncident,
    record: &Record,
    names: &Names,
    now: Timestamp,
) -> PostmortemFacts {
    let resolution = record
        .timeline
        .iter()
        .rev()
        .find(|item| {
            item.kind == EntryKind::Update && item.status == Some(IncidentStatus::Resolved)
        })
        .map(|item| item.body.clone());
    PostmortemFacts {
        id: incident.id,
        title: incident.title.clone(),
        severity: incident.severity.clone(),
        status: incident.status,
        commander: incident.commander.clone(),
        started_at: incident.started_at,
        acknowledged_at: incident.acknowledged_at,
        resolved_at: incident.resolved_at,
        written_at: now,
        components: incident
            .components
            .iter()
            .map(|(id, impact)| {
                (
                    names
                        .components
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.clone()),
                    *impact,
                )
            })
            .collect(),
        monitors: record.monitors.clone(),
        alerts: record.alerts.clone(),
        notifications_delivered: record.notifications_delivered,
        notifications_failed: record.notifications_failed,
        pages: record.pages,
        resolution,
        timeline: record
            .timeline
            .iter()
            .map(|item| TimelineLine {
                at: item.at,
                text: match &item.author {
                    Some(author) => format!("{} ({author})", line_text(item)),
                    None => line_text(item),
                },
            })
            .collect(),
    }
}

fn line_text(item: &TimelineItem) -> String {
    match (item.kind, item.status) {
        (EntryKind::Update, Some(status)) => format!("[{}] {}", status.title(), item.body),
        _ => item.body.clone(),
    }
}

#[cfg(test)]
mod tests;
