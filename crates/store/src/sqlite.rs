//! The SQLite backend: connection setup, migrations (`migrations/sqlite/`) and
//! every SQL statement the store runs on SQLite.
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
//! A failed write never poisons a connection: both pools check each
//! connection as it comes back and replace it if a failed transaction left
//! it unusable (`release`).

mod release;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt as _;

use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use watchkeeper_domain::check::{CheckResult, FallbackResult, MonitorStatus, StateChange};
use watchkeeper_domain::rollup::{Rollup, RollupBuilder};
use watchkeeper_domain::{Health, MonitorId};

use crate::PruneReport;
use crate::column::{
    count_from_column, duration_from_micros, health_code, health_from_code, micros, millis,
    minute_floor, seconds_ceil, timestamp_from_millis, timestamp_from_seconds,
};
use crate::error::StoreError;
use crate::monitor_keys::MonitorKeys;
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
/// Minutes with results rolled up per `roll_up` call; each is its own
/// transaction, so the writer waits at most one minute's upserts.
const MAX_MINUTES_PER_ROLL_UP: usize = 60;
/// Rows deleted per statement by `prune`; writers get the connection between
/// statements.
const PRUNE_CHUNK: i64 = 10_000;
/// How far a result is moved forward, 1 ms at a time, when its millisecond is
/// already taken by another result of the same monitor.
const MAX_NUDGE_MS: i64 = 1_000;

const INSERT_RESULT: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
     ON CONFLICT (started_at, monitor) DO NOTHING";

/// A whole batch of results in one statement: the rows travel as one JSON
/// array of arrays (see [`ResultRow`]), so a batch costs one round trip to
/// the connection's worker thread instead of one per row. Without `ON
/// CONFLICT`: a millisecond already taken fails the statement (and only the
/// statement), and the batch is then written row by row with [`INSERT_RESULT`].
const INSERT_RESULTS: &str = "INSERT INTO results (monitor, started_at, lag_ms, latency_us, health, reason, \
     fallback_health, fallback_latency_us, fallback_reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8 FROM json_each(?1)";

/// The saved recent results, like [`INSERT_RESULTS`].
const INSERT_RECENT_RESULTS: &str = "INSERT INTO recent_results (monitor, started_at, lag_ms, \
     latency_us, health, reason, fallback_health, fallback_latency_us, fallback_reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8 FROM json_each(?1) WHERE true \
     ON CONFLICT (monitor, started_at) DO NOTHING";

const SELECT_RECENT_COVERED_UNTIL: &str =
    "SELECT value FROM meta WHERE key = 'recent_covered_until'";

const UPSERT_RECENT_COVERED_UNTIL: &str = "INSERT INTO meta (key, value) \
     VALUES ('recent_covered_until', ?1) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// A batch of state changes in one statement, like [`INSERT_RESULTS`]; rows
/// are inserted in array order, so ids follow the order of the changes.
const INSERT_STATE_CHANGES: &str = "INSERT INTO state_changes (monitor, at, from_health, to_health, reason) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
     FROM json_each(?1) ORDER BY key";

/// One row of `results` as [`INSERT_RESULTS`] reads it: monitor key,
/// started_at (ms), lag (ms), latency (µs), health, reason, fallback health,
/// fallback latency (µs), fallback reason.
type ResultRow<'a> = (
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    Option<&'a str>,
);

/// One row of `state_changes`: monitor key, at (ms), from, to, reason.
type StateChangeRow<'a> = (i64, i64, Option<i64>, i64, Option<&'a str>);

const SELECT_WATERMARK: &str = "SELECT value FROM meta WHERE key = 'rollup_watermark'";

const UPSERT_WATERMARK: &str = "INSERT INTO meta (key, value) VALUES ('rollup_watermark', ?1) \
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

