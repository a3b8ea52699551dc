//! `subscribers` on SQLite.

use super::SqliteStore;
use super::outbox::insert_deliveries;
use crate::meta::MetaKey;
use crate::outbox::NewDelivery;
use crate::subscribers::{SubscriberRow, SubscriberRows};

macro_rules! columns {
    () => {
        "id, kind, address, created_at, confirmed_at"
    };
}

impl SubscriberRows for SqliteStore {
    async fn insert_subscriber(
        &self,
        kind: &str,
        address: &str,
        at: i64,
        confirmed: bool,
    ) -> Result<(SubscriberRow, bool), sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            "INSERT INTO subscribers (kind, address, created_at, confirmed_at) \
             VALUES (?1, ?2, ?3, CASE WHEN ?4 THEN ?3 END) \
             ON CONFLICT (kind, address) DO NOTHING",
        )
        .bind(kind)
        .bind(address)
        .bind(at)
        .bind(confirmed)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let row: SubscriberRow = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM subscribers WHERE kind = ?1 AND address = ?2"
        ))
        .bind(kind)
        .bind(address)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((row, inserted))
    }

    async fn write_deliveries(&self, deliveries: &[NewDelivery]) -> Result<(), sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        insert_deliveries(&mut tx, deliveries).await?;
        tx.commit().await
    }

    async fn subscriber(&self, id: i64) -> Result<Option<SubscriberRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM subscribers WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await
    }

    async fn subscribers(&self) -> Result<Vec<SubscriberRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM subscribers ORDER BY id"
        ))
        .fetch_all(&self.reader)
        .await
    }

    async fn confirm_subscriber(
        &self,
        id: i64,
        created_at: i64,
        at: i64,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE subscribers SET confirmed_at = COALESCE(confirmed_at, ?3) \
             WHERE id = ?1 AND created_at = ?2",
        )
        .bind(id)
        .bind(created_at)
        .bind(at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_subscriber(
        &self,
        id: i64,
        created_at: Option<i64>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "DELETE FROM subscribers WHERE id = ?1 AND (?2 IS NULL OR created_at = ?2)",
        )
        .bind(id)
        .bind(created_at)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_unconfirmed(&self, before: i64) -> Result<u64, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM subscribers WHERE confirmed_at IS NULL AND created_at < ?1")
                .bind(before)
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected())
    }

    async fn subscription_cursor(&self) -> Result<Option<i64>, sqlx::Error> {
        let mut connection = self.reader.acquire().await?;
        super::meta::select(&mut connection, MetaKey::SubscriptionCursor).await
    }

    async fn commit_subscriptions(
        &self,
        from: Option<i64>,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // Compare and set: an instance that lost the race to another
        // (sharing the database) writes nothing and reads again.
        let key = MetaKey::SubscriptionCursor.as_str();
        let moved = match from {
            None => sqlx::query(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(to)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Some(from) => sqlx::query("UPDATE meta SET value = ?2 WHERE key = ?1 AND value = ?3")
                .bind(key)
                .bind(to)
                .bind(from)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
        };
        if moved == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_deliveries(&mut tx, deliveries).await?;
        tx.commit().await?;
        Ok(true)
    }
}
