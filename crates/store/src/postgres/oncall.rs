//! On-call on PostgreSQL: an override's overlap check and insert under an
//! advisory lock on its schedule, and an ack's read of the alert, insert and
//! stop of its escalation under an advisory lock on the alert, each in one
//! transaction, so two at once never both succeed; the escalations and
//! steps a dispatch commit writes (in its transaction, under the same locks
//! on its alerts as an ack); the link key in `meta` and the used links.

use sqlx::PgConnection;

use super::{KeyedLock, PostgresStore, lock_keys_for_transaction};
use crate::meta::MetaTextKey;
use crate::oncall::{
    AckInsert, AckRow, AckWrite, EscalationRow, NewEscalationStep, OnCallRows, OverrideInsert,
    OverrideRow, OverrideWrite, StepRow, ack_columns, escalation_columns, override_columns,
    step_columns,
};

/// Firing, in `alerts.phase`.
const FIRING: i16 = 2;

/// Takes the ack lock of each alert whose ladder a dispatch commit writes,
/// before it reads or writes anything: an ack of one of them then either
/// committed before (the upsert sees it) or waits for this commit (and
/// stops the ladder it wrote).
pub(super) async fn lock_alerts(
    connection: &mut PgConnection,
    rows: &[EscalationRow],
) -> Result<(), sqlx::Error> {
    let fingerprints: Vec<&str> = rows.iter().map(|row| row.fingerprint.as_str()).collect();
    lock_keys_for_transaction(connection, KeyedLock::Alert, &fingerprints).await
}