/// One minute's rollups of every monitor in one statement, like
/// [`INSERT_RESULTS`]: ?1 is the minute, ?2 the rows (see [`RollupRow`]),
/// the histogram hex-encoded since JSON has no bytes. (`WHERE true` is
/// SQLite's way to tell an upsert's `ON CONFLICT` from a join.)
const UPSERT_ROLLUPS: &str = "INSERT INTO rollups (monitor, minute, count, failures, degraded, \
     latency_min_us, latency_max_us, latency_sum_us, p50_us, p95_us, p99_us, histogram) \
     SELECT value ->> 0, ?1, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, value ->> 9, unhex(value ->> 10) \
     FROM json_each(?2) WHERE true \
     ON CONFLICT (monitor, minute) DO UPDATE SET \
     count = excluded.count, failures = excluded.failures, degraded = excluded.degraded, \
     latency_min_us = excluded.latency_min_us, latency_max_us = excluded.latency_max_us, \
     latency_sum_us = excluded.latency_sum_us, p50_us = excluded.p50_us, \
     p95_us = excluded.p95_us, p99_us = excluded.p99_us, histogram = excluded.histogram";

/// One row of `rollups` as [`UPSERT_ROLLUPS`] reads it: monitor key, count,
/// failures, degraded, latency min, max and sum, p50, p95, p99 (µs), and the
/// histogram in hex.
type RollupRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, String);

/// One row of `results`, as read back.
#[derive(sqlx::FromRow)]
struct StoredResult {
    monitor: i64,
    started_at: i64,
    lag_ms: i64,
    latency_us: i64,
    health: i64,
    reason: Option<String>,
    fallback_health: Option<i64>,
    fallback_latency_us: Option<i64>,
    fallback_reason: Option<String>,
}

/// One row of `rollups`, as read back (without the monitor).
#[derive(sqlx::FromRow)]
struct StoredRollup {
    minute: i64,
    count: i64,
    failures: i64,
    degraded: i64,
    latency_min_us: i64,
    latency_max_us: i64,
    latency_sum_us: i64,
    p50_us: i64,
    p95_us: i64,
    p99_us: i64,
    histogram: Vec<u8>,
}

/// One row of `state_changes`, as read back.
#[derive(sqlx::FromRow)]
struct StoredStateChange {
    monitor: i64,
    at: i64,
    from_health: Option<i64>,
    to_health: i64,
    reason: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SqliteStore {
    /// For error messages and the `-wal` file's size.
    path: PathBuf,
    /// Exactly one connection: every write goes through it.
    writer: SqlitePool,
    reader: SqlitePool,
    keys: MonitorKeys,
}

fn read_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Read { what, source }
}

