//! The notification outbox on SQLite: the dispatcher's commit (cursor,
//! groups, escalations and their steps, deliveries) and each attempt's
//! record in one transaction on the writer; the reads on the readers.

use super::SqliteStore;
use super::{meta, oncall};
use crate::meta::MetaKey;
use crate::outbox::{
    AttemptRow, AttemptWrite, DeliveryRow, DisabledRow, DispatchWrite, GroupRow, OutboxRows,
    delivery_columns,
};

impl OutboxRows for SqliteStore {
    async fn dispatch_cursor(&self) -> Result<Option<i64>, sqlx::Error> {
        let mut connection = self.reader.acquire().await?;
        meta::select(&mut connection, MetaKey::DispatchCursor).await
    }

    async fn notification_groups(&self) -> Result<Vec<GroupRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT group_key, next_flush, last_sent, sent_firing, members \
             FROM notification_groups ORDER BY group_key",
        )
        .fetch_all(&self.reader)
        .await
    }

    async fn commit_dispatch(&self, write: &DispatchWrite<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        meta::upsert(&mut tx, MetaKey::DispatchCursor, write.cursor).await?;
        for group in write.groups {
            sqlx::query(
                "INSERT INTO notification_groups \
                 (group_key, next_flush, last_sent, sent_firing, members) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (group_key) DO UPDATE SET next_flush = excluded.next_flush, \
                 last_sent = excluded.last_sent, sent_firing = excluded.sent_firing, \
                 members = excluded.members",
            )
            .bind(&group.group_key)
            .bind(group.next_flush)
            .bind(group.last_sent)
            .bind(&group.sent_firing)
            .bind(&group.members)
            .execute(&mut *tx)
            .await?;
        }
        for key in write.finished {
            sqlx::query("DELETE FROM notification_groups WHERE group_key = ?1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        oncall::upsert_escalations(&mut tx, write.escalations).await?;
        oncall::insert_steps(&mut tx, write.steps).await?;
        insert_deliveries(&mut tx, write.deliveries).await?;
        tx.commit().await
    }

    async fn due_deliveries(
        &self,
        notifier: &str,
        now: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE status = 0 AND notifier = ?1 AND next_attempt_at <= ?2 \
             ORDER BY seq LIMIT ?3"
        ))
        .bind(notifier)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }

    async fn claim_due_deliveries(
        &self,
        notifier: &str,
        now: i64,
        until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        // One writer at a time: the UPDATE is the claim.
        sqlx::query_as(concat!(
            "UPDATE deliveries SET next_attempt_at = ?3 WHERE seq IN (\
             SELECT seq FROM deliveries WHERE status = 0 AND notifier = ?1 \
             AND next_attempt_at <= ?2 ORDER BY seq LIMIT ?4) RETURNING ",
            delivery_columns!()
        ))
        .bind(notifier)
        .bind(now)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await
    }

    async fn next_due(&self, notifier: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 0 AND notifier = ?1",
        )
        .bind(notifier)
        .fetch_one(&self.reader)
        .await
    }

    async fn record_attempt(&self, attempt: &AttemptWrite<'_>) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery, number, at, duration_ms, outcome, decision) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(attempt.delivery_seq)
        .bind(attempt.number)
        .bind(attempt.at)
        .bind(attempt.duration_ms)
        .bind(attempt.outcome)
        .bind(attempt.decision)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE deliveries SET status = ?2, attempts = ?3, next_attempt_at = ?4, \
             last_attempt_at = ?5, last_outcome = ?6, finished_at = ?7 WHERE seq = ?1",
        )
        .bind(attempt.delivery_seq)
        .bind(attempt.status)
        .bind(attempt.number)
        .bind(attempt.next_attempt_at)
        .bind(attempt.at)
        .bind(attempt.outcome)
        .bind(attempt.finished_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    async fn deliveries(
        &self,
        notifier: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE ?1 IS NULL OR notifier = ?1 ORDER BY seq DESC LIMIT ?2"
        ))
        .bind(notifier)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
    }

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM deliveries WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
    }

    async fn delivery_attempts(&self, seq: i64) -> Result<Vec<AttemptRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT number, at, duration_ms, outcome, decision FROM delivery_attempts \
             WHERE delivery = ?1 ORDER BY number",
        )
        .bind(seq)
        .fetch_all(&self.reader)
        .await
    }

    async fn pending_counts(&self) -> Result<Vec<(String, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT notifier, COUNT(*) FROM deliveries WHERE status = 0 \
             GROUP BY notifier ORDER BY notifier",
        )
        .fetch_all(&self.reader)
        .await
    }

    async fn disabled_notifiers(&self) -> Result<Vec<DisabledRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT notifier, digest, at, reason FROM disabled_notifiers ORDER BY notifier",
        )
        .fetch_all(&self.reader)
        .await
    }

    async fn disable_notifier(&self, row: &DisabledRow) -> Result<u64, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO disabled_notifiers (notifier, digest, at, reason) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (notifier) DO UPDATE SET digest = excluded.digest, at = excluded.at, \
             reason = excluded.reason",
        )
        .bind(&row.notifier)
        .bind(&row.digest)
        .bind(row.at)
        .bind(&row.reason)
        .execute(&mut *tx)
        .await?;
        let dropped = sqlx::query(
            "UPDATE deliveries SET status = 3, next_attempt_at = NULL, finished_at = ?2, \
             last_outcome = ?3 WHERE status = 0 AND notifier = ?1",
        )
        .bind(&row.notifier)
        .bind(row.at)
        .bind(&row.reason)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(dropped)
    }

    async fn enable_notifier(&self, notifier: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM disabled_notifiers WHERE notifier = ?1")
            .bind(notifier)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn prune_deliveries(&self, before: i64) -> Result<u64, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "DELETE FROM delivery_attempts WHERE delivery IN \
             (SELECT seq FROM deliveries WHERE status <> 0 AND finished_at < ?1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM deliveries WHERE status <> 0 AND finished_at < ?1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

/// Writes new deliveries, pending and due at once, on the caller's
/// transaction (the dispatcher's and the subscriptions' commits).
pub(super) async fn insert_deliveries(
    tx: &mut sqlx::SqliteConnection,
    deliveries: &[crate::outbox::NewDelivery],
) -> Result<(), sqlx::Error> {
    for delivery in deliveries {
        let created = delivery.created_at.as_millisecond();
        sqlx::query(
            "INSERT INTO deliveries (id, notifier, group_key, kind, created_at, status, \
             attempts, next_attempt_at, notification) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?5, ?6)",
        )
        .bind(&delivery.id)
        .bind(&delivery.notifier)
        .bind(&delivery.group_key)
        .bind(&delivery.kind)
        .bind(created)
        .bind(&delivery.notification)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
