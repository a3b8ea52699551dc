//! Integration tests of the store: each test runs once on SQLite and once on
//! PostgreSQL (`<test>::sqlite`, `<test>::postgres`, from
//! `on_both_engines!`), on a fresh database of its own (a file in a
//! temporary directory, or a new database on the test binary's throwaway
//! PostgreSQL server), with timestamps fixed relative to one base instant
//! (never the wall clock). The few tests about SQLite's file are SQLite's
//! alone.

// Helpers outside #[test] functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod acks;
mod alerts;
mod copy;
mod disk_full;
mod escalations;
mod incidents;
mod lifecycle;
mod oncall;
mod outbox;
mod postgres;
mod recent;
mod results;
mod rollups;
mod silences;
mod subscribers;
mod tokens;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::check::{CheckResult, FallbackResult, StateChange};
use watchkeeper_domain::{Health, MonitorId};
use watchkeeper_store::Store;
use watchkeeper_testkit::{Engine, TestStorage};

/// Start of a minute: every test's times are offsets from here.
fn base() -> Timestamp {
    "2026-03-02T10:00:00Z".parse().unwrap()
}

/// `base()` plus `ms` milliseconds.
fn at(ms: i64) -> Timestamp {
    base() + SignedDuration::from_millis(ms)
}

fn id(raw: &str) -> MonitorId {
    MonitorId::parse(raw).unwrap()
}

/// A result started `ms` after the base, due 2 ms earlier.
fn result(monitor: &str, ms: i64, latency_us: u64, health: Health) -> CheckResult {
    CheckResult {
        monitor: id(monitor),
        due_at: at(ms - 2),
        started_at: at(ms),
        latency: Duration::from_micros(latency_us),
        evaluation: Duration::ZERO,
        health,
        reason: (health != Health::Up).then(|| format!("{health} at {ms} ms")),
        fallback: None,
    }
}

fn with_fallback(
    mut result: CheckResult,
    health: Health,
    latency_us: u64,
    reason: Option<&str>,
) -> CheckResult {
    result.fallback = Some(FallbackResult {
        health,
        latency: Duration::from_micros(latency_us),
        reason: reason.map(str::to_owned),
    });
    result
}

fn change(monitor: &str, from: Option<Health>, to: Health, ms: i64) -> StateChange {
    StateChange {
        monitor: id(monitor),
        from,
        to,
        at: at(ms),
        reason: (to != Health::Up).then(|| format!("went {to}")),
    }
}

/// Up to `limit` results of one monitor, newest first, read from the results
/// table (which the engine never does for recent results: it keeps them).
async fn newest(store: &Store, monitor: &MonitorId, limit: usize) -> Vec<CheckResult> {
    let mut results = store
        .results_between(monitor, Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    results.reverse();
    results.truncate(limit);
    results
}

/// The newest result of each monitor, as the engine loads it at start.
async fn last_results(store: &Store) -> HashMap<MonitorId, CheckResult> {
    store
        .load_recent(1)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(id, mut results)| Some((id, results.pop()?)))
        .collect()
}

/// A fresh database of one engine: a file in a temporary directory (removed
/// when this is dropped) or a new PostgreSQL database.
struct TestDatabase {
    storage: TestStorage,
}

impl TestDatabase {
    async fn new(engine: Engine) -> Self {
        Self {
            storage: TestStorage::new(engine).await,
        }
    }

    fn engine(&self) -> Engine {
        self.storage.engine()
    }

    /// The SQLite file; only for the tests about SQLite's file.
    fn path(&self) -> &Path {
        match self.storage.sqlite_path() {
            Some(path) => path,
            None => panic!("a {} database has no file", self.engine()),
        }
    }

    fn storage_config(&self) -> &watchkeeper_domain::storage::StorageConfig {
        self.storage.config()
    }

    async fn open(&self) -> Store {
        match Store::open(self.storage.config()).await {
            Ok(store) => store,
            Err(error) => panic!("cannot open the {} store: {error}", self.engine()),
        }
    }

    /// A fresh store with these monitors registered.
    async fn open_with(&self, monitors: &[&str]) -> Store {
        let store = self.open().await;
        let ids: Vec<MonitorId> = monitors.iter().map(|raw| id(raw)).collect();
        store.register_monitors(&ids).await.unwrap();
        store
    }

    /// Every stored row of `tokens` as `name role hash`, read with SQL of
    /// its own (not through the store), to see what is really on disk.
    async fn raw_token_rows(&self) -> Vec<String> {
        const QUERY: &str = "SELECT name || ' ' || role || ' ' || hash FROM tokens ORDER BY name";
        match &self.storage_config().database {
            watchkeeper_domain::storage::Database::Sqlite { path } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                let rows = sqlx::query_scalar(QUERY).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
            watchkeeper_domain::storage::Database::Postgres(url) => {
                let pool = sqlx::PgPool::connect(&watchkeeper_testkit::postgres::connect_text(url))
                    .await
                    .unwrap();
                let rows = sqlx::query_scalar(QUERY).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
        }
    }

    /// Runs `statement` with SQL of its own (not through the store), to
    /// damage a row the store wrote.
    async fn execute_raw(&self, statement: &'static str) {
        match &self.storage_config().database {
            watchkeeper_domain::storage::Database::Sqlite { path } => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
            watchkeeper_domain::storage::Database::Postgres(url) => {
                let pool = sqlx::PgPool::connect(&watchkeeper_testkit::postgres::connect_text(url))
                    .await
                    .unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }
}