impl SqliteStore {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let open_error = |source| StoreError::Open {
            path: path.to_owned(),
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
                path: path.to_owned(),
                source,
            })?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READER_CONNECTIONS)
            .after_release(release_outside_a_transaction)
            .connect_with(options.create_if_missing(false))
            .await
            .map_err(open_error)?;

        let store = SqliteStore {
            path: path.to_owned(),
            writer,
            reader,
            keys: MonitorKeys::default(),
        };
        store.load_monitor_keys().await?;
        tracing::debug!(path = %path.display(), "opened the store");
        Ok(store)
    }

    async fn load_monitor_keys(&self) -> Result<(), StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT key, id FROM monitors")
            .fetch_all(&self.reader)
            .await
            .map_err(read_error("monitors"))?;
        let entries = rows
            .into_iter()
            .map(|(key, id)| {
                MonitorId::parse(&id)
                    .map(|id| (id, key))
                    .map_err(|error| StoreError::InvalidRow {
                        what: "monitors",
                        detail: error.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.keys.insert(entries);
        Ok(())
    }

    pub(crate) async fn register_monitors(&self, ids: &[MonitorId]) -> Result<(), StoreError> {
        let unknown: Vec<&MonitorId> = ids
            .iter()
            .filter(|id| self.keys.key(id).is_none())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let register_error = |source| StoreError::Register { source };
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(register_error)?;
        let mut registered = Vec::with_capacity(unknown.len());
        for id in unknown {
            sqlx::query("INSERT INTO monitors (id) VALUES (?1) ON CONFLICT (id) DO NOTHING")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(register_error)?;
            let key: i64 = sqlx::query_scalar("SELECT key FROM monitors WHERE id = ?1")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(register_error)?;
            registered.push((id.clone(), key));
        }
        tx.commit().await.map_err(register_error)?;
        // Only after the commit: a key in memory always exists on disk.
        self.keys.insert(registered);
        Ok(())
    }

    pub(crate) async fn write_batch(
        &self,
        results: &[CheckResult],
        changes: &[StateChange],
    ) -> Result<Option<i64>, StoreError> {
        let unregistered = |monitor| StoreError::UnregisteredMonitor { monitor };
        let result_keys = self
            .keys
            .keys(results.iter().map(|result| &result.monitor))
            .map_err(unregistered)?;
        let change_keys = self
            .keys
            .keys(changes.iter().map(|change| &change.monitor))
            .map_err(unregistered)?;
        if results.is_empty() && changes.is_empty() {
            return Ok(None);
        }
        let write_error = |source| StoreError::Write {
            results: results.len(),
            changes: changes.len(),
            source,
        };

        let result_rows: Vec<ResultRow<'_>> = result_keys
            .iter()
            .zip(results)
            .map(|(&key, result)| result_row(key, result))
            .collect();
        let change_rows: Vec<StateChangeRow<'_>> = change_keys
            .iter()
            .zip(changes)
            .map(|(&key, change)| {
                (
                    key,
                    millis(change.at),
                    change.from.map(health_code),
                    health_code(change.to),
                    change.reason.as_deref(),
                )
            })
            .collect();

        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(write_error)?;
        if !result_rows.is_empty() {
            match sqlx::query(INSERT_RESULTS)
                .bind(json_rows(&result_rows).map_err(write_error)?)
                .execute(&mut *tx)
                .await
            {
                Ok(_) => {}
                // Some result's millisecond is taken (by an earlier batch or
                // within this one). The failed statement wrote nothing;
                // write the batch row by row, moving those results forward.
                Err(error) if is_unique_violation(&error) => {
                    for (row, result) in result_rows.iter().zip(results) {
                        insert_nudged(&mut tx, row)
                            .await
                            .map_err(|error| match error {
                                Nudge::Sql(source) => write_error(source),
                                Nudge::NoFreeMillisecond => StoreError::NoFreeMillisecond {
                                    monitor: result.monitor.clone(),
                                    started_at: result.started_at,
                                },
                            })?;
                    }
                }
                Err(error) => return Err(write_error(error)),
            }
        }
        let mut last_change = None;
        if !change_rows.is_empty() {
            let inserted = sqlx::query(INSERT_STATE_CHANGES)
                .bind(json_rows(&change_rows).map_err(write_error)?)
                .execute(&mut *tx)
                .await
                .map_err(write_error)?;
            // The rows go in in array order under one statement, so the last
            // one inserted has the highest id of the batch.
            last_change = Some(inserted.last_insert_rowid());
        }
        tx.commit().await.map_err(write_error)?;
        Ok(last_change)
    }

    /// The id of a key read from a result table. Keys are loaded at open and
    /// added on registration, so a miss means another process registered the
    /// monitor since; its rows are left out.
    fn monitor_id(&self, key: i64) -> Option<MonitorId> {
        let id = self.keys.id(key);
        if id.is_none() {
            tracing::warn!(
                key,
                "a stored row names a monitor key this store does not know; skipped"
            );
        }
        id
    }

    pub(crate) async fn current_states(
        &self,
    ) -> Result<HashMap<MonitorId, MonitorStatus>, StoreError> {
        const WHAT: &str = "current states";
        let rows: Vec<StoredStateChange> = sqlx::query_as(
            "SELECT s.monitor, s.at, s.from_health, s.to_health, s.reason \
             FROM monitors m CROSS JOIN state_changes s ON s.id = \
             (SELECT id FROM state_changes WHERE monitor = m.key ORDER BY at DESC, id DESC LIMIT 1)",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(read_error(WHAT))?;
        let mut states = HashMap::with_capacity(rows.len());
        for row in rows {
            let Some(id) = self.monitor_id(row.monitor) else {
                continue;
            };
            let change = state_change(WHAT, id, row)?;
            states.insert(change.monitor.clone(), change.status_after());
        }
        Ok(states)
    }

    /// Up to `per_monitor` newest results of each monitor: the saved
    /// `recent_results`, plus every result that started at or after the
    /// instant the save accounts for (`recent_covered_until`), newest first.
    /// Without a save, every stored result is read.
    pub(crate) async fn load_recent(
        &self,
        per_monitor: usize,
    ) -> Result<HashMap<MonitorId, Vec<CheckResult>>, StoreError> {
        const WHAT: &str = "recent results";
        let read = read_error(WHAT);
        // One read transaction: the save and the results after it are seen
        // as of one instant.
        let mut tx = self.reader.begin().await.map_err(&read)?;
        let covered_until: Option<i64> = sqlx::query_scalar(SELECT_RECENT_COVERED_UNTIL)
            .fetch_optional(&mut *tx)
            .await
            .map_err(&read)?;
        let mut by_key: HashMap<i64, Vec<StoredResult>> = HashMap::new();
        // Newest first, so each monitor keeps its newest.
        let mut after_save = sqlx::query_as::<_, StoredResult>(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason \
             FROM results WHERE started_at >= ?1 ORDER BY started_at DESC",
        )
        .bind(covered_until.unwrap_or(i64::MIN))
        .fetch(&mut *tx);
        while let Some(row) = after_save.try_next().await.map_err(&read)? {
            let kept = by_key.entry(row.monitor).or_default();
            if kept.len() < per_monitor {
                kept.push(row);
            }
        }
        drop(after_save);
        let saved: Vec<StoredResult> = sqlx::query_as(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason FROM recent_results",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(&read)?;
        tx.commit().await.map_err(&read)?;
        // The save may also hold results that started after it was taken;
        // those are in both, once each after this.
        for row in saved {
            by_key.entry(row.monitor).or_default().push(row);
        }
        for rows in by_key.values_mut() {
            rows.sort_by_key(|row| std::cmp::Reverse(row.started_at));
            rows.dedup_by_key(|row| row.started_at);
            rows.truncate(per_monitor);
        }

        let mut recent = HashMap::with_capacity(by_key.len());
        for (key, rows) in by_key {
            let Some(id) = self.monitor_id(key) else {
                continue;
            };
            let results = rows
                .into_iter()
                .map(|row| check_result(WHAT, id.clone(), row))
                .collect::<Result<Vec<_>, _>>()?;
            recent.insert(id, results);
        }
        Ok(recent)
    }

    /// Replaces the saved recent results with the results of `chunks` (any
    /// number per monitor) and records that they account for every result
    /// that started before `covered_until`, in one transaction. Chunks are
    /// taken one at a time, so the caller never holds a copy of everything.
    /// Returns how many results were saved.
    pub(crate) async fn save_recent<I>(
        &self,
        chunks: I,
        covered_until: Timestamp,
    ) -> Result<usize, StoreError>
    where
        I: IntoIterator<Item = Vec<CheckResult>>,
        I::IntoIter: Send,
    {
        let save_error = |source| StoreError::SaveRecent { source };
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(save_error)?;
        sqlx::query("DELETE FROM recent_results")
            .execute(&mut *tx)
            .await
            .map_err(save_error)?;
        let mut saved = 0;
        for chunk in chunks {
            // An unknown monitor fails the save; the transaction rolls back
            // when dropped, so the previous save stays.
            let keys = self
                .keys
                .keys(chunk.iter().map(|result| &result.monitor))
                .map_err(|monitor| StoreError::UnregisteredMonitor { monitor })?;
            if chunk.is_empty() {
                continue;
            }
            let rows: Vec<ResultRow<'_>> = keys
                .iter()
                .zip(&chunk)
                .map(|(&key, result)| result_row(key, result))
                .collect();
            // Two results of one monitor in one millisecond: the second is
            // dropped, as the table only feeds the newest few to the board.
            sqlx::query(INSERT_RECENT_RESULTS)
                .bind(json_rows(&rows).map_err(save_error)?)
                .execute(&mut *tx)
                .await
                .map_err(save_error)?;
            saved += chunk.len();
        }
        sqlx::query(UPSERT_RECENT_COVERED_UNTIL)
            .bind(millis(covered_until))
            .execute(&mut *tx)
            .await
            .map_err(save_error)?;
        tx.commit().await.map_err(save_error)?;
        Ok(saved)
    }

    pub(crate) async fn results_between(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CheckResult>, StoreError> {
        const WHAT: &str = "results between two instants";
        let Some(key) = self.keys.key(id) else {
            return Ok(Vec::new());
        };
        let rows: Vec<StoredResult> = sqlx::query_as(
            "SELECT monitor, started_at, lag_ms, latency_us, health, reason, \
             fallback_health, fallback_latency_us, fallback_reason \
             FROM results WHERE started_at >= ?2 AND started_at < ?3 AND monitor = ?1 \
             ORDER BY started_at",
        )
        .bind(key)
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&self.reader)
        .await
        .map_err(read_error(WHAT))?;
        rows.into_iter()
            .map(|row| check_result(WHAT, id.clone(), row))
            .collect()
    }

    pub(crate) async fn state_changes(
        &self,
        id: &MonitorId,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        const WHAT: &str = "state changes";
        let Some(key) = self.keys.key(id) else {
            return Ok(Vec::new());
        };
        let rows: Vec<StoredStateChange> = sqlx::query_as(
            "SELECT monitor, at, from_health, to_health, reason FROM state_changes \
             WHERE monitor = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )
        .bind(key)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(read_error(WHAT))?;
        rows.into_iter()
            .map(|row| state_change(WHAT, id.clone(), row))
            .collect()
    }

    pub(crate) async fn roll_up(&self, until: Timestamp) -> Result<u64, StoreError> {
        let roll_up_error = |source| StoreError::RollUp { source };
        // Minutes starting before `end` (epoch seconds) have ended by `until`.
        let end = minute_floor(millis(until));
        let mut watermark: Option<i64> = sqlx::query_scalar(SELECT_WATERMARK)
            .fetch_optional(&self.reader)
            .await
            .map_err(roll_up_error)?;
        let mut written = 0;
        for _ in 0..MAX_MINUTES_PER_ROLL_UP {
            // Skip minutes without results: jump to the next result at or
            // after the watermark.
            let from = watermark.map_or(i64::MIN, |minute| minute.saturating_mul(1000));
            let next: Option<i64> =
                sqlx::query_scalar("SELECT MIN(started_at) FROM results WHERE started_at >= ?1")
                    .bind(from)
                    .fetch_one(&self.reader)
                    .await
                    .map_err(roll_up_error)?;
            let Some(next) = next else { break };
            let minute = minute_floor(next);
            if minute >= end {
                break;
            }

            // The minute has ended, so reading it outside the write
            // transaction keeps the writer free while rows are read.
            let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
                "SELECT monitor, health, latency_us FROM results \
                 WHERE started_at >= ?1 AND started_at < ?2 ORDER BY monitor",
            )
            .bind(minute * 1000)
            .bind(minute * 1000 + 60_000)
            .fetch_all(&self.reader)
            .await
            .map_err(roll_up_error)?;
            let rollups = build_rollups(minute, &rows)?;

            let mut tx = self
                .writer
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(roll_up_error)?;
            let current: Option<i64> = sqlx::query_scalar(SELECT_WATERMARK)
                .fetch_optional(&mut *tx)
                .await
                .map_err(roll_up_error)?;
            if current != watermark {
                // Another roll-up (another clone or process) got here first.
                tracing::debug!(minute, "the roll-up watermark moved meanwhile; stopping");
                break;
            }
            let rows: Vec<RollupRow> = rollups
                .iter()
                .map(|(key, rollup)| {
                    (
                        *key,
                        i64::from(rollup.count),
                        i64::from(rollup.failures),
                        i64::from(rollup.degraded),
                        micros(rollup.latency_min),
                        micros(rollup.latency_max),
                        micros(rollup.latency_sum),
                        micros(rollup.p50),
                        micros(rollup.p95),
                        micros(rollup.p99),
                        hex(&rollup.histogram),
                    )
                })
                .collect();
            if !rows.is_empty() {
                sqlx::query(UPSERT_ROLLUPS)
                    .bind(minute)
                    .bind(json_rows(&rows).map_err(roll_up_error)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(roll_up_error)?;
            }
            sqlx::query(UPSERT_WATERMARK)
                .bind(minute + 60)
                .execute(&mut *tx)
                .await
                .map_err(roll_up_error)?;
            tx.commit().await.map_err(roll_up_error)?;
            written += rollups.len() as u64;
            watermark = Some(minute + 60);
        }
        Ok(written)
    }

    pub(crate) async fn rollups(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        const WHAT: &str = "rollups";
        let Some(key) = self.keys.key(id) else {
            return Ok(Vec::new());
        };
        let rows: Vec<StoredRollup> = sqlx::query_as(
            "SELECT minute, count, failures, degraded, latency_min_us, latency_max_us, \
             latency_sum_us, p50_us, p95_us, p99_us, histogram FROM rollups \
             WHERE monitor = ?1 AND minute >= ?2 AND minute < ?3 ORDER BY minute",
        )
        .bind(key)
        .bind(seconds_ceil(millis(from)))
        .bind(seconds_ceil(millis(to)))
        .fetch_all(&self.reader)
        .await
        .map_err(read_error(WHAT))?;
        rows.into_iter()
            .map(|row| {
                Ok(Rollup {
                    minute: timestamp_from_seconds(WHAT, row.minute)?,
                    count: count_from_column(WHAT, row.count)?,
                    failures: count_from_column(WHAT, row.failures)?,
                    degraded: count_from_column(WHAT, row.degraded)?,
                    latency_min: duration_from_micros(WHAT, row.latency_min_us)?,
                    latency_max: duration_from_micros(WHAT, row.latency_max_us)?,
                    latency_sum: duration_from_micros(WHAT, row.latency_sum_us)?,
                    p50: duration_from_micros(WHAT, row.p50_us)?,
                    p95: duration_from_micros(WHAT, row.p95_us)?,
                    p99: duration_from_micros(WHAT, row.p99_us)?,
                    histogram: row.histogram,
                })
            })
            .collect()
    }

    pub(crate) async fn availability(
        &self,
        id: &MonitorId,
        since: Timestamp,
    ) -> Result<Option<f64>, StoreError> {
        let read = read_error("availability");
        let Some(key) = self.keys.key(id) else {
            return Ok(None);
        };
        let since = millis(since);
        // One read transaction: both queries see the same watermark.
        let mut tx = self.reader.begin().await.map_err(&read)?;
        let (rolled, rolled_failures): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(failures), 0) FROM rollups \
             WHERE monitor = ?1 AND minute >= ?2",
        )
        .bind(key)
        .bind(seconds_ceil(since))
        .fetch_one(&mut *tx)
        .await
        .map_err(&read)?;
        let (raw, raw_failures): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(health = ?3), 0) FROM results \
             WHERE started_at >= MAX(?2, COALESCE( \
             (SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, ?2)) \
             AND monitor = ?1",
        )
        .bind(key)
        .bind(since)
        .bind(health_code(Health::Down))
        .fetch_one(&mut *tx)
        .await
        .map_err(&read)?;
        tx.commit().await.map_err(&read)?;
        Ok(ratio(rolled + raw, rolled_failures + raw_failures))
    }

    pub(crate) async fn availability_all(
        &self,
        since: Timestamp,
    ) -> Result<HashMap<MonitorId, f64>, StoreError> {
        let read = read_error("availability of every monitor");
        let since = millis(since);
        let mut tx = self.reader.begin().await.map_err(&read)?;
        let rolled: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor, SUM(count), SUM(failures) FROM rollups \
             WHERE monitor IN (SELECT key FROM monitors) AND minute >= ?1 GROUP BY monitor",
        )
        .bind(seconds_ceil(since))
        .fetch_all(&mut *tx)
        .await
        .map_err(&read)?;
        let raw: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor, COUNT(*), SUM(health = ?2) FROM results \
             WHERE started_at >= MAX(?1, COALESCE( \
             (SELECT value FROM meta WHERE key = 'rollup_watermark') * 1000, ?1)) \
             GROUP BY monitor",
        )
        .bind(since)
        .bind(health_code(Health::Down))
        .fetch_all(&mut *tx)
        .await
        .map_err(&read)?;
        tx.commit().await.map_err(&read)?;

        let mut totals: HashMap<i64, (i64, i64)> = HashMap::new();
        for (key, count, failures) in rolled.into_iter().chain(raw) {
            let total = totals.entry(key).or_default();
            total.0 += count;
            total.1 += failures;
        }
        Ok(totals
            .into_iter()
            .filter_map(|(key, (count, failures))| {
                Some((self.monitor_id(key)?, ratio(count, failures)?))
            })
            .collect())
    }

    pub(crate) async fn prune(
        &self,
        raw_before: Timestamp,
        rollups_before: Timestamp,
    ) -> Result<PruneReport, StoreError> {
        let prune_error = |source| StoreError::Prune { source };
        let watermark: Option<i64> = sqlx::query_scalar(SELECT_WATERMARK)
            .fetch_optional(&self.reader)
            .await
            .map_err(prune_error)?;
        // Raw results not rolled up yet are kept, whatever `raw_before` says.
        let raw_bound = match watermark {
            Some(minute) => millis(raw_before).min(minute.saturating_mul(1000)),
            None => i64::MIN,
        };
        let results = self
            .delete_in_chunks(
                "DELETE FROM results WHERE (started_at, monitor) IN \
                 (SELECT started_at, monitor FROM results WHERE started_at < ?1 LIMIT ?2)",
                raw_bound,
            )
            .await
            .map_err(prune_error)?;
        let rollups = self
            .delete_in_chunks(
                "DELETE FROM rollups WHERE (monitor, minute) IN \
                 (SELECT monitor, minute FROM rollups \
                 WHERE monitor IN (SELECT key FROM monitors) AND minute < ?1 LIMIT ?2)",
                seconds_ceil(millis(rollups_before)),
            )
            .await
            .map_err(prune_error)?;
        let report = PruneReport { results, rollups };
        tracing::debug!(
            results = report.results,
            rollups = report.rollups,
            "pruned old rows"
        );
        Ok(report)
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
}

/// A result as [`INSERT_RESULTS`] reads it.
fn result_row(key: i64, result: &CheckResult) -> ResultRow<'_> {
    let fallback = result.fallback.as_ref();
    let started_at = millis(result.started_at);
    (
        key,
        started_at,
        started_at - millis(result.due_at),
        micros(result.latency),
        health_code(result.health),
        result.reason.as_deref(),
        fallback.map(|fallback| health_code(fallback.health)),
        fallback.map(|fallback| micros(fallback.latency)),
        fallback.and_then(|fallback| fallback.reason.as_deref()),
    )
}

