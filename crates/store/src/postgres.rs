//! The PostgreSQL backend: connecting (the URL's `sslmode` honoured, the
//! password given apart from the URL), migrations (`migrations/postgres/`,
//! applied at open under sqlx's advisory lock, so instances starting
//! together migrate once), the database's size and closing it; the SQL of
//! each aggregate is in its own module (`postgres/<aggregate>.rs`),
//! implementing that aggregate's trait.
//!
//! One pool serves reads and writes: PostgreSQL takes concurrent writers,
//! and instances sharing the database coordinate through the database
//! itself — a minute's rollups and the recent-results save each take a
//! transaction-scoped advisory lock, so two instances never roll one minute
//! up twice or interleave two saves.
//!
//! Batches travel as one array per column, read by `UNNEST`: one statement
//! per table per batch, as on SQLite.
//!
//! A failed statement aborts its transaction, which sqlx rolls back when the
//! transaction is dropped; a connection that broke (the server restarted, a
//! backend was terminated) is closed by the pool and replaced on the next
//! acquire. So a failure never leaves the store unusable: writing resumes as
//! soon as the server takes writes again.

mod alerts;
mod copy;
mod incidents;
mod meta;
mod monitors;
mod oncall;
mod outbox;
mod recent;
mod results;
mod rollups;
mod silences;
mod state_changes;
mod subscribers;
mod tokens;

use std::str::FromStr as _;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use watchkeeper_domain::storage::PostgresUrl;

use crate::error::StoreError;
use crate::results::PRUNE_CHUNK;

pub(crate) use copy::{
    finish_copy, first_table_with_rows, insert_ack_copies, insert_alert_copies,
    insert_alert_event_copies, insert_attempt_copies, insert_audit_copies, insert_delivery_copies,
    insert_disabled_copies, insert_escalation_copies, insert_group_copies,
    insert_incident_alert_copies, insert_incident_component_copies, insert_incident_copies,
    insert_incident_entry_copies, insert_meta, insert_monitors, insert_override_copies,
    insert_rollup_copies, insert_silence_copies, insert_state_change_copies, insert_step_copies,
    insert_stored_results, insert_subscriber_copies, insert_token_copies, insert_used_link_copies,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

const CONNECTIONS: u32 = 8;
/// How long a caller waits for a connection (or for the server to answer a
/// new one) before the operation fails, as SQLite's busy timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables `size_bytes` measures: every table the migrations create.
const TABLES: [&str; 25] = [
    "monitors",
    "results",
    "state_changes",
    "rollups",
    "recent_results",
    "meta",
    "alerts",
    "alert_events",
    "notification_groups",
    "deliveries",
    "delivery_attempts",
    "disabled_notifiers",
    "silences",
    "tokens",
    "audit",
    "schedule_overrides",
    "alert_acks",
    "escalations",
    "escalation_steps",
    "used_links",
    "incidents",
    "incident_components",
    "incident_alerts",
    "incident_entries",
    "subscribers",
];

/// Advisory lock keys (transaction-scoped), one per kind of write that
/// instances sharing the database must not interleave.
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
enum AdvisoryLock {
    RollUp = 0x5741_5443_0001,
    SaveRecent = 0x5741_5443_0002,
    /// Audit entries get their ids in commit order.
    Audit = 0x5741_5443_0003,
    /// Incident commits and changes: one at a time, so timeline entry ids
    /// grow in commit order.
    Incidents = 0x5741_5443_0004,
}

#[derive(Debug, Clone)]
pub(crate) struct PostgresStore {
    /// The URL as it may be shown (password masked), for messages.
    shown: String,
    pool: PgPool,
}

impl PostgresStore {
    pub(crate) async fn open(url: &PostgresUrl) -> Result<Self, StoreError> {
        let shown = url.to_string();
        let open_error = |source| StoreError::Open {
            database: shown.clone(),
            source,
        };
        let mut options =
            PgConnectOptions::from_str(url.without_password().as_str()).map_err(open_error)?;
        if let Some(password) = url.password() {
            options = options.password(password);
        }
        if options.get_application_name().is_none() {
            options = options.application_name("watchkeeper");
        }
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(open_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                database: shown.clone(),
                source,
            })?;
        tracing::debug!(database = %shown, "opened the store");
        Ok(PostgresStore { shown, pool })
    }

    /// Bytes of our tables, their indexes and TOAST
    /// (`pg_total_relation_size`).
    pub(crate) async fn size_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(pg_total_relation_size(to_regclass(name))), 0)::int8 \
             FROM UNNEST($1::text[]) AS name",
        )
        .bind(TABLES.as_slice())
        .fetch_one(&self.pool)
        .await
        .map_err(|source| StoreError::Size { source })?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Closes every connection.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
        tracing::debug!(database = %self.shown, "closed the store");
    }

    /// Runs `statement` (bound to `bound` and [`PRUNE_CHUNK`]) until it
    /// deletes less than a chunk. Each statement commits on its own.
    async fn delete_in_chunks(
        &self,
        statement: &'static str,
        bound: i64,
    ) -> Result<u64, sqlx::Error> {
        let mut deleted = 0;
        loop {
            let chunk = sqlx::query(statement)
                .bind(bound)
                .bind(PRUNE_CHUNK)
                .execute(&self.pool)
                .await?
                .rows_affected();
            deleted += chunk;
            if chunk < PRUNE_CHUNK.unsigned_abs() {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }
}

/// Advisory locks keyed by a text (transaction-scoped), in the two-`int4`
/// key space, apart from [`AdvisoryLock`]'s: `(class, hashtext(key))`. Two
/// keys with the same hash share a lock, which only serialises them.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
enum KeyedLock {
    /// Adding an override to the schedule: the overlap check and the insert.
    Schedule = 0x5741_0001,
    /// Acknowledging the alert, and a dispatch commit moving its ladder.
    Alert = 0x5741_0002,
}

/// Takes `lock` on each of `keys` until the end of the transaction
/// `connection` is in, in the order of the keys' hashes, so two
/// transactions taking several never wait for each other in a circle.
async fn lock_keys_for_transaction(
    connection: &mut sqlx::PgConnection,
    lock: KeyedLock,
    keys: &[&str],
) -> Result<(), sqlx::Error> {
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT pg_advisory_xact_lock($1, hash) FROM (SELECT DISTINCT hashtext(key) AS hash \
         FROM UNNEST($2::text[]) AS key ORDER BY hash) AS hashes",
    )
    .bind(lock as i32)
    .bind(keys)
    .execute(connection)
    .await?;
    Ok(())
}

/// Takes `lock` until the end of the transaction `connection` is in.
async fn lock_for_transaction(
    connection: &mut sqlx::PgConnection,
    lock: AdvisoryLock,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock as i64)
        .execute(connection)
        .await?;
    Ok(())
}
