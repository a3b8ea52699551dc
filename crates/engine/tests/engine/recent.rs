//! Each monitor's recent results live on the board (the store keeps results
//! in time order) and are saved to the store: every few rollup runs, and at
//! shutdown. Real time, as in `rollups.rs`, with short intervals.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_engine::{
    Board, Checker, Engine, EngineConfig, EngineHandle, Metrics, Supervisor, SystemClock, TaskState,
};
use watchkeeper_store::Store;
use watchkeeper_testkit::{TestStorage, on_both_engines, poll_until};

use crate::monitor;

/// Up, with a latency of 1, 2, 3… ms, so every result is told apart;
/// started to the millisecond, as the store keeps it.
struct Counting {
    clock: Arc<dyn Clock>,
    calls: AtomicU64,
}

impl Counting {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            calls: AtomicU64::new(0),
        }
    }
}

impl Checker for Counting {
    async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        CheckResult {
            monitor: monitor.id.clone(),
            due_at,
            started_at: Timestamp::from_millisecond(self.clock.now().as_millisecond()).unwrap(),
            latency: Duration::from_millis(n),
            evaluation: Duration::ZERO,
            health: Health::Up,
            reason: None,
            fallback: None,
        }
    }
}

/// Never answers, so a restarted engine adds no result of its own.
struct Silent;

impl Checker for Silent {
    async fn check(&self, _monitor: &MonitorSpec, _due_at: Timestamp) -> CheckResult {
        std::future::pending().await
    }
}

async fn wait_for_results(board: &Board, id: &MonitorId, count: usize) {
    poll_until(Duration::from_secs(10), "results on the board", || {
        let board = board.clone();
        let id = id.clone();
        async move { (board.get(&id)?.recent().len() >= count).then_some(()) }
    })
    .await;
}

fn recent(board: &Board, id: &MonitorId) -> Vec<CheckResult> {
    board.get(id).unwrap().recent().cloned().collect()
}

fn config() -> EngineConfig {
    let mut config = EngineConfig::new(vec![monitor("api", Duration::from_millis(500))]);
    config.flush_interval = Duration::from_millis(50);
    config.rollup_every = Duration::from_millis(100);
    config.rollup_margin = Duration::from_millis(100);
    config.shutdown_grace = Duration::from_millis(100);
    config
}

async fn start<C: Checker>(
    store: &Store,
    clock: Arc<dyn Clock>,
    checker: C,
    metrics: Metrics,
    cancel: CancellationToken,
) -> EngineHandle {
    Engine::start(
        config(),
        Arc::new(checker),
        store.clone(),
        clock,
        metrics,
        cancel,
    )
    .await
    .unwrap()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_restart_shows_the_recent_results_the_board_had_at_shutdown(engine) {
        let storage = TestStorage::new(engine).await;
        let store = crate::open_store(&storage).await;
        let id = MonitorId::parse("api").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let checker = Counting::new(clock.clone());
        let engine = start(
            &store,
            clock.clone(),
            checker,
            crate::metrics().1,
            CancellationToken::new(),
        )
        .await;
        let board = engine.board();
        wait_for_results(&board, &id, 3).await;
        assert!(engine.shutdown().await.is_clean());
        let before = recent(&board, &id);
        // Newest first, each one distinct.
        assert!(
            before
                .windows(2)
                .all(|pair| pair[0].started_at > pair[1].started_at),
            "{before:?}"
        );

        let engine = start(
            &store,
            clock,
            Silent,
            crate::metrics().1,
            CancellationToken::new(),
        )
        .await;
        assert_eq!(recent(&engine.board(), &id), before);
        assert_eq!(engine.board().get(&id).unwrap().last(), before.first());
        assert!(engine.shutdown().await.is_clean());
        store.close().await;
    }
}

fn saves(registry: &prometheus_client::registry::Registry) -> u64 {
    let text = crate::encode(registry);
    text.lines()
        .find_map(|line| line.strip_prefix("watchkeeper_recent_results_saves_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

on_both_engines! {
    /// Without a shutdown (a crash), the periodic save still holds the recent
    /// results: shown here by deleting every raw result before the restart.
    #[flavor(multi_thread)]
    async fn the_periodic_save_keeps_recent_results_without_a_shutdown(engine) {
        let storage = TestStorage::new(engine).await;
        let store = crate::open_store(&storage).await;
        let id = MonitorId::parse("api").unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let checker = Counting::new(clock.clone());
        let (registry, metrics) = crate::metrics();
        let cancel = CancellationToken::new();
        // Its own supervisor, to see every task of the engine end.
        let supervisor = Supervisor::new(cancel.clone());
        let engine = Engine::start_supervised(
            config(),
            Arc::new(checker),
            store.clone(),
            clock.clone(),
            metrics.clone(),
            cancel.clone(),
            &supervisor,
        )
        .await
        .unwrap();
        let board = engine.board();
        wait_for_results(&board, &id, 3).await;
        // Rollups run every 100 ms and the save every tenth run; the next save
        // holds at least those three.
        let saves = || saves(&registry);
        let before = saves();
        poll_until(Duration::from_secs(15), "a save of the board", || async {
            (saves() > before).then_some(())
        })
        .await;
        // Stop without `shutdown`: no save at the end.
        cancel.cancel();
        drop(engine);
        poll_until(Duration::from_secs(15), "every engine task to end", || async {
            let tasks = supervisor.tasks();
            (!tasks.is_empty() && tasks.iter().all(|task| task.state == TaskState::Stopped))
                .then_some(())
        })
        .await;
        let seen = recent(&board, &id);

        // Roll everything up and delete every raw result: what is left can only
        // come from a save.
        let later = clock.now() + SignedDuration::from_mins(5);
        while store.roll_up(later).await.unwrap() > 0 {}
        store.prune(later, Timestamp::MIN).await.unwrap();
        assert!(
            store
                .results_between(&id, Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap()
                .is_empty()
        );
        let saved = store.load_recent(10).await.unwrap()[&id].clone();
        assert!(saved.len() >= 3, "{saved:?}");
        assert!(
            saved.iter().all(|result| seen.contains(result)),
            "saved {saved:?}, seen {seen:?}"
        );

        let engine = start(
            &store,
            clock,
            Silent,
            crate::metrics().1,
            CancellationToken::new(),
        )
        .await;
        assert_eq!(recent(&engine.board(), &id), saved);
        assert!(engine.shutdown().await.is_clean());
        store.close().await;
    }
}
