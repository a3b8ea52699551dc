//! A store in trouble never stops probing. Its disk full (a real tmpfs
//! mounted for the test, filled to the last byte): results wait in the
//! write buffer; past its bound the oldest raw results are dropped,
//! counted, never a state change; writing resumes by itself when space
//! returns; and a shutdown while the disk is still full reports what it
//! could not write. Its write lock held by another process for less than
//! the busy timeout (slow, but the write succeeds; on both engines): past
//! the bound the recorder holds probes back instead of dropping anything.
//!
//! Real time: the store's IO runs on SQLite's own threads. The buffer is
//! made small so it fills in a second or two.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_engine::{
    Checker, Engine, EngineConfig, EngineHandle, Metrics, SystemClock, WriteBufferBound, Writing,
};
use watchkeeper_store::Store;
use watchkeeper_testkit::{SmallFilesystem, TestStorage, WriteLock, on_both_engines, poll_until};

use crate::{monitor, open_store};

const DEADLINE: Duration = Duration::from_secs(20);
const MONITORS: usize = 5;
/// About two seconds of results of five monitors probed every second.
const BUFFER: usize = 10;

/// Up until told otherwise, then down; counts every check it answers.
struct Counted {
    clock: Arc<dyn Clock>,
    down: AtomicBool,
    checks: AtomicU64,
}

impl Checker for Counted {
    async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let down = monitor.id.as_str() == "m0" && self.down.load(Ordering::SeqCst);
        CheckResult {
            monitor: monitor.id.clone(),
            due_at,
            started_at: Timestamp::from_millisecond(self.clock.now().as_millisecond()).unwrap(),
            latency: Duration::from_millis(1),
            evaluation: Duration::ZERO,
            health: if down { Health::Down } else { Health::Up },
            reason: down.then(|| "switched off".to_owned()),
            fallback: None,
        }
    }
}

fn ids() -> Vec<MonitorId> {
    (0..MONITORS)
        .map(|n| MonitorId::parse(&format!("m{n}")).unwrap())
        .collect()
}

fn counted(clock: Arc<dyn Clock>) -> Arc<Counted> {
    Arc::new(Counted {
        clock,
        down: AtomicBool::new(false),
        checks: AtomicU64::new(0),
    })
}

