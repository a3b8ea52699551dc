//! `alerts` and `alert_events` on PostgreSQL: each change upserts its alert
//! and appends its event, inside a results batch's transaction; the reads.

use sqlx::PgConnection;

use super::PostgresStore;
use crate::alerts::{AlertRow, AlertRows, StoredAlertRow, StoredEventRow};

const UPSERT_ALERT: &str = "INSERT INTO alerts (fingerprint, rule, monitor, labels, phase, \
     active_since, fired_at, last_held, resolved_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, monitor = excluded.monitor, \
     labels = excluded.labels, phase = excluded.phase, active_since = excluded.active_since, \
     fired_at = excluded.fired_at, last_held = excluded.last_held, \
     resolved_at = excluded.resolved_at, updated_at = excluded.updated_at";

const INSERT_EVENT: &str = "INSERT INTO alert_events (fingerprint, at, transition, reason) \
     VALUES ($1, $2, $3, $4) RETURNING id";

/// The columns of `alerts` as [`StoredAlertRow`] reads them.
macro_rules! alert_columns {
    () => {
        "fingerprint, rule, monitor, labels, phase::int8 AS phase, active_since, fired_at, \
         last_held, resolved_at, updated_at"
    };
}

/// The columns of `alert_events` as [`StoredEventRow`] reads them.
macro_rules! event_columns {
    () => {
        "id, fingerprint, at, transition::int8 AS transition, reason"
    };
}

/// Writes `rows` in order (changes are few: one statement each); returns
/// the id of the last event, `None` for no rows.
pub(super) async fn insert(
    connection: &mut PgConnection,
    rows: &[AlertRow<'_>],
) -> Result<Option<i64>, sqlx::Error> {
    let mut last = None;
    for row in rows {
        sqlx::query(UPSERT_ALERT)
            .bind(row.fingerprint)
            .bind(row.rule)
            .bind(row.monitor)
            .bind(&row.labels)
            .bind(i16::try_from(row.phase).unwrap_or(i16::MAX))
            .bind(row.active_since)
            .bind(row.fired_at)
            .bind(row.last_held)
            .bind(row.resolved_at)
            .bind(row.at)
            .execute(&mut *connection)
            .await?;
        let (id,): (i64,) = sqlx::query_as(INSERT_EVENT)
            .bind(row.fingerprint)
            .bind(row.at)
            .bind(i16::try_from(row.transition).unwrap_or(i16::MAX))
            .bind(row.reason)
            .fetch_one(&mut *connection)
            .await?;
        last = Some(id);
    }
    Ok(last)
}

impl AlertRows for PostgresStore {
    async fn alerts(&self) -> Result<Vec<StoredAlertRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts ORDER BY fingerprint"
        ))
        .fetch_all(&self.pool)
        .await
    }

    async fn alert(&self, fingerprint: &str) -> Result<Option<StoredAlertRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            alert_columns!(),
            " FROM alerts WHERE fingerprint = $1"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
    }

    async fn alert_events(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<StoredEventRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM alert_events WHERE fingerprint = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(fingerprint)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }

    async fn alert_events_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEventRow>, sqlx::Error> {
        sqlx::query_as(concat!(
            "SELECT ",
            event_columns!(),
            " FROM alert_events WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
    }
}