/// Rows as the JSON array of arrays that `json_each` reads.
fn json_rows<T: serde::Serialize>(rows: &[T]) -> Result<String, sqlx::Error> {
    serde_json::to_string(rows).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

/// Lower-case hex, as SQLite's `unhex` reads it.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|error| error.is_unique_violation())
}

enum Nudge {
    Sql(sqlx::Error),
    NoFreeMillisecond,
}

/// Inserts one result at its millisecond or, if another result of the same
/// monitor holds it, up to [`MAX_NUDGE_MS`] later (its `due_at` unchanged:
/// the lag absorbs the shift).
async fn insert_nudged(tx: &mut sqlx::SqliteConnection, row: &ResultRow<'_>) -> Result<(), Nudge> {
    let &(
        key,
        first_free,
        lag,
        latency,
        health,
        reason,
        fallback_health,
        fallback_latency,
        fallback_reason,
    ) = row;
    let due_at = first_free - lag;
    for started_at in first_free..=first_free + MAX_NUDGE_MS {
        // The same statement text each time: sqlx prepares it once per
        // connection and reuses it.
        let inserted = sqlx::query(INSERT_RESULT)
            .bind(key)
            .bind(started_at)
            .bind(started_at - due_at)
            .bind(latency)
            .bind(health)
            .bind(reason)
            .bind(fallback_health)
            .bind(fallback_latency)
            .bind(fallback_reason)
            .execute(&mut *tx)
            .await
            .map_err(Nudge::Sql)?
            .rows_affected();
        if inserted == 1 {
            return Ok(());
        }
    }
    Err(Nudge::NoFreeMillisecond)
}

