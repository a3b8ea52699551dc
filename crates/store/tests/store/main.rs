//! Integration tests of the store: each test opens a fresh SQLite database in
//! its own temporary directory, with timestamps fixed relative to one base
//! instant (never the wall clock).

// Helpers outside #[test] functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod disk_full;
mod lifecycle;
mod recent;
mod results;
mod rollups;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::check::{CheckResult, FallbackResult, StateChange};
use watchkeeper_domain::{Health, MonitorId};
use watchkeeper_store::Store;

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

/// A temporary directory holding one database file; the directory is removed
/// when this is dropped.
struct TestDatabase {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl TestDatabase {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watchkeeper.db");
        Self { _dir: dir, path }
    }

    async fn open(&self) -> Store {
        Store::open(&self.path).await.unwrap()
    }

    /// A fresh store with these monitors registered.
    async fn open_with(&self, monitors: &[&str]) -> Store {
        let store = self.open().await;
        let ids: Vec<MonitorId> = monitors.iter().map(|raw| id(raw)).collect();
        store.register_monitors(&ids).await.unwrap();
        store
    }
}
