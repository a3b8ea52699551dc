//! Watchkeeper's persistence: raw check results, state changes (kept for
//! ever) and per-minute rollups, behind one [`Store`] type, on SQLite or
//! PostgreSQL with the same semantics.
//!
//! The public API speaks only domain types ([`CheckResult`], [`StateChange`],
//! [`Rollup`], [`jiff::Timestamp`]). Tables, retention and row sizes:
//! `docs/storage.md`.
//!
//! # One module per aggregate, one per engine
//!
//! Each aggregate — `monitors`, `results`, `state_changes`, `rollups`,
//! `recent` (the saved recent results), `meta`, `alerts`, `outbox`,
//! `silences`, `tokens` (API tokens and the audit log), `oncall`
//! (schedule overrides, acknowledgements, escalation ladders, ack links)
//! `incidents` (incidents, their components, alerts and timelines) and
//! `subscribers` (the status page's subscribers) —
//! has
//!
//! - a shared module, `src/<aggregate>.rs`: the row-level trait every
//!   backend implements (`ResultRows`, `RollupRows`, …: integer keys,
//!   milliseconds, rows), the `impl Store` block with the aggregate's public
//!   methods, and everything that is not an engine's business — resolving
//!   monitor ids to keys and back, encoding and decoding rows, building
//!   rollups, merging the saved recent results with the newer ones;
//! - one module per engine, `src/sqlite/<aggregate>.rs` and
//!   `src/postgres/<aggregate>.rs`: that trait's implementation, which is
//!   SQL and nothing else;
//! - the tables in each engine's migrations (`migrations/<engine>/`).
//!
//! The facade dispatches once per call with [`backend!`]: [`Backend`] is an
//! enum matched in place, so every call is static dispatch and the write
//! path boxes no future. Adding an aggregate (the notification outbox next)
//! is one shared module, one module per engine and one migration per engine;
//! this file gains only the `mod` lines. Every store test runs on both
//! engines (`tests/store/`, testkit's `on_both_engines!`).

/// Runs `$call` with `$engine` bound to the store's backend, whichever it is.
macro_rules! backend {
    ($store:expr, $engine:ident => $call:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($engine) => $call,
            $crate::Backend::Postgres($engine) => $call,
        }
    };
}

mod alerts;
mod column;
mod copy;
mod error;
mod incidents;
mod meta;
mod monitor_keys;
mod monitors;
mod oncall;
mod outbox;
mod postgres;
mod recent;
mod results;
mod rollups;
mod silences;
mod sqlite;
mod state_changes;
mod subscribers;
mod tokens;

use monitor_keys::MonitorKeys;
use watchkeeper_domain::storage::{Database, StorageConfig};

pub use alerts::AlertEvent;
pub use copy::{CopyProgress, CopyReport, DEFAULT_COPY_BATCH};
pub use error::StoreError;
pub use incidents::{
    IncidentAlert, IncidentChange, IncidentCommit, IncidentQuery, NewEntry, NewIncident,
    StoredEntry, StoredIncident,
};
pub use oncall::{
    AckOutcome, AckVia, EscalationRecord, EscalationStep, NewAck, NewEscalationStep, NewOverride,
    OverrideConflict, StoredAck, StoredOverride,
};
pub use outbox::{
    AttemptRecord, Delivery, DeliveryAttempt, DeliveryStatus, DisabledNotifier, DispatchCommit,
    GroupRecord, NewDelivery,
};
pub use results::{Batch, Committed, PruneReport};
pub use rollups::DayCount;
pub use silences::StoredSilence;
pub use subscribers::{NewSubscriber, StoredSubscriber};
pub use tokens::{AuditEntry, NewAuditEntry, Revoked, StoredToken};

#[cfg(doc)]
use {
    jiff::Timestamp, watchkeeper_domain::check::CheckResult,
    watchkeeper_domain::check::StateChange, watchkeeper_domain::rollup::Rollup,
};

/// The store. Cloning is cheap: clones share the connection pools and the
/// monitor key map.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// The monitors table in memory, shared by every clone.
    keys: MonitorKeys,
}

/// One variant per database engine.
#[derive(Debug, Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PostgresStore),
}

impl Store {
    /// Opens the database `config` names and applies pending migrations:
    /// a SQLite file (created if missing; a file that is not a SQLite
    /// database is an error naming the path, and the file is left as it
    /// was) or a PostgreSQL database (which must exist; its URL is shown
    /// with the password masked). The retentions in `config` are the
    /// engine's business, not the store's.
    pub async fn open(config: &StorageConfig) -> Result<Store, StoreError> {
        let backend = match &config.database {
            Database::Sqlite { path } => Backend::Sqlite(sqlite::SqliteStore::open(path).await?),
            Database::Postgres(url) => Backend::Postgres(postgres::PostgresStore::open(url).await?),
        };
        let store = Store {
            backend,
            keys: MonitorKeys::default(),
        };
        store.reload_monitor_keys().await?;
        Ok(store)
    }

    /// The engine's name: `sqlite` or `postgres`.
    pub fn engine(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Bytes on disk: on SQLite the database pages plus the write-ahead log;
    /// on PostgreSQL our tables with their indexes and TOAST
    /// (`pg_total_relation_size`).
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        backend!(self, engine => engine.size_bytes().await)
    }

    /// Closes every connection (on SQLite after checkpointing the
    /// write-ahead log; on PostgreSQL the server keeps the data and ends
    /// the sessions). Clones of this store cannot be used afterwards.
    pub async fn close(&self) {
        backend!(self, engine => engine.close().await);
    }
}