fn ratio(count: i64, failures: i64) -> Option<f64> {
    // Counts far below 2^53: the conversions are exact.
    #[allow(clippy::cast_precision_loss)]
    (count > 0).then(|| (count - failures) as f64 / count as f64)
}

/// One rollup per monitor from one minute's `(monitor, health, latency_us)`
/// rows, sorted by monitor.
fn build_rollups(minute: i64, rows: &[(i64, i64, i64)]) -> Result<Vec<(i64, Rollup)>, StoreError> {
    const WHAT: &str = "results to roll up";
    let start = timestamp_from_seconds(WHAT, minute)?;
    let histogram_error = |source| StoreError::RollUpHistogram {
        minute: start,
        source,
    };
    let mut rollups = Vec::new();
    let mut current: Option<(i64, RollupBuilder)> = None;
    for &(key, health, latency_us) in rows {
        let health = health_from_code(WHAT, health)?;
        let latency = duration_from_micros(WHAT, latency_us)?;
        match &mut current {
            Some((current_key, builder)) if *current_key == key => builder.add(health, latency),
            _ => {
                if let Some((done_key, builder)) = current.take() {
                    rollups.push((done_key, builder.finish().map_err(histogram_error)?));
                }
                let mut builder = RollupBuilder::new(start).map_err(histogram_error)?;
                builder.add(health, latency);
                current = Some((key, builder));
            }
        }
    }
    if let Some((key, builder)) = current {
        rollups.push((key, builder.finish().map_err(histogram_error)?));
    }
    Ok(rollups)
}

