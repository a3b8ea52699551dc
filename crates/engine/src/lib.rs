//! The running system: it schedules every monitor's probe, turns results into
//! state changes, metrics and batched writes, rolls results up per minute and
//! prunes what retention no longer needs.
//!
//! Shape: [`Engine::start`] spawns four long-running tasks that share one
//! cancellation token — the [`scheduler`] (decides *when*, through the pure
//! `watchkeeper_domain::schedule`), the probe tasks it spawns (through a
//! [`Checker`], in production `watchkeeper_runner::Prober`), the [`recorder`]
//! (the one place where results have effects: state, metrics, store), and
//! [`maintenance`] (rollups and pruning). [`EngineHandle::shutdown`] stops
//! them in that order so every finished result is flushed, and reports what
//! could not be. A busy or full store never stops probing: the recorder
//! writes beside its receive loop, through a bounded buffer
//! (`recorder::write_buffer`), and [`StoreHealth`] says how writing goes.

pub mod board;
pub mod clock;
pub mod maintenance;
pub mod metrics;
pub mod recorder;
pub mod scheduler;
pub mod store_health;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_store::Store;

pub use board::{Board, MonitorView};
pub use clock::SystemClock;
pub use metrics::Metrics;
pub use store_health::{StoreHealth, StoreHealthSnapshot, Writing};

/// Runs one check of one monitor. Production uses the runner's `Prober`;
/// tests substitute a scripted checker and drive time by hand.
pub trait Checker: Send + Sync + 'static {
    fn check(
        &self,
        monitor: &MonitorSpec,
        due_at: Timestamp,
    ) -> impl Future<Output = CheckResult> + Send;
}