async fn start(
    store: &Store,
    checker: Arc<Counted>,
    clock: Arc<dyn Clock>,
    buffer: usize,
    metrics: Metrics,
) -> EngineHandle {
    let monitors = ids()
        .iter()
        .map(|id| monitor(id.as_str(), Duration::from_millis(500)))
        .collect();
    let mut config = EngineConfig::new(monitors);
    config.batch_size = 5;
    config.write_buffer = WriteBufferBound::Fixed(buffer);
    config.flush_interval = Duration::from_millis(200);
    config.shutdown_grace = Duration::from_millis(500);
    Engine::start(
        config,
        checker,
        store.clone(),
        clock,
        metrics,
        CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// Every monitor's newest result on the board, oldest first.
fn newest(engine: &EngineHandle) -> Vec<Option<Timestamp>> {
    ids()
        .iter()
        .map(|id| engine.board().get(id)?.last().map(|last| last.started_at))
        .collect()
}

async fn wait_for_new_results(engine: &EngineHandle) {
    let before = newest(engine);
    poll_until(DEADLINE, "a new result of every monitor", || async {
        let now = newest(engine);
        now.iter()
            .zip(&before)
            .all(|(now, before)| now > before)
            .then_some(())
    })
    .await;
}

async fn stored_results(store: &Store) -> usize {
    let mut count = 0;
    for id in ids() {
        count += store
            .results_between(&id, Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap()
            .len();
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_drops_the_oldest_results_past_the_bound_and_writing_resumes() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let store = Store::open(&StorageConfig::sqlite(disk.path().join("watchkeeper.db")))
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let checker = counted(clock.clone());
    let engine = start(&store, checker.clone(), clock, BUFFER, crate::metrics().1).await;
    let health = engine.store_health();
    wait_for_new_results(&engine).await;
    poll_until(DEADLINE, "a first write", || async {
        (stored_results(&store).await > 0).then_some(())
    })
    .await;

    let filler = disk.fill().unwrap();
    poll_until(DEADLINE, "writes to fail", || async {
        (health.snapshot().writing == Writing::Failing).then_some(())
    })
    .await;
    // A change of health while nothing can be written.
    checker.down.store(true, Ordering::SeqCst);
    let snapshot = poll_until(DEADLINE, "results to be dropped", || async {
        let snapshot = health.snapshot();
        snapshot.dropping.then_some(snapshot)
    })
    .await;
    assert_eq!(snapshot.buffer_capacity, BUFFER);
    assert!(
        snapshot
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("database or disk is full")),
        "{snapshot:?}"
    );
    // Probing and the board go on, and the buffer stays within its bound.
    wait_for_new_results(&engine).await;
    let snapshot = health.snapshot();
    assert!(
        snapshot.buffered_results <= BUFFER,
        "{} results buffered, bound {BUFFER}",
        snapshot.buffered_results
    );
    assert_eq!(
        engine
            .board()
            .get(&ids()[0])
            .unwrap()
            .status
            .unwrap()
            .health,
        Health::Down
    );

    filler.release().unwrap();
    // Retried with backoff (1 s, 2 s, 4 s…): it resumes by itself.
    poll_until(DEADLINE, "writing to resume", || async {
        let snapshot = health.snapshot();
        (snapshot.writing == Writing::Ok).then_some(())
    })
    .await;
    let report = engine.shutdown().await;
    assert!(report.is_clean(), "{report:?}");
    assert!(report.dropped_results > 0, "{report:?}");

    // Every check is either in the store or counted as dropped, and the
    // state change recorded while the disk was full was written.
    let checks = checker.checks.load(Ordering::SeqCst);
    let stored = stored_results(&store).await as u64;
    assert_eq!(stored + report.dropped_results, checks, "{report:?}");
    let changes = store.state_changes(&ids()[0], 10).await.unwrap();
    assert_eq!(changes.first().map(|change| change.to), Some(Health::Down));
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_while_the_disk_is_full_reports_what_it_could_not_write() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let store = Store::open(&StorageConfig::sqlite(disk.path().join("watchkeeper.db")))
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let engine = start(
        &store,
        counted(clock.clone()),
        clock,
        BUFFER,
        crate::metrics().1,
    )
    .await;
    let health = engine.store_health();
    wait_for_new_results(&engine).await;

    let _filler = disk.fill().unwrap();
    let snapshot = poll_until(DEADLINE, "results waiting while writes fail", || async {
        let snapshot = health.snapshot();
        (snapshot.writing == Writing::Failing && snapshot.buffered_results > 0).then_some(snapshot)
    })
    .await;
    let report = engine.shutdown().await;
    assert!(!report.is_clean(), "{report:?}");
    assert!(
        report.unwritten_results >= snapshot.buffered_results,
        "{report:?}, buffered before: {snapshot:?}"
    );
    store.close().await;
}

fn skipped(registry: &prometheus_client::registry::Registry) -> f64 {
    let text = crate::encode(registry);
    text.lines()
        .find_map(|line| line.strip_prefix("watchkeeper_probes_skipped_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn past_the_bound_a_slow_store_holds_probes_back_and_drops_nothing(engine) {
        let storage = TestStorage::new(engine).await;
        let store = open_store(&storage).await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let checker = counted(clock.clone());
        let (registry, metrics) = crate::metrics();
        // One second of results: full a second into the lock, well within
        // SQLite's 5 s busy timeout (PostgreSQL waits for a lock as long as it
        // is held), so the write waits and then succeeds.
        let engine = start(&store, checker.clone(), clock, MONITORS, metrics.clone()).await;
        let health = engine.store_health();
        poll_until(DEADLINE, "a first write", || async {
            (stored_results(&store).await > 0).then_some(())
        })
        .await;

        let lock = WriteLock::hold(&storage.config().database).await.unwrap();
        poll_until(
            DEADLINE,
            "the buffer to fill and probes to wait",
            || async {
                let snapshot = health.snapshot();
                assert!(
                    snapshot.buffered_results <= MONITORS,
                    "{} results buffered, bound {MONITORS}",
                    snapshot.buffered_results
                );
                (snapshot.buffered_results == MONITORS && skipped(&registry) > 0.0).then_some(())
            },
        )
        .await;
        let snapshot = health.snapshot();
        lock.release().await.unwrap();
        assert_eq!(snapshot.writing, Writing::Ok, "{snapshot:?}");
        assert_eq!(snapshot.dropped_results, 0, "{snapshot:?}");

        let report = engine.shutdown().await;
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(report.dropped_results, 0);
        // Nothing was dropped: every check is in the store.
        let checks = checker.checks.load(Ordering::SeqCst);
        assert_eq!(stored_results(&store).await as u64, checks);
        store.close().await;
    }
}