/// Upserts each ladder by fingerprint (see `DispatchCommit::escalations`):
/// a row of another episode is replaced whole; one of the same episode
/// that is stopped stays stopped, with no next step due; and a ladder of
/// an episode that has an ack (cleared or not) is stored stopped.
pub(super) async fn upsert_escalations(
    connection: &mut PgConnection,
    rows: &[EscalationRow],
) -> Result<(), sqlx::Error> {
    for row in rows {
        sqlx::query(
            "INSERT INTO escalations (fingerprint, policy, firing_since, level, round, next_due, \
             stopped, updated_at) \
             SELECT $1, $2, $3, $4, $5, CASE WHEN acked THEN NULL ELSE $6::int8 END, $7::bool OR acked, $8 \
             FROM (SELECT EXISTS (SELECT 1 FROM alert_acks \
             WHERE fingerprint = $1 AND firing_since = $3) AS acked) AS episode WHERE true \
             ON CONFLICT (fingerprint) DO UPDATE SET policy = excluded.policy, \
             level = excluded.level, round = excluded.round, updated_at = excluded.updated_at, \
             stopped = CASE WHEN escalations.firing_since = excluded.firing_since \
             THEN escalations.stopped OR excluded.stopped ELSE excluded.stopped END, \
             next_due = CASE WHEN escalations.firing_since = excluded.firing_since \
             AND escalations.stopped THEN NULL ELSE excluded.next_due END, \
             firing_since = excluded.firing_since",
        )
        .bind(&row.fingerprint)
        .bind(&row.policy)
        .bind(row.firing_since)
        .bind(row.level)
        .bind(row.round)
        .bind(row.next_due)
        .bind(row.stopped)
        .bind(row.updated_at)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

pub(super) async fn insert_steps(
    connection: &mut PgConnection,
    steps: &[NewEscalationStep],
) -> Result<(), sqlx::Error> {
    for step in steps {
        sqlx::query(
            "INSERT INTO escalation_steps (fingerprint, firing_since, policy, level, round, at, \
             target, person, notifier, delivery_id, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&step.fingerprint)
        .bind(step.firing_since.as_millisecond())
        .bind(&step.policy)
        .bind(i64::from(step.level))
        .bind(i64::from(step.round))
        .bind(step.at.as_millisecond())
        .bind(&step.target)
        .bind(&step.person)
        .bind(&step.notifier)
        .bind(&step.delivery_id)
        .bind(&step.note)
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}

impl OnCallRows for PostgresStore {
    async fn insert_override(
        &self,
        row: &OverrideWrite<'_>,
    ) -> Result<OverrideInsert, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_keys_for_transaction(&mut tx, KeyedLock::Schedule, &[row.schedule]).await?;
        let existing: Option<OverrideRow> = sqlx::query_as(concat!(
            "SELECT ",
            override_columns!(),
            " FROM schedule_overrides WHERE schedule = $1 AND removed_at IS NULL \
             AND start_at < $3 AND end_at > $2 ORDER BY start_at, id LIMIT 1"
        ))
        .bind(row.schedule)
        .bind(row.start_at)
        .bind(row.end_at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            // Dropping the transaction rolls it back: nothing was written.
            return Ok(OverrideInsert::Conflict(existing));
        }
        let inserted = sqlx::query_as(concat!(
            "INSERT INTO schedule_overrides (schedule, person, start_at, end_at, author, comment, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
            override_columns!()
        ))
        .bind(row.schedule)
        .bind(row.person)
        .bind(row.start_at)
        .bind(row.end_at)
        .bind(row.author)
        .bind(row.comment)
        .bind(row.created_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(OverrideInsert::Inserted(inserted))
    }

    async fn overrides(
        &self,
        schedule: Option<&str>,
        ending_after: i64,
    ) -> Result<Vec<OverrideRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            override_columns!(),
            " FROM schedule_overrides WHERE removed_at IS NULL AND end_at > $2 \
             AND ($1::text IS NULL OR schedule = $1) ORDER BY start_at, id"
        ))
        .bind(schedule)
        .bind(ending_after)
        .fetch_all(&self.pool)
        .await
    }

    async fn remove_override(
        &self,
        id: i64,
        by: &str,
        at: i64,
    ) -> Result<Option<OverrideRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "UPDATE schedule_overrides SET removed_at = $3, removed_by = $2 \
             WHERE id = $1 AND removed_at IS NULL RETURNING ",
            override_columns!()
        ))
        .bind(id)
        .bind(by)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
    }

    async fn acknowledge(&self, row: &AckWrite<'_>) -> Result<AckInsert, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        lock_keys_for_transaction(&mut tx, KeyedLock::Alert, &[row.fingerprint]).await?;
        let alert: Option<(i16, Option<i64>)> =
            sqlx::query_as("SELECT phase, fired_at FROM alerts WHERE fingerprint = $1")
                .bind(row.fingerprint)
                .fetch_optional(&mut *tx)
                .await?;
        if alert != Some((FIRING, Some(row.firing_since))) {
            return Ok(AckInsert::NotFiring);
        }
        let standing: Option<AckRow> = sqlx::query_as(concat!(
            "SELECT ",
            ack_columns!(),
            " FROM alert_acks WHERE fingerprint = $1 AND firing_since = $2 \
             AND cleared_at IS NULL"
        ))
        .bind(row.fingerprint)
        .bind(row.firing_since)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(standing) = standing {
            return Ok(AckInsert::Already(standing));
        }
        let inserted = sqlx::query_as(concat!(
            "INSERT INTO alert_acks (fingerprint, firing_since, acked_at, actor, via, comment) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            ack_columns!()
        ))
        .bind(row.fingerprint)
        .bind(row.firing_since)
        .bind(row.acked_at)
        .bind(row.actor)
        .bind(row.via)
        .bind(row.comment)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE escalations SET stopped = true, next_due = NULL, updated_at = $2 \
             WHERE fingerprint = $1",
        )
        .bind(row.fingerprint)
        .bind(row.acked_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AckInsert::Inserted(inserted))
    }

    async fn unacknowledge(
        &self,
        fingerprint: &str,
        by: &str,
        at: i64,
    ) -> Result<Option<AckRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "UPDATE alert_acks SET cleared_at = $3, cleared_by = $2 \
             WHERE fingerprint = $1 AND cleared_at IS NULL \
             AND firing_since = (SELECT fired_at FROM alerts WHERE fingerprint = $1) RETURNING ",
            ack_columns!()
        ))
        .bind(fingerprint)
        .bind(by)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
    }

    async fn current_acks(&self, fingerprint: Option<&str>) -> Result<Vec<AckRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            ack_columns!(),
            " FROM alert_acks WHERE cleared_at IS NULL AND ($1::text IS NULL OR fingerprint = $1) \
             AND firing_since = (SELECT fired_at FROM alerts \
             WHERE alerts.fingerprint = alert_acks.fingerprint) ORDER BY id"
        ))
        .bind(fingerprint)
        .fetch_all(&self.pool)
        .await
    }

    async fn acks_since(&self, after: i64) -> Result<Vec<AckRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            ack_columns!(),
            " FROM alert_acks WHERE acked_at >= $1 ORDER BY id"
        ))
        .bind(after)
        .fetch_all(&self.pool)
        .await
    }

    async fn escalations(
        &self,
        fingerprint: Option<&str>,
    ) -> Result<Vec<EscalationRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            escalation_columns!(),
            " FROM escalations WHERE $1::text IS NULL OR fingerprint = $1 ORDER BY fingerprint"
        ))
        .bind(fingerprint)
        .fetch_all(&self.pool)
        .await
    }

    async fn escalation_steps(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<StepRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            step_columns!(),
            " FROM escalation_steps WHERE fingerprint = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(fingerprint)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    async fn link_key(&self, fresh: &str) -> Result<Option<String>, sqlx::Error> {
        let key = MetaTextKey::AckLinkKey.as_str();
        let mut connection = self.pool.acquire().await?;
        sqlx::query(
            "INSERT INTO meta (key, text_value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(fresh)
        .execute(&mut *connection)
        .await?;
        let stored: Option<Option<String>> =
            sqlx::query_scalar("SELECT text_value FROM meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *connection)
                .await?;
        Ok(stored.flatten())
    }

    async fn use_link(&self, nonce: &str, at: i64) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO used_links (nonce, used_at) VALUES ($1, $2) \
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn prune_used_links(&self, before: i64) -> Result<u64, sqlx::Error> {
        let deleted = sqlx::query("DELETE FROM used_links WHERE used_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}
