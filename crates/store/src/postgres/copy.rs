//! Writing a copied database into PostgreSQL for `Store::copy_to`: one
//! transaction, one `UNNEST` statement per table per batch, keys and ids
//! as they were, and the identity sequences moved past them at the end;
//! the incidents' tables and the subscribers in `copy/incidents.rs`.

mod incidents;

use sqlx::{PgConnection, Postgres, Transaction};

use super::PostgresStore;
use super::results::{ResultColumns, result_columns_of};
use crate::alerts::{StoredAlertRow, StoredEventRow};
use crate::copy::{AttemptCopy, MetaCopy, MonitorCopy, RollupCopy, StateChangeCopy};
use crate::oncall::{AckRow, EscalationRow, OverrideRow, StepRow, UsedLinkRow};
use crate::outbox::{DeliveryRow, DisabledRow, GroupRow};
use crate::results::StoredResult;
use crate::silences::SilenceRow;
use crate::tokens::{AuditRow, TokenRow};

pub(crate) use incidents::{
    insert_incident_alert_copies, insert_incident_component_copies, insert_incident_copies,
    insert_incident_entry_copies, insert_subscriber_copies,
};

impl PostgresStore {
    pub(crate) async fn begin_copy(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

/// The first of our tables that holds a row, if any.
pub(crate) async fn first_table_with_rows(
    connection: &mut PgConnection,
) -> Result<Option<&'static str>, sqlx::Error> {
    for table in super::TABLES {
        let any: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {table})"
        )))
        .fetch_one(&mut *connection)
        .await?;
        if any {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

pub(crate) async fn insert_monitors(
    connection: &mut PgConnection,
    rows: &[MonitorCopy],
) -> Result<(), sqlx::Error> {
    let key: Vec<i64> = rows.iter().map(|row| row.key).collect();
    let id: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let created_at: Vec<i64> = rows.iter().map(|row| row.created_at).collect();
    sqlx::query(
        "INSERT INTO monitors (key, id, created_at) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[])",
    )
    .bind(&key)
    .bind(&id)
    .bind(&created_at)
    .execute(connection)
    .await?;
    Ok(())
}

/// Rows of `results` or `recent_results` (the same columns).
pub(crate) async fn insert_stored_results(
    connection: &mut PgConnection,
    table: &'static str,
    rows: &[StoredResult],
) -> Result<(), sqlx::Error> {
    let rows = result_columns_of(rows);
    let columns = ResultColumns::new(&rows);
    let statement = format!(
        "INSERT INTO {table} (monitor, started_at, lag_ms, latency_us, health, reason, \
         fallback_health, fallback_latency_us, fallback_reason) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
         $6::text[], $7::int8[], $8::int8[], $9::text[])"
    );
    columns
        .bind(sqlx::query(sqlx::AssertSqlSafe(statement)))
        .execute(connection)
        .await?;
    Ok(())
}

