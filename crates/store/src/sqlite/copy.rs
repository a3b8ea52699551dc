//! Reading every table of a SQLite database for `Store::copy_to`, a batch
//! at a time in key order (keyset pagination: each batch is one range
//! search, however far into the table it is).

use super::SqliteStore;
use crate::copy::{MetaCopy, MonitorCopy, RollupCopy, StateChangeCopy};
use crate::incidents::{
    ComponentRow, EntryRow, IncidentAlertRow, IncidentRow, component_columns, entry_columns,
    incident_alert_columns, incident_columns,
};
use crate::oncall::{
    AckRow, OverrideRow, StepRow, UsedLinkRow, ack_columns, override_columns, step_columns,
};
use crate::results::StoredResult;
use crate::tokens::{AuditRow, TokenRow};

const RESULT_COLUMNS: &str = "monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason";

fn limit(batch: usize) -> i64 {
    i64::try_from(batch).unwrap_or(i64::MAX)
}

impl SqliteStore {
    pub(crate) async fn copy_monitors(&self) -> Result<Vec<MonitorCopy>, sqlx::Error> {
        sqlx::query_as("SELECT key, id, created_at FROM monitors ORDER BY key")
            .fetch_all(&self.reader)
            .await
    }

    /// Results after `(started_at, monitor)`, in key order.
    pub(crate) async fn copy_results(
        &self,
        after: Option<(i64, i64)>,
        batch: usize,
    ) -> Result<Vec<StoredResult>, sqlx::Error> {
        let (started_at, monitor) = after.unwrap_or((i64::MIN, i64::MIN));
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RESULT_COLUMNS} FROM results WHERE (started_at, monitor) > (?1, ?2) \
             ORDER BY started_at, monitor LIMIT ?3"
        )))
        .bind(started_at)
        .bind(monitor)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    pub(crate) async fn copy_state_changes(
        &self,
        after: Option<i64>,
        batch: usize,
    ) -> Result<Vec<StateChangeCopy>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, monitor, at, from_health, to_health, reason, processed_at \
             FROM state_changes WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after.unwrap_or(i64::MIN))
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Rollups after `(monitor, minute)`, in key order.
    pub(crate) async fn copy_rollups(
        &self,
        after: Option<(i64, i64)>,
        batch: usize,
    ) -> Result<Vec<RollupCopy>, sqlx::Error> {
        let (monitor, minute) = after.unwrap_or((i64::MIN, i64::MIN));
        sqlx::query_as(
            "SELECT monitor, minute, count, failures, degraded, latency_min_us, latency_max_us, \
             latency_sum_us, p50_us, p95_us, p99_us, histogram FROM rollups \
             WHERE (monitor, minute) > (?1, ?2) ORDER BY monitor, minute LIMIT ?3",
        )
        .bind(monitor)
        .bind(minute)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    pub(crate) async fn copy_recent_results(&self) -> Result<Vec<StoredResult>, sqlx::Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {RESULT_COLUMNS} FROM recent_results ORDER BY monitor, started_at"
        )))
        .fetch_all(&self.reader)
        .await
    }

    pub(crate) async fn copy_meta(&self) -> Result<Vec<MetaCopy>, sqlx::Error> {
        sqlx::query_as("SELECT key, value, text_value FROM meta ORDER BY key")
            .fetch_all(&self.reader)
            .await
    }

    /// Every token, by name (a handful).
    pub(crate) async fn copy_tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error> {
        crate::tokens::TokenRows::tokens(self).await
    }

    /// Audit entries after `after`, oldest first.
    pub(crate) async fn copy_audit(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, at, actor, role, action, target, detail, remote FROM audit \
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Deliveries after `after` (their `seq`), in order.
    pub(crate) async fn copy_deliveries(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<crate::outbox::DeliveryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            crate::outbox::delivery_columns!(),
            " FROM deliveries WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Attempts after `after` (delivery, number), in key order.
    pub(crate) async fn copy_delivery_attempts(
        &self,
        after: (i64, i64),
        batch: usize,
    ) -> Result<Vec<crate::copy::AttemptCopy>, sqlx::Error> {
        sqlx::query_as(
            "SELECT delivery, number, at, duration_ms, outcome, decision FROM delivery_attempts \
             WHERE delivery > ?1 OR (delivery = ?1 AND number > ?2) \
             ORDER BY delivery, number LIMIT ?3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Overrides (removed ones too) after id `after`, in order.
    pub(crate) async fn copy_overrides(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<OverrideRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            override_columns!(),
            " FROM schedule_overrides WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Acks (cleared ones too) after id `after`, in order.
    pub(crate) async fn copy_acks(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<AckRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            ack_columns!(),
            " FROM alert_acks WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Escalation steps after id `after`, in order.
    pub(crate) async fn copy_escalation_steps(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<StepRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            step_columns!(),
            " FROM escalation_steps WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Used links after nonce `after` (`None`: from the first), by nonce.
    pub(crate) async fn copy_used_links(
        &self,
        after: Option<&str>,
        batch: usize,
    ) -> Result<Vec<UsedLinkRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT nonce, used_at FROM used_links WHERE ?1 IS NULL OR nonce > ?1 \
             ORDER BY nonce LIMIT ?2",
        )
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Incidents after id `after`, in order.
    pub(crate) async fn copy_incidents(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<IncidentRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            incident_columns!(),
            " FROM incidents WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Incidents' components after `(incident_id, component)`, in key
    /// order.
    pub(crate) async fn copy_incident_components(
        &self,
        after: Option<(i64, &str)>,
        batch: usize,
    ) -> Result<Vec<ComponentRow>, sqlx::Error> {
        let (incident, component) = after.unwrap_or((i64::MIN, ""));
        sqlx::query_as(concat!(
            "SELECT ",
            component_columns!(),
            " FROM incident_components WHERE (incident_id, component) > (?1, ?2) \
             ORDER BY incident_id, component LIMIT ?3"
        ))
        .bind(incident)
        .bind(component)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Incidents' alerts after `(incident_id, fingerprint)`, in key order.
    pub(crate) async fn copy_incident_alerts(
        &self,
        after: Option<(i64, &str)>,
        batch: usize,
    ) -> Result<Vec<IncidentAlertRow>, sqlx::Error> {
        let (incident, fingerprint) = after.unwrap_or((i64::MIN, ""));
        sqlx::query_as(concat!(
            "SELECT ",
            incident_alert_columns!(),
            " FROM incident_alerts WHERE (incident_id, fingerprint) > (?1, ?2) \
             ORDER BY incident_id, fingerprint LIMIT ?3"
        ))
        .bind(incident)
        .bind(fingerprint)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }

    /// Timeline entries after id `after`, in order.
    pub(crate) async fn copy_incident_entries(
        &self,
        after: i64,
        batch: usize,
    ) -> Result<Vec<EntryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            entry_columns!(),
            " FROM incident_entries WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after)
        .bind(limit(batch))
        .fetch_all(&self.reader)
        .await
    }
}
