//! The SQLite backend: connection setup, migrations (`migrations/sqlite/`),
//! the database's size and closing it; the SQL of each aggregate is in its
//! own module (`sqlite/<aggregate>.rs`), implementing that aggregate's trait.
//!
//! Two pools share one database file in WAL mode: a single writer connection
//! (SQLite has one writer at a time, so writes queue in the pool instead of
//! spinning on the busy timeout, and its prepared statements stay cached) and
//! a few readers that see committed data without blocking the writer.
//!
//! `results` is clustered by `(started_at, monitor)`, so a batch appends to
//! the end of one B-tree and reads by time (a minute to roll up, the tail
//! not rolled up yet, what to prune) are one range. Reads of one monitor over
//! a long time are not offered: the engine keeps each monitor's recent
//! results in memory and saves them to `recent_results`. `rollups` stay
//! clustered by `(monitor, minute)`, the order their readers want; queries
//! over every monitor are written as `monitor IN (SELECT key FROM monitors)
//! AND <time range>`, which SQLite runs as one range search per monitor.
//!
//! Batches travel as one JSON array of arrays read by `json_each`: one
//! statement per table per batch, one round trip to the connection's worker
//! thread.
//!
//! A failed write never poisons a connection: both pools check each
//! connection as it comes back and replace it if a failed transaction left
//! it unusable (`release`).

mod alerts;
mod copy;
mod incidents;
mod meta;
mod monitors;
mod oncall;
mod outbox;
mod recent;
mod release;
mod results;
mod rollups;
mod silences;
mod state_changes;
mod subscribers;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::results::PRUNE_CHUNK;
use release::release_outside_a_transaction;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const READER_CONNECTIONS: u32 = 4;
/// The page size of a new database. A minute's rollups touch one page per
/// monitor and a commit writes each dirty page whole to the WAL, so small
/// pages write fewer bytes (results were clustered by monitor before
/// migration 0002, when 1 KiB pages wrote 1.6 KB per result against 4.0 KB
/// with SQLite's default 4 KiB), for about 7 % more space. An existing
/// database keeps its page size.
const PAGE_SIZE: u32 = 1024;

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    /// For error messages and the `-wal` file's size.
    path: PathBuf,
    /// Exactly one connection: every write goes through it.
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            database: path.display().to_string(),
            source,
        };
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .page_size(PAGE_SIZE)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        // Connecting reads the header, so a file that is not a database fails
        // here, before anything is written to it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_release(release_outside_a_transaction)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|source| StoreError::Migrate {
                database: path.display().to_string(),
                source,
            })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .after_release(release_outside_a_transaction)
            .connect_with(options.create_if_missing(false))
            .await
            .map_err(open_error)?;
        tracing::debug!(path = %path.display(), "opened the store");
        Ok(SqliteStore {
            path: path.to_owned(),
            writer,
            reader,
        })
    }

    /// Bytes on disk: the database pages plus the write-ahead log.
    pub(crate) async fn size_bytes(&self) -> Result<u64, StoreError> {
        let size_error = |source| StoreError::Size { source };
        let page_count: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.reader)
            .await
            .map_err(size_error)?;
        let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.reader)
            .await
            .map_err(size_error)?;
        let mut wal_path = self.path.clone().into_os_string();
        wal_path.push("-wal");
        // No WAL file (yet, or after a truncating checkpoint) is zero bytes.
        let wal = tokio::fs::metadata(&wal_path)
            .await
            .map_or(0, |metadata| metadata.len());
        let pages = u64::try_from(page_count.saturating_mul(page_size)).unwrap_or(0);
        Ok(pages + wal)
    }

    /// Checkpoints the write-ahead log and closes every connection.
    pub(crate) async fn close(&self) {
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(
                error = %error,
                path = %self.path.display(),
                "cannot checkpoint the write-ahead log before closing"
            );
        }
        self.reader.close().await;
        self.writer.close().await;
        tracing::debug!(path = %self.path.display(), "closed the store");
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
                .execute(&self.writer)
                .await?
                .rows_affected();
            deleted += chunk;
            if chunk < PRUNE_CHUNK.unsigned_abs() {
                return Ok(deleted);
            }
            // Let a queued batch write take the writer between chunks.
            tokio::task::yield_now().await;
        }
    }
}

/// Rows as the JSON array of arrays that `json_each` reads.
fn json_rows<T: serde::Serialize>(rows: &[T]) -> Result<String, sqlx::Error> {
    serde_json::to_string(rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}