pub(crate) async fn insert_state_change_copies(
    connection: &mut PgConnection,
    rows: &[StateChangeCopy],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO state_changes (id, monitor, at, from_health, to_health, reason, processed_at) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
         $6::text[], $7::int8[])",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.monitor).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.at).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.from_health).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.to_health).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.reason.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| row.processed_at).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_rollup_copies(
    connection: &mut PgConnection,
    rows: &[RollupCopy],
) -> Result<(), sqlx::Error> {
    let column = |field: fn(&RollupCopy) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO rollups (monitor, minute, count, failures, degraded, latency_min_us, \
         latency_max_us, latency_sum_us, p50_us, p95_us, p99_us, histogram) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], \
         $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::bytea[])",
    )
    .bind(column(|row| row.monitor))
    .bind(column(|row| row.rollup.minute))
    .bind(column(|row| row.rollup.count))
    .bind(column(|row| row.rollup.failures))
    .bind(column(|row| row.rollup.degraded))
    .bind(column(|row| row.rollup.latency_min_us))
    .bind(column(|row| row.rollup.latency_max_us))
    .bind(column(|row| row.rollup.latency_sum_us))
    .bind(column(|row| row.rollup.p50_us))
    .bind(column(|row| row.rollup.p95_us))
    .bind(column(|row| row.rollup.p99_us))
    .bind(
        rows.iter()
            .map(|row| row.rollup.histogram.as_slice())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_meta(
    connection: &mut PgConnection,
    rows: &[MetaCopy],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO meta (key, value, text_value) \
         SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[])",
    )
    .bind(rows.iter().map(|row| row.key.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.value).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.text_value.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_alert_copies(
    connection: &mut PgConnection,
    rows: &[StoredAlertRow],
) -> Result<(), sqlx::Error> {
    let optional = |field: fn(&StoredAlertRow) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO alerts (fingerprint, rule, monitor, labels, phase, active_since, fired_at, \
         last_held, resolved_at, updated_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], \
         $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[])",
    )
    .bind(
        rows.iter()
            .map(|row| row.fingerprint.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| row.rule.as_str()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.monitor.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.labels.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| small(row.phase)).collect::<Vec<_>>())
    .bind(optional(|row| row.active_since))
    .bind(optional(|row| row.fired_at))
    .bind(optional(|row| row.last_held))
    .bind(optional(|row| row.resolved_at))
    .bind(rows.iter().map(|row| row.updated_at).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_alert_event_copies(
    connection: &mut PgConnection,
    rows: &[StoredEventRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO alert_events (id, fingerprint, at, transition, reason) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int2[], $5::text[])",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.fingerprint.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| row.at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| small(row.transition))
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.reason.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_token_copies(
    connection: &mut PgConnection,
    rows: &[TokenRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&TokenRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let optional = |field: fn(&TokenRow) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO tokens (name, role, hash, created_at, last_used_at, revoked_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
         $6::int8[])",
    )
    .bind(text(|row| &row.name))
    .bind(text(|row| &row.role))
    .bind(text(|row| &row.hash))
    .bind(rows.iter().map(|row| row.created_at).collect::<Vec<_>>())
    .bind(optional(|row| row.last_used_at))
    .bind(optional(|row| row.revoked_at))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_audit_copies(
    connection: &mut PgConnection,
    rows: &[AuditRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&AuditRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let optional = |field: fn(&AuditRow) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO audit (id, at, actor, role, action, target, detail, remote) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::text[], \
         $6::text[], $7::text[], $8::text[])",
    )
    .bind(rows.iter().map(|row| row.id).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.at).collect::<Vec<_>>())
    .bind(text(|row| &row.actor))
    .bind(optional(|row| row.role.as_deref()))
    .bind(text(|row| &row.action))
    .bind(text(|row| &row.target))
    .bind(text(|row| &row.detail))
    .bind(optional(|row| row.remote.as_deref()))
    .execute(connection)
    .await?;
    Ok(())
}

/// The copied route groups (a handful: one per group with alerts).
pub(crate) async fn insert_group_copies(
    connection: &mut PgConnection,
    rows: &[GroupRow],
) -> Result<(), sqlx::Error> {
    for row in rows {
        sqlx::query(
            "INSERT INTO notification_groups (group_key, next_flush, last_sent, sent_firing, \
             members) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&row.group_key)
        .bind(row.next_flush)
        .bind(row.last_sent)
        .bind(&row.sent_firing)
        .bind(&row.members)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_delivery_copies(
    connection: &mut PgConnection,
    rows: &[DeliveryRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&DeliveryRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&DeliveryRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    let optional = |field: fn(&DeliveryRow) -> Option<i64>| -> Vec<Option<i64>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO deliveries (seq, id, notifier, group_key, kind, created_at, status, \
         attempts, next_attempt_at, last_attempt_at, last_outcome, finished_at, notification) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], \
         $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[], $11::text[], $12::int8[], \
         $13::text[])",
    )
    .bind(number(|row| row.seq))
    .bind(text(|row| &row.id))
    .bind(text(|row| &row.notifier))
    .bind(text(|row| &row.group_key))
    .bind(text(|row| &row.kind))
    .bind(number(|row| row.created_at))
    .bind(number(|row| row.status))
    .bind(number(|row| row.attempts))
    .bind(optional(|row| row.next_attempt_at))
    .bind(optional(|row| row.last_attempt_at))
    .bind(
        rows.iter()
            .map(|row| row.last_outcome.as_deref())
            .collect::<Vec<_>>(),
    )
    .bind(optional(|row| row.finished_at))
    .bind(text(|row| &row.notification))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_attempt_copies(
    connection: &mut PgConnection,
    rows: &[AttemptCopy],
) -> Result<(), sqlx::Error> {
    let number = |field: fn(&AttemptCopy) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery, number, at, duration_ms, outcome, decision) \
         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[], \
         $6::text[])",
    )
    .bind(number(|row| row.delivery))
    .bind(number(|row| row.number))
    .bind(number(|row| row.at))
    .bind(number(|row| row.duration_ms))
    .bind(
        rows.iter()
            .map(|row| row.outcome.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|row| row.decision.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_disabled_copies(
    connection: &mut PgConnection,
    rows: &[DisabledRow],
) -> Result<(), sqlx::Error> {
    for row in rows {
        sqlx::query(
            "INSERT INTO disabled_notifiers (notifier, digest, at, reason) VALUES ($1, $2, $3, $4)",
        )
        .bind(&row.notifier)
        .bind(&row.digest)
        .bind(row.at)
        .bind(&row.reason)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_silence_copies(
    connection: &mut PgConnection,
    rows: &[SilenceRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&SilenceRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&SilenceRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], \
         $6::text[], $7::int8[])",
    )
    .bind(text(|row| &row.id))
    .bind(text(|row| &row.matchers))
    .bind(number(|row| row.starts_at))
    .bind(number(|row| row.ends_at))
    .bind(text(|row| &row.created_by))
    .bind(text(|row| &row.comment))
    .bind(number(|row| row.created_at))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_override_copies(
    connection: &mut PgConnection,
    rows: &[OverrideRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&OverrideRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&OverrideRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO schedule_overrides (id, schedule, person, start_at, end_at, author, comment, \
         created_at, removed_at, removed_by) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
         $6::text[], $7::text[], $8::int8[], $9::int8[], $10::text[])",
    )
    .bind(number(|row| row.id))
    .bind(text(|row| &row.schedule))
    .bind(text(|row| &row.person))
    .bind(number(|row| row.start_at))
    .bind(number(|row| row.end_at))
    .bind(text(|row| &row.author))
    .bind(text(|row| &row.comment))
    .bind(number(|row| row.created_at))
    .bind(rows.iter().map(|row| row.removed_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.removed_by.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_ack_copies(
    connection: &mut PgConnection,
    rows: &[AckRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&AckRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&AckRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO alert_acks (id, fingerprint, firing_since, acked_at, actor, via, comment, \
         cleared_at, cleared_by) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::text[], \
         $6::text[], $7::text[], $8::int8[], $9::text[])",
    )
    .bind(number(|row| row.id))
    .bind(text(|row| &row.fingerprint))
    .bind(number(|row| row.firing_since))
    .bind(number(|row| row.acked_at))
    .bind(text(|row| &row.actor))
    .bind(text(|row| &row.via))
    .bind(text(|row| &row.comment))
    .bind(rows.iter().map(|row| row.cleared_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|row| row.cleared_by.as_deref())
            .collect::<Vec<_>>(),
    )
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_escalation_copies(
    connection: &mut PgConnection,
    rows: &[EscalationRow],
) -> Result<(), sqlx::Error> {
    let text =
        |field: fn(&EscalationRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number =
        |field: fn(&EscalationRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    sqlx::query(
        "INSERT INTO escalations (fingerprint, policy, firing_since, level, round, next_due, \
         stopped, updated_at) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], \
         $6::int8[], $7::bool[], $8::int8[])",
    )
    .bind(text(|row| &row.fingerprint))
    .bind(text(|row| &row.policy))
    .bind(number(|row| row.firing_since))
    .bind(number(|row| row.level))
    .bind(number(|row| row.round))
    .bind(rows.iter().map(|row| row.next_due).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.stopped).collect::<Vec<_>>())
    .bind(number(|row| row.updated_at))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_step_copies(
    connection: &mut PgConnection,
    rows: &[StepRow],
) -> Result<(), sqlx::Error> {
    let text = |field: fn(&StepRow) -> &str| -> Vec<&str> { rows.iter().map(field).collect() };
    let number = |field: fn(&StepRow) -> i64| -> Vec<i64> { rows.iter().map(field).collect() };
    let optional = |field: fn(&StepRow) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(field).collect()
    };
    sqlx::query(
        "INSERT INTO escalation_steps (id, fingerprint, firing_since, policy, level, round, at, \
         target, person, notifier, delivery_id, note) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::text[], $5::int8[], \
         $6::int8[], $7::int8[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[])",
    )
    .bind(number(|row| row.id))
    .bind(text(|row| &row.fingerprint))
    .bind(number(|row| row.firing_since))
    .bind(text(|row| &row.policy))
    .bind(number(|row| row.level))
    .bind(number(|row| row.round))
    .bind(number(|row| row.at))
    .bind(text(|row| &row.target))
    .bind(optional(|row| row.person.as_deref()))
    .bind(optional(|row| row.notifier.as_deref()))
    .bind(optional(|row| row.delivery_id.as_deref()))
    .bind(text(|row| &row.note))
    .execute(connection)
    .await?;
    Ok(())
}

pub(crate) async fn insert_used_link_copies(
    connection: &mut PgConnection,
    rows: &[UsedLinkRow],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO used_links (nonce, used_at) SELECT * FROM UNNEST($1::text[], $2::int8[])",
    )
    .bind(
        rows.iter()
            .map(|row| row.nonce.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|row| row.used_at).collect::<Vec<_>>())
    .execute(connection)
    .await?;
    Ok(())
}

/// A phase or transition code (0–3) for a SMALLINT column.
fn small(code: i64) -> i16 {
    i16::try_from(code).unwrap_or(i16::MAX)
}

/// Moves the identity sequences past the copied keys and ids, and commits.
pub(crate) async fn finish_copy(mut tx: Transaction<'static, Postgres>) -> Result<(), sqlx::Error> {
    for (table, column) in [
        ("monitors", "key"),
        ("state_changes", "id"),
        ("alert_events", "id"),
        ("audit", "id"),
        ("deliveries", "seq"),
        ("schedule_overrides", "id"),
        ("alert_acks", "id"),
        ("escalation_steps", "id"),
        ("incidents", "id"),
        ("incident_entries", "id"),
        ("subscribers", "id"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             COALESCE(MAX({column}), 0) + 1, false) FROM {table}"
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
