//! The running system: it schedules every monitor's probe, turns results into
//! state changes, metrics and batched writes, rolls results up per minute and
//! prunes what retention no longer needs.
//!
//! Shape: [`Engine::start`] spawns three long-running tasks under one
//! [`Supervisor`] and one cancellation token — the [`scheduler`] (decides
//! *when*, through the pure `watchkeeper_domain::schedule`; it spawns the
//! probe tasks through a [`Checker`], in production
//! `watchkeeper_runner::Prober`), the [`recorder`] (the one place where
//! results have effects: state, metrics, store) and [`maintenance`]
//! (rollups and pruning). The recorder takes an [`Input`]: a probe's result,
//! a result from outside the scheduler ([`ExternalResults`]), or a reload.
//! [`EngineHandle::shutdown`] stops them in order so every finished result
//! is flushed, and reports what could not be. A busy or full store never
//! stops probing: the recorder writes beside its receive loop, through a
//! bounded buffer (`recorder::write_buffer`), and [`StoreHealth`] says how
//! writing goes. After each batch that commits state changes, the id of the
//! last one is published ([`EngineControl::committed_state_changes`]).
//! [`EngineControl::reload`] applies a new list of monitors while running.

pub mod alerts;
pub mod board;
pub mod clock;
pub mod health;
pub mod input;
pub mod maintenance;
pub mod metrics;
pub mod recorder;
mod reload;
pub mod scheduler;
pub mod slos;
pub mod store_health;
pub mod supervisor;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_store::Store;

pub use board::{Board, MonitorView};
pub use clock::SystemClock;
pub use health::{EngineHealth, HealthReport, Problem};
pub use input::{ExternalError, ExternalResults, Input, ManualResolution, ResultSource};
pub use metrics::Metrics;
pub use recorder::WriteBufferBound;
pub use store_health::{StoreHealth, StoreHealthSnapshot, Writing};
pub use supervisor::{OnFailure, Supervisor, TaskDeath, TaskSnapshot, TaskState};
pub use watchkeeper_domain::reload::ReloadPlan;

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
    /// results) starts: by default a minute of results at the monitors'
    /// rate ([`recorder::results_within`]), following the monitors through
    /// every reload; never fewer than `batch_size`.
    pub write_buffer: WriteBufferBound,
    /// How often finished minutes are rolled up (and, every 20th time,
    /// retention is applied).
    pub rollup_every: Duration,
    /// A minute is rolled up no sooner than `flush_interval` plus this after
    /// it ended; probes still in flight and results not written yet hold it
    /// back further, however long they take.
    pub rollup_margin: Duration,
    /// How long shutdown waits for probes in flight before abandoning them.
    pub shutdown_grace: Duration,
    /// The alert rules evaluated on every result (a monitor's own alert
    /// is one of them, made by config); none by default.
    pub alert_rules: watchkeeper_domain::alert::RuleSet,
}

