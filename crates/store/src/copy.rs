//! Copying a whole SQLite database into an empty PostgreSQL one
//! (`watchkeeper store copy`), so a team that outgrows SQLite keeps its
//! history: every table, in batches read by key order from SQLite and
//! written with one statement per table per batch to PostgreSQL, all in one
//! PostgreSQL transaction (a failed copy leaves the target empty, to try
//! again). Monitor keys and the ids of state changes, alert events, audit
//! entries, deliveries, overrides, acks, escalation steps, incidents and
//! their timeline entries are kept, so every row means what it meant; the
//! target's sequences are moved past them.
//!
//! Here: the order of the tables, the refusal of a target that holds data,
//! and the rows as they travel; `sqlite/copy.rs` reads, `postgres/copy.rs`
//! writes.

use crate::error::StoreError;
use crate::rollups::StoredRollup;
use crate::{Backend, Store};

/// Rows per batch when the caller does not say.
pub const DEFAULT_COPY_BATCH: usize = 10_000;

/// One row of `monitors`, with its key.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MonitorCopy {
    pub key: i64,
    pub id: String,
    pub created_at: i64,
}

/// One row of `state_changes`, with its id and claim column.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StateChangeCopy {
    pub id: i64,
    pub monitor: i64,
    pub at: i64,
    pub from_health: Option<i64>,
    pub to_health: i64,
    pub reason: Option<String>,
    pub processed_at: Option<i64>,
}

/// One row of `rollups`, with its monitor.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RollupCopy {
    pub monitor: i64,
    #[sqlx(flatten)]
    pub rollup: StoredRollup,
}

/// One row of `delivery_attempts`, with its delivery.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AttemptCopy {
    pub delivery: i64,
    pub number: i64,
    pub at: i64,
    pub duration_ms: i64,
    pub outcome: String,
    pub decision: String,
}

/// One row of `meta`: an integer or a text.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MetaCopy {
    pub key: String,
    pub value: Option<i64>,
    pub text_value: Option<String>,
}

/// What [`Store::copy_to`] copied, table by table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub monitors: u64,
    pub results: u64,
    pub state_changes: u64,
    pub rollups: u64,
    pub recent_results: u64,
    pub meta: u64,
    pub alerts: u64,
    pub alert_events: u64,
    pub tokens: u64,
    pub audit: u64,
    pub notification_groups: u64,
    pub deliveries: u64,
    pub delivery_attempts: u64,
    pub disabled_notifiers: u64,
    pub silences: u64,
    pub schedule_overrides: u64,
    pub alert_acks: u64,
    pub escalations: u64,
    pub escalation_steps: u64,
    pub used_links: u64,
    pub incidents: u64,
    pub incident_components: u64,
    pub incident_alerts: u64,
    pub incident_entries: u64,
    pub subscribers: u64,
}

/// Where a copy is: `copied` rows of `table` so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProgress {
    pub table: &'static str,
    pub copied: u64,
}

impl Store {
    /// Copies every table of this store (SQLite) into `target`
    /// (PostgreSQL), which must hold no data, `batch` rows at a time;
    /// `progress` is told after each batch. One transaction on the target:
    /// all or nothing.
    pub async fn copy_to(
        &self,
        target: &Store,
        batch: usize,
        progress: &mut (dyn FnMut(CopyProgress) + Send),
    ) -> Result<CopyReport, StoreError> {
        let (Backend::Sqlite(from), Backend::Postgres(to)) = (&self.backend, &target.backend)
        else {
            return Err(StoreError::CopyEngines {
                from: self.engine(),
                to: target.engine(),
            });
        };
        let batch = batch.max(1);
        let copy_error = |table: &'static str| move |source| StoreError::Copy { table, source };
        let mut tx = to.begin_copy().await.map_err(copy_error("the target"))?;
        if let Some(table) = crate::postgres::first_table_with_rows(&mut tx)
            .await
            .map_err(copy_error("the target"))?
        {
            return Err(StoreError::CopyTargetNotEmpty { table });
        }
        let mut report = CopyReport::default();

        let monitors = from.copy_monitors().await.map_err(copy_error("monitors"))?;
        for chunk in monitors.chunks(batch) {
            crate::postgres::insert_monitors(&mut tx, chunk)
                .await
                .map_err(copy_error("monitors"))?;
            report.monitors += chunk.len() as u64;
            progress(CopyProgress {
                table: "monitors",
                copied: report.monitors,
            });
        }

        let mut after = None;
        loop {
            let rows = from
                .copy_results(after, batch)
                .await
                .map_err(copy_error("results"))?;
            let Some(last) = rows.last() else { break };
            after = Some((last.started_at, last.monitor));
            crate::postgres::insert_stored_results(&mut tx, "results", &rows)
                .await
                .map_err(copy_error("results"))?;
            report.results += rows.len() as u64;
            progress(CopyProgress {
                table: "results",
                copied: report.results,
            });
        }

        let mut after = None;
        loop {
            let rows = from
                .copy_state_changes(after, batch)
                .await
                .map_err(copy_error("state_changes"))?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            crate::postgres::insert_state_change_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("state_changes"))?;
            report.state_changes += rows.len() as u64;
            progress(CopyProgress {
                table: "state_changes",
                copied: report.state_changes,
            });
        }

