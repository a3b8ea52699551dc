//! Watchkeeper's persistence: raw check results, state changes (kept for
//! ever) and per-minute rollups, behind one [`Store`] type.
//!
//! The public API speaks only domain types ([`CheckResult`], [`StateChange`],
//! [`Rollup`], [`jiff::Timestamp`]); the SQL of each engine lives in its own
//! module (`sqlite`) with its own migrations (`migrations/<engine>/`), so a
//! PostgreSQL backend is one more [`Backend`] variant. Tables, retention and
//! row sizes: `docs/storage.md`.

mod column;
mod error;
mod monitor_keys;
mod sqlite;

use std::collections::HashMap;
use std::path::Path;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::check::{CheckResult, MonitorStatus, StateChange};
use watchkeeper_domain::rollup::Rollup;

pub use error::StoreError;

/// What [`Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Raw results deleted.
    pub results: u64,
    /// Rollup rows deleted.
    pub rollups: u64,
}

/// The store. Cloning is cheap: clones share the connection pools and the
/// monitor key map.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// One variant per database engine.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Opens (creating it if missing) the SQLite database at `path` and
    /// applies pending migrations. A file that is not a SQLite database is an
    /// error naming the path, and the file is left as it was.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let backend = Backend::Sqlite(sqlite::SqliteStore::open(path).await?);
        Ok(Store { backend })
    }

    /// Gives each monitor id a small integer key (idempotent: a known id
    /// keeps its key, across restarts too). Results can only be written for
    /// registered monitors.
    pub async fn register_monitors(&self, ids: &[MonitorId]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.register_monitors(ids).await,
        }
    }

    /// Writes results and state changes in one transaction: all or nothing.
    /// A result or change for an unregistered monitor fails the whole batch.
    /// Two results of one monitor that started in the same millisecond are
    /// both kept: the later is stored 1 ms later (its `due_at` unchanged).
    /// Timestamps are stored to the millisecond, latencies to the microsecond.
    /// Returns the id of the last state change written (the highest of the
    /// batch; ids grow in the order of `changes`), `None` without changes:
    /// how far state changes are committed, for whoever waits on them.
    pub async fn write_batch(
        &self,
        results: &[CheckResult],
        changes: &[StateChange],
    ) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.write_batch(results, changes).await,
        }
    }

    /// The status left by each monitor's latest state change, so a restart
    /// neither repeats nor loses a change.
    pub async fn current_states(&self) -> Result<HashMap<MonitorId, MonitorStatus>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.current_states().await,
        }
    }

    /// Up to `per_monitor` newest results of each monitor that has any,
    /// newest first, for the engine's in-memory view at start: what
    /// [`Store::save_recent`] saved last, merged with the results that
    /// started since. Reading one monitor's results from the results table
    /// is not offered for recent results: the table is ordered by time.
    pub async fn load_recent(
        &self,
        per_monitor: usize,
    ) -> Result<HashMap<MonitorId, Vec<CheckResult>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.load_recent(per_monitor).await,
        }
    }

    /// Replaces the saved recent results with the results of `chunks`,
    /// which account for every result that started before `covered_until`
    /// (the newest few of each monitor; [`Store::load_recent`] reads the
    /// rest from the results table). Chunks are taken one at a time, so a
    /// caller copying them out of memory never holds a copy of all of them.
    /// One transaction: a failed save leaves the previous one. Returns how
    /// many results were saved.
    pub async fn save_recent<I>(
        &self,
        chunks: I,
        covered_until: Timestamp,
    ) -> Result<usize, StoreError>
    where
        I: IntoIterator<Item = Vec<CheckResult>>,
        I::IntoIter: Send,
    {
        match &self.backend {
            Backend::Sqlite(store) => store.save_recent(chunks, covered_until).await,
        }
    }

    /// Results of one monitor that started in `[from, to)`, oldest first.
    /// Results are ordered by time, so this reads every result of the range:
    /// for short ranges, exports and tests.
    pub async fn results_between(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CheckResult>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.results_between(id, from, to).await,
        }
    }

    /// Up to `limit` state changes of one monitor, newest first.
    pub async fn state_changes(
        &self,
        id: &MonitorId,
        limit: u32,
    ) -> Result<Vec<StateChange>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.state_changes(id, limit).await,
        }
    }

    /// Rolls up every whole minute that ends at or before `until` and is past
    /// the stored watermark, at most 60 minutes with results per call (call
    /// again while it returns more than zero to catch up). Minutes without
    /// results are skipped and produce no rows. Each minute is written with
    /// the watermark in its own short transaction, so a minute is never rolled
    /// twice; results that arrive for a minute already rolled up are not
    /// counted in rollups, so pass `until` a little behind the clock (the
    /// batch writer's flush interval). Returns the rollup rows written.
    pub async fn roll_up(&self, until: Timestamp) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.roll_up(until).await,
        }
    }

    /// Rollups of one monitor whose minute starts in `[from, to)`, oldest
    /// first.
    pub async fn rollups(
        &self,
        id: &MonitorId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Rollup>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.rollups(id, from, to).await,
        }
    }

    /// Fraction of checks since `since` that were not down (degraded counts
    /// as available): rolled-up minutes that start at or after `since` plus
    /// the raw results not rolled up yet. `None` when there is no data.
    pub async fn availability(
        &self,
        id: &MonitorId,
        since: Timestamp,
    ) -> Result<Option<f64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.availability(id, since).await,
        }
    }

    /// [`Store::availability`] of every monitor that has data since `since`.
    pub async fn availability_all(
        &self,
        since: Timestamp,
    ) -> Result<HashMap<MonitorId, f64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.availability_all(since).await,
        }
    }

    /// Deletes raw results that started before `raw_before` and rollups of
    /// minutes that start before `rollups_before`, in bounded chunks so
    /// writers are not starved. Raw results not rolled up yet are kept
    /// whatever `raw_before` says, so no minute is lost from the rollups.
    /// State changes are never deleted.
    pub async fn prune(
        &self,
        raw_before: Timestamp,
        rollups_before: Timestamp,
    ) -> Result<PruneReport, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.prune(raw_before, rollups_before).await,
        }
    }

    /// Bytes on disk: the database pages plus the write-ahead log.
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite(store) => store.size_bytes().await,
        }
    }

    /// Checkpoints the write-ahead log and closes every connection. Clones of
    /// this store cannot be used afterwards.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(store) => store.close().await,
        }
    }
}