impl EngineConfig {
    pub fn new(monitors: Vec<Arc<MonitorSpec>>) -> Self {
        Self {
            concurrency: 512,
            raw_retention: Duration::from_secs(48 * 3600),
            rollup_retention: Duration::from_secs(90 * 24 * 3600),
            batch_size: 1_000,
            flush_interval: Duration::from_secs(1),
            write_buffer: WriteBufferBound::MinuteOfResults,
            rollup_every: Duration::from_secs(30),
            rollup_margin: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(5),
            alert_rules: watchkeeper_domain::alert::RuleSet::default(),
            monitors,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot prepare the store for the configured monitors: {0}")]
    Store(#[from] watchkeeper_store::StoreError),
    #[error("the engine is shutting down")]
    Stopped,
}

/// What [`EngineHandle::shutdown`] could not save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "results may have been lost: check `is_clean`"]
pub struct ShutdownReport {
    /// Results the store still refused after the final attempts: lost.
    pub unwritten_results: usize,
    /// State changes likewise lost.
    pub unwritten_state_changes: usize,
    /// Alert changes likewise lost.
    pub unwritten_alert_changes: usize,
    /// The recorder task failed, so whatever it held is lost, uncounted.
    pub recorder_failed: bool,
    /// Raw results dropped while running, because the store kept failing
    /// past the write buffer's bound (already shown by `/health`).
    pub dropped_results: u64,
}

impl ShutdownReport {
    /// Nothing the engine held at shutdown was lost.
    pub fn is_clean(&self) -> bool {
        self.unwritten_results == 0
            && self.unwritten_state_changes == 0
            && self.unwritten_alert_changes == 0
            && !self.recorder_failed
    }
}

/// What the rest of the process may do with a running engine: read its
/// board and health, feed it outside results, wait for committed state
/// changes, reload its monitors. Cheap to clone.
#[derive(Clone)]
pub struct EngineControl {
    board: Board,
    health: EngineHealth,
    external: ExternalResults,
    committed: watch::Receiver<Option<i64>>,
    committed_alerts: watch::Receiver<Option<i64>>,
    reloads: reload::Reloads,
}

impl EngineControl {
    /// The in-memory view of every monitor, for the API.
    pub fn board(&self) -> Board {
        self.board.clone()
    }

    /// How the recorder's writes to the store are going.
    pub fn store_health(&self) -> StoreHealth {
        self.health.store.clone()
    }

    /// Everything `/health` reports.
    pub fn health(&self) -> EngineHealth {
        self.health.clone()
    }

    /// Feeds results from outside the scheduler (heartbeats, runbook
    /// steps, pushed results) into the same state machine.
    pub fn external_results(&self) -> ExternalResults {
        self.external.clone()
    }

    /// The id of the last state change committed to the store, updated
    /// after each batch that wrote any (`None` until the first): consumers
    /// of state changes wait on it instead of polling.
    pub fn committed_state_changes(&self) -> watch::Receiver<Option<i64>> {
        self.committed.clone()
    }

    /// The id of the last alert event committed to the store (see
    /// [`watchkeeper_store::Store::alert_events_after`]), updated after
    /// each batch that wrote any: what notification waits on.
    pub fn committed_alert_events(&self) -> watch::Receiver<Option<i64>> {
        self.committed_alerts.clone()
    }

    /// Applies `monitors` (a newly loaded config's) to the running engine:
    /// removed monitors stop (a probe in flight is still recorded), new
    /// ones start with their state from the store, changed ones keep their
    /// state, unchanged ones are untouched; no result is dropped. Reloads
    /// run one at a time.
    /// `rules`: the alert rules after the reload (`None`: keep them);
    /// an alert that stays keeps its state and window, one that goes and
    /// was firing is resolved.
    pub async fn reload(
        &self,
        monitors: Vec<Arc<MonitorSpec>>,
        rules: Option<watchkeeper_domain::alert::RuleSet>,
    ) -> Result<ReloadPlan, EngineError> {
        self.reloads.apply(monitors, rules).await
    }
}

/// The running engine; dropping it does not stop the tasks, call
/// [`EngineHandle::shutdown`].
pub struct EngineHandle {
    control: EngineControl,
    store: Store,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    supervisor: Supervisor,
    cancel: CancellationToken,
    scheduler: JoinHandle<Option<()>>,
    recorder: JoinHandle<Option<recorder::Unwritten>>,
    maintenance: JoinHandle<()>,
}

pub struct Engine;

impl Engine {
    /// [`Engine::start_supervised`] under a supervisor of its own, stopped
    /// by `cancel`.
    pub async fn start<C: Checker>(
        config: EngineConfig,
        checker: Arc<C>,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        cancel: CancellationToken,
    ) -> Result<EngineHandle, EngineError> {
        let supervisor = Supervisor::new(cancel.clone());
        Self::start_supervised(config, checker, store, clock, metrics, cancel, &supervisor).await
    }

    /// Registers the monitors in the store, loads their last known state (so
    /// a restart neither repeats nor loses a state change) and starts the
    /// tasks under `supervisor`: the scheduler and the recorder are fatal,
    /// maintenance restarts. `cancel` stops everything (and must be, or be a
    /// child of, the token the supervisor was given);
    /// [`EngineHandle::shutdown`] also waits for the final flush.
    pub async fn start_supervised<C: Checker>(
        config: EngineConfig,
        checker: Arc<C>,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        cancel: CancellationToken,
        supervisor: &Supervisor,
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
            alert_rules,
        } = config;

        let ids: Vec<_> = monitors.iter().map(|m| m.id.clone()).collect();
        store.register_monitors(&ids).await?;
        let states = store.current_states().await?;
        let recent = store.load_recent(board::RECENT_RESULTS).await?;
        let board = Board::new(&monitors, states, recent);
        let alerts = alerts::Alerts::new(
            &alert_rules,
            &monitors,
            rule_alerts(store.alerts().await?),
            clock.now(),
        );
        metrics.set_monitor_count(monitors.len());

        // Shared by the scheduler and recorder (which know which probes are
        // running and which results are not written yet) and maintenance
        // (which must not roll those minutes up early).
        let in_flight = scheduler::ProbesInFlight::new();
        let unwritten = recorder::UnwrittenSince::default();

        // Bounded: when the recorder stops taking results (the write buffer
        // is full and the store slow), probe tasks wait to hand over their
        // result instead of piling up without limit. The scheduler holds
        // the only strong sender, so the recorder ends after it.
        let (inputs, inputs_rx) = mpsc::channel::<Input>(batch_size.max(1) * 8);
        let (scheduler_reloads, scheduler_reloads_rx) = mpsc::channel(4);
        let (committed_tx, committed) = watch::channel(None);
        let (committed_alerts_tx, committed_alerts) = watch::channel(None);
        let progress = recorder::RecorderProgress::new(clock.now());

        let buffer_capacity = write_buffer.capacity(&monitors, batch_size);
        let store_health = StoreHealth::new(buffer_capacity);
        tracing::debug!(
            buffer_capacity,
            "results wait in a bounded buffer while the store is busy"
        );
        let control = EngineControl {
            board: board.clone(),
            health: EngineHealth {
                store: store_health.clone(),
                progress: progress.clone(),
                inputs: inputs.downgrade(),
                supervisor: supervisor.clone(),
                clock: clock.clone(),
            },
            external: ExternalResults::new(&inputs),
            committed,
            committed_alerts,
            reloads: reload::Reloads::new(
                store.clone(),
                monitors.clone(),
                inputs.downgrade(),
                scheduler_reloads,
            ),
        };
        let recorder = supervisor.spawn_fatal(
            "recorder",
            recorder::Recorder::new(
                recorder::RecorderParts {
                    store: store.clone(),
                    clock: clock.clone(),
                    board: board.clone(),
                    metrics: metrics.clone(),
                    health: store_health,
                    unwritten: unwritten.clone(),
                    committed: committed_tx,
                    committed_alerts: committed_alerts_tx,
                    alerts,
                    rules: alert_rules,
                    progress,
                    batch_size,
                    flush_interval,
                    buffer_bound: write_buffer,
                },
                &monitors,
            )
            .run(inputs_rx),
        );
        let scheduler = supervisor.spawn_fatal(
            "scheduler",
            scheduler::Scheduler::new(
                monitors,
                checker,
                clock.clone(),
                metrics.clone(),
                concurrency,
                in_flight.clone(),
                shutdown_grace,
            )
            .run(inputs, scheduler_reloads_rx, cancel.clone()),
        );
        let upkeep = maintenance::Maintenance {
            store: store.clone(),
            board,
            clock: clock.clone(),
            metrics: metrics.clone(),
            rollup_every,
            rollup_grace: flush_interval + rollup_margin,
            in_flight,
            unwritten,
            raw_retention,
            rollup_retention,
        };
        let maintenance_cancel = cancel.clone();
        let maintenance = supervisor.spawn_restarting("maintenance", move || {
            upkeep.clone().run(maintenance_cancel.clone())
        });
        Ok(EngineHandle {
            control,
            store,
            clock,
            metrics,
            supervisor: supervisor.clone(),
            cancel,
            scheduler,
            recorder,
            maintenance,
        })
    }
}

impl EngineHandle {
    /// What the rest of the process may do with the engine.
    pub fn control(&self) -> EngineControl {
        self.control.clone()
    }

    /// The in-memory view of every monitor, for the API.
    pub fn board(&self) -> Board {
        self.control.board()
    }

    /// How the recorder's writes to the store are going, for `/health`.
    pub fn store_health(&self) -> StoreHealth {
        self.control.store_health()
    }

    /// The supervisor of the engine's tasks.
    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    /// Stops scheduling, lets probes in flight finish (up to the grace
    /// period), flushes every result to the store, stops maintenance and
    /// saves the board's recent results. The report says what could not be
    /// written (and is lost).
    pub async fn shutdown(self) -> ShutdownReport {
        self.cancel.cancel();
        // The scheduler returns once its probes have finished or been
        // abandoned; it owns the last result sender, so the recorder then
        // sees the channel close, flushes and returns. A task that died is
        // already logged by the supervisor.
        if let Err(error) = self.scheduler.await {
            tracing::error!(error = %error, "scheduler task failed");
        }
        let mut report = ShutdownReport::default();
        match self.recorder.await {
            Ok(Some(unwritten)) => {
                report.unwritten_results = unwritten.results;
                report.unwritten_state_changes = unwritten.state_changes;
                report.unwritten_alert_changes = unwritten.alert_changes;
            }
            Ok(None) => report.recorder_failed = true,
            Err(error) => {
                report.recorder_failed = true;
                tracing::error!(error = %error, "recorder task failed");
            }
        }
        report.dropped_results = self.control.health.store.snapshot().dropped_results;
        if let Err(error) = self.maintenance.await {
            tracing::error!(error = %error, "maintenance task failed");
        }
        // Every probe has finished or been abandoned, so the board holds
        // every result there will be: the save covers everything until now.
        let board = self.control.board();
        maintenance::save_recent(&self.store, &board, &self.metrics, self.clock.now()).await;
        report
    }
}

/// The stored alerts the recorder's rules own: not the SLOs' burn-rate
/// alerts, which `slos` evaluates (the recorder would take them for
/// alerts of a removed rule and resolve them).
fn rule_alerts(
    alerts: Vec<watchkeeper_domain::alert::StoredAlert>,
) -> Vec<watchkeeper_domain::alert::StoredAlert> {
    alerts
        .into_iter()
        .filter(|alert| {
            !alert
                .labels
                .contains_key(watchkeeper_domain::alert::slo_tracker::SLO)
        })
        .collect()
}