        let mut after = None;
        loop {
            let rows = from
                .copy_rollups(after, batch)
                .await
                .map_err(copy_error("rollups"))?;
            let Some(last) = rows.last() else { break };
            after = Some((last.monitor, last.rollup.minute));
            crate::postgres::insert_rollup_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("rollups"))?;
            report.rollups += rows.len() as u64;
            progress(CopyProgress {
                table: "rollups",
                copied: report.rollups,
            });
        }

        // At most ten rows per monitor.
        let recent = from
            .copy_recent_results()
            .await
            .map_err(copy_error("recent_results"))?;
        for chunk in recent.chunks(batch) {
            crate::postgres::insert_stored_results(&mut tx, "recent_results", chunk)
                .await
                .map_err(copy_error("recent_results"))?;
            report.recent_results += chunk.len() as u64;
            progress(CopyProgress {
                table: "recent_results",
                copied: report.recent_results,
            });
        }

        // A few per monitor.
        let alerts = crate::alerts::AlertRows::alerts(from)
            .await
            .map_err(copy_error("alerts"))?;
        for chunk in alerts.chunks(batch) {
            crate::postgres::insert_alert_copies(&mut tx, chunk)
                .await
                .map_err(copy_error("alerts"))?;
            report.alerts += chunk.len() as u64;
            progress(CopyProgress {
                table: "alerts",
                copied: report.alerts,
            });
        }

        let mut after = 0;
        loop {
            let limit = u32::try_from(batch).unwrap_or(u32::MAX);
            let rows = crate::alerts::AlertRows::alert_events_after(from, after, limit)
                .await
                .map_err(copy_error("alert_events"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_alert_event_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("alert_events"))?;
            report.alert_events += rows.len() as u64;
            progress(CopyProgress {
                table: "alert_events",
                copied: report.alert_events,
            });
        }

        // A handful: one per person or program that uses the API.
        let tokens = from.copy_tokens().await.map_err(copy_error("tokens"))?;
        for chunk in tokens.chunks(batch) {
            crate::postgres::insert_token_copies(&mut tx, chunk)
                .await
                .map_err(copy_error("tokens"))?;
            report.tokens += chunk.len() as u64;
            progress(CopyProgress {
                table: "tokens",
                copied: report.tokens,
            });
        }

        let mut after = 0;
        loop {
            let rows = from
                .copy_audit(after, batch)
                .await
                .map_err(copy_error("audit"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_audit_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("audit"))?;
            report.audit += rows.len() as u64;
            progress(CopyProgress {
                table: "audit",
                copied: report.audit,
            });
        }

        // The outbox: a few groups and disabled notifiers; deliveries and
        // their attempts by key, in batches; then the silences.
        let groups = crate::outbox::OutboxRows::notification_groups(from)
            .await
            .map_err(copy_error("notification_groups"))?;
        crate::postgres::insert_group_copies(&mut tx, &groups)
            .await
            .map_err(copy_error("notification_groups"))?;
        report.notification_groups = groups.len() as u64;
        progress(CopyProgress {
            table: "notification_groups",
            copied: report.notification_groups,
        });
        let mut after = 0;
        loop {
            let rows = from
                .copy_deliveries(after, batch)
                .await
                .map_err(copy_error("deliveries"))?;
            let Some(last) = rows.last() else { break };
            after = last.seq;
            crate::postgres::insert_delivery_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("deliveries"))?;
            report.deliveries += rows.len() as u64;
            progress(CopyProgress {
                table: "deliveries",
                copied: report.deliveries,
            });
        }
        let mut after = (0, 0);
        loop {
            let rows = from
                .copy_delivery_attempts(after, batch)
                .await
                .map_err(copy_error("delivery_attempts"))?;
            let Some(last) = rows.last() else { break };
            after = (last.delivery, last.number);
            crate::postgres::insert_attempt_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("delivery_attempts"))?;
            report.delivery_attempts += rows.len() as u64;
            progress(CopyProgress {
                table: "delivery_attempts",
                copied: report.delivery_attempts,
            });
        }
        let disabled = crate::outbox::OutboxRows::disabled_notifiers(from)
            .await
            .map_err(copy_error("disabled_notifiers"))?;
        crate::postgres::insert_disabled_copies(&mut tx, &disabled)
            .await
            .map_err(copy_error("disabled_notifiers"))?;
        report.disabled_notifiers = disabled.len() as u64;
        progress(CopyProgress {
            table: "disabled_notifiers",
            copied: report.disabled_notifiers,
        });
        let silences = crate::silences::SilenceRows::silences_ending_after(from, i64::MIN)
            .await
            .map_err(copy_error("silences"))?;
        for chunk in silences.chunks(batch) {
            crate::postgres::insert_silence_copies(&mut tx, chunk)
                .await
                .map_err(copy_error("silences"))?;
            report.silences += chunk.len() as u64;
            progress(CopyProgress {
                table: "silences",
                copied: report.silences,
            });
        }

        // On-call: overrides, acks and escalation steps by id in batches;
        // the ladders (one per alert that escalated) at once; the used
        // links by nonce.
        let mut after = 0;
        loop {
            let rows = from
                .copy_overrides(after, batch)
                .await
                .map_err(copy_error("schedule_overrides"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_override_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("schedule_overrides"))?;
            report.schedule_overrides += rows.len() as u64;
            progress(CopyProgress {
                table: "schedule_overrides",
                copied: report.schedule_overrides,
            });
        }
        let mut after = 0;
        loop {
            let rows = from
                .copy_acks(after, batch)
                .await
                .map_err(copy_error("alert_acks"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_ack_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("alert_acks"))?;
            report.alert_acks += rows.len() as u64;
            progress(CopyProgress {
                table: "alert_acks",
                copied: report.alert_acks,
            });
        }
        let escalations = crate::oncall::OnCallRows::escalations(from, None)
            .await
            .map_err(copy_error("escalations"))?;
        for chunk in escalations.chunks(batch) {
            crate::postgres::insert_escalation_copies(&mut tx, chunk)
                .await
                .map_err(copy_error("escalations"))?;
            report.escalations += chunk.len() as u64;
            progress(CopyProgress {
                table: "escalations",
                copied: report.escalations,
            });
        }
        let mut after = 0;
        loop {
            let rows = from
                .copy_escalation_steps(after, batch)
                .await
                .map_err(copy_error("escalation_steps"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_step_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("escalation_steps"))?;
            report.escalation_steps += rows.len() as u64;
            progress(CopyProgress {
                table: "escalation_steps",
                copied: report.escalation_steps,
            });
        }
        let mut after: Option<String> = None;
        loop {
            let rows = from
                .copy_used_links(after.as_deref(), batch)
                .await
                .map_err(copy_error("used_links"))?;
            let Some(last) = rows.last() else { break };
            after = Some(last.nonce.clone());
            crate::postgres::insert_used_link_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("used_links"))?;
            report.used_links += rows.len() as u64;
            progress(CopyProgress {
                table: "used_links",
                copied: report.used_links,
            });
        }

        // Incidents, then what hangs off them: each by key, in batches.
        let mut after = 0;
        loop {
            let rows = from
                .copy_incidents(after, batch)
                .await
                .map_err(copy_error("incidents"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_incident_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("incidents"))?;
            report.incidents += rows.len() as u64;
            progress(CopyProgress {
                table: "incidents",
                copied: report.incidents,
            });
        }
        let mut after: Option<(i64, String)> = None;
        loop {
            let key = after.as_ref().map(|(id, name)| (*id, name.as_str()));
            let rows = from
                .copy_incident_components(key, batch)
                .await
                .map_err(copy_error("incident_components"))?;
            let Some(last) = rows.last() else { break };
            after = Some((last.incident_id, last.component.clone()));
            crate::postgres::insert_incident_component_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("incident_components"))?;
            report.incident_components += rows.len() as u64;
            progress(CopyProgress {
                table: "incident_components",
                copied: report.incident_components,
            });
        }
        let mut after: Option<(i64, String)> = None;
        loop {
            let key = after.as_ref().map(|(id, name)| (*id, name.as_str()));
            let rows = from
                .copy_incident_alerts(key, batch)
                .await
                .map_err(copy_error("incident_alerts"))?;
            let Some(last) = rows.last() else { break };
            after = Some((last.incident_id, last.fingerprint.clone()));
            crate::postgres::insert_incident_alert_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("incident_alerts"))?;
            report.incident_alerts += rows.len() as u64;
            progress(CopyProgress {
                table: "incident_alerts",
                copied: report.incident_alerts,
            });
        }
        let mut after = 0;
        loop {
            let rows = from
                .copy_incident_entries(after, batch)
                .await
                .map_err(copy_error("incident_entries"))?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            crate::postgres::insert_incident_entry_copies(&mut tx, &rows)
                .await
                .map_err(copy_error("incident_entries"))?;
            report.incident_entries += rows.len() as u64;
            progress(CopyProgress {
                table: "incident_entries",
                copied: report.incident_entries,
            });
        }

        let subscribers = crate::subscribers::SubscriberRows::subscribers(from)
            .await
            .map_err(copy_error("subscribers"))?;
        for chunk in subscribers.chunks(batch) {
            crate::postgres::insert_subscriber_copies(&mut tx, chunk)
                .await
                .map_err(copy_error("subscribers"))?;
            report.subscribers += chunk.len() as u64;
            progress(CopyProgress {
                table: "subscribers",
                copied: report.subscribers,
            });
        }

        let meta = from.copy_meta().await.map_err(copy_error("meta"))?;
        crate::postgres::insert_meta(&mut tx, &meta)
            .await
            .map_err(copy_error("meta"))?;
        report.meta = meta.len() as u64;
        progress(CopyProgress {
            table: "meta",
            copied: report.meta,
        });

        crate::postgres::finish_copy(tx)
            .await
            .map_err(copy_error("the target"))?;
        // The target learns the copied monitors' keys.
        target.reload_monitor_keys().await?;
        Ok(report)
    }
}