fn check_result(
    what: &'static str,
    monitor: MonitorId,
    row: StoredResult,
) -> Result<CheckResult, StoreError> {
    let fallback = match (row.fallback_health, row.fallback_latency_us) {
        (Some(health), Some(latency_us)) => Some(FallbackResult {
            health: health_from_code(what, health)?,
            latency: duration_from_micros(what, latency_us)?,
            reason: row.fallback_reason,
        }),
        (None, None) => None,
        _ => {
            return Err(StoreError::InvalidRow {
                what,
                detail: "a fallback result has a health but no latency, or the reverse".to_owned(),
            });
        }
    };
    Ok(CheckResult {
        monitor,
        due_at: timestamp_from_millis(what, row.started_at.saturating_sub(row.lag_ms))?,
        started_at: timestamp_from_millis(what, row.started_at)?,
        latency: duration_from_micros(what, row.latency_us)?,
        evaluation: Duration::ZERO,
        health: health_from_code(what, row.health)?,
        reason: row.reason,
        fallback,
    })
}

fn state_change(
    what: &'static str,
    monitor: MonitorId,
    row: StoredStateChange,
) -> Result<StateChange, StoreError> {
    Ok(StateChange {
        monitor,
        from: row
            .from_health
            .map(|code| health_from_code(what, code))
            .transpose()?,
        to: health_from_code(what, row.to_health)?,
        at: timestamp_from_millis(what, row.at)?,
        reason: row.reason,
    })
}