impl Checker for watchkeeper_runner::Prober {
    fn check(
        &self,
        monitor: &MonitorSpec,
        due_at: Timestamp,
    ) -> impl Future<Output = CheckResult> + Send {
        watchkeeper_runner::Prober::check(self, monitor, due_at)
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub monitors: Vec<Arc<MonitorSpec>>,
    /// At most this many probes in flight at once (`serve` derives it from
    /// the monitors and the open-files limit unless the config sets it).
    pub concurrency: usize,
    pub raw_retention: Duration,
    pub rollup_retention: Duration,
    /// Results are written when this many are buffered…
    pub batch_size: usize,
    /// …or when the oldest buffered one is this old.
    pub flush_interval: Duration,
    /// Results held in memory while the store is slow, busy or failing,
    /// before back-pressure (or, while writes fail, dropping the oldest raw
    /// results) starts: by default a minute of results at the configured
    /// rate ([`recorder::results_within`]); never fewer than `batch_size`.
    pub write_buffer: usize,
    /// How often finished minutes are rolled up (and, every 20th time,
    /// retention is applied).
    pub rollup_every: Duration,
    /// A minute is rolled up no sooner than `flush_interval` plus this after
    /// it ended; probes still in flight and results not written yet hold it
    /// back further, however long they take.
    pub rollup_margin: Duration,
    /// How long shutdown waits for probes in flight before abandoning them.
    pub shutdown_grace: Duration,
}

impl EngineConfig {
    pub fn new(monitors: Vec<Arc<MonitorSpec>>) -> Self {
        Self {
            concurrency: 512,
            raw_retention: Duration::from_secs(48 * 3600),
            rollup_retention: Duration::from_secs(90 * 24 * 3600),
            batch_size: 1_000,
            flush_interval: Duration::from_secs(1),
            write_buffer: recorder::results_within(recorder::WRITE_BUFFER_WINDOW, &monitors),
            rollup_every: Duration::from_secs(30),
            rollup_margin: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(5),
            monitors,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot prepare the store for the configured monitors: {0}")]
    Store(#[from] watchkeeper_store::StoreError),
}

/// What [`EngineHandle::shutdown`] could not save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "results may have been lost: check `is_clean`"]
pub struct ShutdownReport {
    /// Results the store still refused after the final attempts: lost.
    pub unwritten_results: usize,
    /// State changes likewise lost.
    pub unwritten_state_changes: usize,
    /// The recorder task failed, so whatever it held is lost, uncounted.
    pub recorder_failed: bool,
    /// Raw results dropped while running, because the store kept failing
    /// past the write buffer's bound (already shown by `/health`).
    pub dropped_results: u64,
}

impl ShutdownReport {
    /// Nothing the engine held at shutdown was lost.
    pub fn is_clean(&self) -> bool {
        self.unwritten_results == 0 && self.unwritten_state_changes == 0 && !self.recorder_failed
    }
}

/// The running engine; dropping it does not stop the tasks, call
/// [`EngineHandle::shutdown`].
pub struct EngineHandle {
    board: Board,
    store: Store,
    store_health: StoreHealth,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    cancel: CancellationToken,
    scheduler: JoinHandle<()>,
    recorder: JoinHandle<recorder::Unwritten>,
    maintenance: JoinHandle<()>,
}

pub struct Engine;

impl Engine {
    /// Registers the monitors in the store, loads their last known state (so
    /// a restart neither repeats nor loses a state change) and starts the
    /// tasks. `cancel` stops everything; [`EngineHandle::shutdown`] also
    /// waits for the final flush.
    pub async fn start<C: Checker>(
        config: EngineConfig,
        checker: Arc<C>,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        cancel: CancellationToken,
    ) -> Result<EngineHandle, EngineError> {
        let EngineConfig {
            monitors,
            concurrency,
            raw_retention,
            rollup_retention,
            batch_size,
            flush_interval,
            write_buffer,
            rollup_every,
            rollup_margin,
            shutdown_grace,
        } = config;

        let ids: Vec<_> = monitors.iter().map(|m| m.id.clone()).collect();
        store.register_monitors(&ids).await?;
        let states = store.current_states().await?;
        let recent = store.load_recent(board::RECENT_RESULTS).await?;
        let board = Board::new(&monitors, states, recent);
        metrics.set_monitor_count(monitors.len());

        // Shared by the scheduler and recorder (which know which probes are
        // running and which results are not written yet) and maintenance
        // (which must not roll those minutes up early).
        let in_flight = scheduler::ProbesInFlight::new(monitors.len());
        let unwritten = recorder::UnwrittenSince::default();

        // Bounded: when the recorder stops taking results (the write buffer
        // is full and the store slow), probe tasks wait to hand over their
        // result instead of piling up without limit.
        let (results_tx, results_rx) = mpsc::channel::<scheduler::Finished>(batch_size.max(1) * 8);

        let buffer_capacity = write_buffer.max(batch_size).max(1);
        let store_health = StoreHealth::new(buffer_capacity);
        tracing::debug!(
            buffer_capacity,
            "results wait in a bounded buffer while the store is busy"
        );
        let recorder = tokio::spawn(
            recorder::Recorder::new(
                recorder::RecorderParts {
                    store: store.clone(),
                    clock: clock.clone(),
                    board: board.clone(),
                    metrics: metrics.clone(),
                    health: store_health.clone(),
                    unwritten: unwritten.clone(),
                    batch_size,
                    flush_interval,
                    buffer_capacity,
                },
                &monitors,
            )
            .run(results_rx),
        );
        let scheduler = tokio::spawn(
            scheduler::Scheduler::new(
                monitors.clone(),
                checker,
                clock.clone(),
                metrics.clone(),
                concurrency,
                in_flight.clone(),
                shutdown_grace,
            )
            .run(results_tx, cancel.clone()),
        );
        let maintenance = tokio::spawn(
            maintenance::Maintenance {
                store: store.clone(),
                board: board.clone(),
                clock: clock.clone(),
                metrics: metrics.clone(),
                rollup_every,
                rollup_grace: flush_interval + rollup_margin,
                in_flight,
                unwritten,
                raw_retention,
                rollup_retention,
            }
            .run(cancel.clone()),
        );
        Ok(EngineHandle {
            board,
            store,
            store_health,
            clock,
            metrics,
            cancel,
            scheduler,
            recorder,
            maintenance,
        })
    }
}

impl EngineHandle {
    /// The in-memory view of every monitor, for the API.
    pub fn board(&self) -> Board {
        self.board.clone()
    }

    /// How the recorder's writes to the store are going, for `/health`.
    pub fn store_health(&self) -> StoreHealth {
        self.store_health.clone()
    }

    /// Stops scheduling, lets probes in flight finish (up to the grace
    /// period), flushes every result to the store, stops maintenance and
    /// saves the board's recent results. The report says what could not be
    /// written (and is lost).
    pub async fn shutdown(self) -> ShutdownReport {
        self.cancel.cancel();
        // The scheduler returns once its probes have finished or been
        // abandoned; it owns the last result sender, so the recorder then
        // sees the channel close, flushes and returns.
        if let Err(error) = self.scheduler.await {
            tracing::error!(error = %error, "scheduler task failed");
        }
        let mut report = ShutdownReport::default();
        match self.recorder.await {
            Ok(unwritten) => {
                report.unwritten_results = unwritten.results;
                report.unwritten_state_changes = unwritten.state_changes;
            }
            Err(error) => {
                report.recorder_failed = true;
                tracing::error!(error = %error, "recorder task failed");
            }
        }
        report.dropped_results = self.store_health.snapshot().dropped_results;
        if let Err(error) = self.maintenance.await {
            tracing::error!(error = %error, "maintenance task failed");
        }
        // Every probe has finished or been abandoned, so the board holds
        // every result there will be: the save covers everything until now.
        maintenance::save_recent(&self.store, &self.board, &self.metrics, self.clock.now()).await;
        report
    }
}
