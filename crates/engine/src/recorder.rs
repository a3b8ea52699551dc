//! The one place where results have effects: each result — a probe's, or
//! one from outside the scheduler ([`crate::input`]) — updates the
//! monitor's state (recording a state change exactly once per change of
//! health), its alerts ([`crate::alerts`]), its metrics and the board, and
//! goes into the [`WriteBuffer`] for a batched write (with the state and
//! alert changes it caused, in one transaction). A reload reaches it as an input too, so the board
//! and the per-monitor metrics change between two results, never under
//! one. A probe of a monitor a reload removed, still in flight then, is
//! recorded when it ends (its state change and result are stored), though
//! the monitor is no longer on the board; its state is forgotten once the
//! scheduler has let go of it and that last probe is over
//! ([`Input::Unscheduled`]). Writes run beside the recorder, never inside
//! it, so a slow, busy or full store never stops it taking results: the
//! board's `last_result` stays current and probes keep their slots. Only
//! past the buffer's bound ([`WriteBufferBound`], computed again on every
//! reload) does a slow store hold the recorder back (see `write_buffer`).
//! [`UnwrittenSince`] tells maintenance how far back the unwritten results
//! reach.

mod write_buffer;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use watchkeeper_domain::check::{CheckResult, MonitorStatus, StateChange, transition};
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule;
use watchkeeper_store::Store;

use crate::alerts::Alerts;
use crate::board::{Board, MonitorView};
use crate::input::{External, ExternalError, Input, ManualResolution, ManualResolve, Reload};
use crate::metrics::{Metrics, MonitorMetrics};
use crate::scheduler::{Finished, LastProbe};
use crate::store_health::StoreHealth;
pub use write_buffer::Unwritten;
use write_buffer::WriteBuffer;

/// How much time's worth of results the write buffer holds by default.
pub const WRITE_BUFFER_WINDOW: Duration = Duration::from_secs(60);

/// How many results `monitors` produce in `window` at their schedules:
/// the sum over monitors of `window / interval`, each rounded up (a cron
/// schedule counts as every minute, a one-shot as one result).
pub fn results_within(window: Duration, monitors: &[Arc<MonitorSpec>]) -> usize {
    let window = window.as_millis();
    monitors
        .iter()
        .map(|monitor| match monitor.schedule.shortest_gap() {
            Some(gap) => {
                usize::try_from(window.div_ceil(gap.as_millis().max(1))).unwrap_or(usize::MAX)
            }
            None => 1,
        })
        .fold(0, usize::saturating_add)
}

/// How many results the write buffer holds (buffered plus the write in
/// flight) before its bound applies: back-pressure while writes succeed,
/// dropping the oldest raw results while they fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBufferBound {
    /// [`WRITE_BUFFER_WINDOW`] of results at the monitors' schedules
    /// ([`results_within`]), computed again whenever a reload changes the
    /// monitors: what `serve` uses.
    MinuteOfResults,
    /// This many, whatever the monitors (tests make it small).
    Fixed(usize),
}

impl WriteBufferBound {
    /// The bound for `monitors`: never fewer than `batch_size` (a full
    /// batch must fit), never zero.
    pub fn capacity(self, monitors: &[Arc<MonitorSpec>], batch_size: usize) -> usize {
        let bound = match self {
            WriteBufferBound::MinuteOfResults => results_within(WRITE_BUFFER_WINDOW, monitors),
            WriteBufferBound::Fixed(results) => results,
        };
        bound.max(batch_size).max(1)
    }
}

/// The start of the oldest result the recorder holds but has not written
/// yet (buffered, in a write in flight, or kept after a failed write), if
/// any.
#[derive(Debug, Clone)]
pub struct UnwrittenSince(Arc<AtomicI64>);

impl Default for UnwrittenSince {
    fn default() -> Self {
        Self(Arc::new(AtomicI64::new(NOTHING_UNWRITTEN)))
    }
}

/// Nothing unwritten (0 is a valid millisecond, so zero cannot mean none).
const NOTHING_UNWRITTEN: i64 = i64::MAX;

impl UnwrittenSince {
    pub fn get(&self) -> Option<Timestamp> {
        match self.0.load(Ordering::Acquire) {
            NOTHING_UNWRITTEN => None,
            millis => Timestamp::from_millisecond(millis).ok(),
        }
    }

    fn set(&self, oldest: Option<Timestamp>) {
        let millis = oldest.map_or(NOTHING_UNWRITTEN, |at| at.as_millisecond());
        self.0.store(millis, Ordering::Release);
    }
}

/// When the recorder last took an input, for `/health` to tell a recorder
/// that has fallen behind (inputs wait, none taken for a while) from one
/// with nothing to do.
#[derive(Debug, Clone)]
pub struct RecorderProgress {
    /// Milliseconds of the clock's steady reading.
    last_taken: Arc<AtomicI64>,
}

impl RecorderProgress {
    pub fn new(started: Timestamp) -> Self {
        Self {
            last_taken: Arc::new(AtomicI64::new(started.as_millisecond())),
        }
    }

    pub fn last_taken(&self) -> Timestamp {
        Timestamp::from_millisecond(self.last_taken.load(Ordering::Acquire))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn took(&self, at: Timestamp) {
        self.last_taken
            .store(at.as_millisecond(), Ordering::Release);
    }
}

/// What a [`Recorder`] is made of.
pub struct RecorderParts {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub board: Board,
    pub metrics: Metrics,
    /// Written by the recorder: how its writes are going.
    pub health: StoreHealth,
    pub unwritten: UnwrittenSince,
    /// Published after each batch that committed state changes.
    pub committed: tokio::sync::watch::Sender<Option<i64>>,
    /// Published after each batch that committed alert events.
    pub committed_alerts: tokio::sync::watch::Sender<Option<i64>>,
    /// Every alert, with its state as stored; and the changes to write
    /// first (alerts resolved because their rule or monitor is gone).
    pub alerts: (Alerts, Vec<watchkeeper_domain::alert::AlertChange>),
    /// The rules the alerts come from, kept for a reload of monitors only.
    pub rules: watchkeeper_domain::alert::RuleSet,
    pub progress: RecorderProgress,
    /// A write starts once this many results are buffered…
    pub batch_size: usize,
    /// …or at the latest this often.
    pub flush_interval: Duration,
    /// Results held unwritten (buffered plus in flight) before the bound
    /// applies, for the monitors of the moment.
    pub buffer_bound: WriteBufferBound,
}

pub struct Recorder {
    board: Board,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    /// By board position.
    monitor_metrics: Vec<MonitorMetrics>,
    /// Monitors a reload removed, so a probe still in flight at the reload
    /// records its state change once it ends; forgotten once no probe of
    /// them can end any more.
    retired: HashMap<MonitorId, Retired>,
    progress: RecorderProgress,
    flush_interval: Duration,
    buffer_bound: WriteBufferBound,
    batch_size: usize,
    buffer: WriteBuffer,
    alerts: Alerts,
    rules: watchkeeper_domain::alert::RuleSet,
    /// Reused for each result's alert changes (usually none).
    alert_changes: Vec<watchkeeper_domain::alert::AlertChange>,
}

/// A monitor a reload removed.
#[derive(Debug)]
struct Retired {
    /// Its last state, for the state change a late result records.
    status: Option<MonitorStatus>,
    /// `None` until the scheduler has let go of the monitor
    /// ([`Input::Unscheduled`]): until then it may still start a probe.
    last_probe: Option<LastProbe>,
}

impl Retired {
    /// Whether a result of this monitor can still arrive.
    fn awaits_a_result(&self) -> bool {
        self.last_probe.as_ref().is_none_or(LastProbe::in_flight)
    }
}

impl Recorder {
    pub fn new(parts: RecorderParts, monitors: &[Arc<MonitorSpec>]) -> Self {
        let RecorderParts {
            store,
            clock,
            board,
            metrics,
            health,
            unwritten,
            committed,
            committed_alerts,
            progress,
            batch_size,
            flush_interval,
            buffer_bound,
            alerts: (alerts, gone),
            rules,
        } = parts;
        let monitor_metrics: Vec<MonitorMetrics> =
            monitors.iter().map(|m| metrics.for_monitor(m)).collect();
        board.with_all(|views| {
            for (view, handles) in views.iter().zip(&monitor_metrics) {
                restore_gauges(view, handles);
            }
        });
        let mut buffer = WriteBuffer::new(
            write_buffer::Shared {
                store,
                clock: clock.clone(),
                metrics: metrics.clone(),
                health,
                unwritten,
                committed,
                committed_alerts,
            },
            buffer_bound.capacity(monitors, batch_size),
            batch_size,
        );
        for change in gone {
            log_alert(&change);
            buffer.push_alert(change);
        }
        Self {
            board,
            clock,
            metrics,
            monitor_metrics,
            retired: HashMap::new(),
            progress,
            flush_interval,
            buffer_bound,
            batch_size,
            buffer,
            alerts,
            rules,
            alert_changes: Vec::new(),
        }
    }

    /// Runs until every sender is gone, then writes what is left (a few
    /// attempts) and returns what could not be written.
    pub async fn run(mut self, mut incoming: mpsc::Receiver<Input>) -> Unwritten {
        let mut ticker = tokio::time::interval(self.flush_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let now = Instant::now();
            let mut next_write = self.buffer.next_write_at(now);
            if next_write.is_some_and(|at| at <= now) {
                self.buffer.start_write();
                next_write = None;
            }
            let accepting = self.buffer.accepting();
            let writing = self.buffer.is_writing();
            tokio::select! {
                received = incoming.recv(), if accepting => match received {
                    Some(input) => {
                        self.progress.took(self.clock.now());
                        self.take(input);
                    }
                    None => break,
                },
                written = self.buffer.written(), if writing => self.buffer.finish(written),
                _ = ticker.tick() => {
                    self.buffer.request_flush();
                    self.forget_retired();
                }
                () = sleep_until(next_write.unwrap_or(now)), if next_write.is_some() => {}
            }
        }
        self.buffer.drain().await
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Probe(Finished { result, in_flight }) => {
                self.metrics
                    .observe_lag(schedule::lag(result.due_at, result.started_at));
                let retired = (!self.retired.is_empty()).then(|| result.monitor.clone());
                self.record(result);
                // Only now, with the result counted in `unwritten`, may
                // maintenance stop waiting for the probe.
                drop(in_flight);
                // A removed monitor's last probe, once the scheduler has
                // let go of it: nothing of it can arrive any more.
                if let Some(monitor) = retired
                    && self
                        .retired
                        .get(&monitor)
                        .is_some_and(|retired| !retired.awaits_a_result())
                {
                    self.retired.remove(&monitor);
                }
            }
            Input::External(External {
                result,
                source,
                reply,
            }) => {
                let answer = if self.board.position(&result.monitor).is_some() {
                    tracing::debug!(monitor = %result.monitor, source = source.as_str(), "result from outside the scheduler");
                    self.record(result);
                    Ok(())
                } else {
                    Err(ExternalError::UnknownMonitor {
                        monitor: result.monitor,
                        origin: source,
                    })
                };
                // The caller may have given up waiting; the result stands.
                let _ = reply.send(answer);
            }
            Input::Reload(reload) => self.reload(reload),
            Input::Resolve(ManualResolve {
                fingerprint,
                by,
                reply,
            }) => {
                let now = self.clock.now();
                let answer = match self.alerts.resolve_by_hand(&fingerprint, &by, now) {
                    Ok(change) => {
                        log_alert(&change);
                        self.buffer.push_alert(change);
                        ManualResolution::Resolved
                    }
                    Err(answer) => answer,
                };
                let _ = reply.send(answer);
            }
            Input::Unscheduled(unscheduled) => {
                for (monitor, last_probe) in unscheduled {
                    if let Some(retired) = self.retired.get_mut(&monitor) {
                        retired.last_probe = Some(last_probe);
                    }
                }
                self.forget_retired();
            }
        }
    }

    /// Forgets the removed monitors of which no result can arrive any more:
    /// after [`Input::Unscheduled`], once their last probe is over (taken
    /// here, or its task died on the way, which the flush ticker notices).
    fn forget_retired(&mut self) {
        self.retired.retain(|_, retired| retired.awaits_a_result());
    }

    /// Puts the reloaded monitors on the board and gives each its metrics;
    /// a removed monitor's series go, and its state is kept aside for a
    /// probe of it still in flight.
    fn reload(&mut self, reload: Reload) {
        let Reload {
            monitors,
            rules,
            states,
            recent,
            applied,
        } = reload;
        if let Some(rules) = rules {
            self.rules = rules;
        }
        for change in self
            .alerts
            .replace(&self.rules, &monitors, self.clock.now())
        {
            log_alert(&change);
            self.buffer.push_alert(change);
        }
        let before: HashSet<MonitorId> = self
            .board
            .with_all(|views| views.iter().map(|view| view.spec.id.clone()).collect());
        for view in self.board.replace(&monitors, states, recent) {
            self.metrics.remove_monitor(&view.spec.id);
            self.retired.insert(
                view.spec.id.clone(),
                Retired {
                    status: view.status,
                    last_probe: None,
                },
            );
        }
        for spec in &monitors {
            self.retired.remove(&spec.id);
        }
        self.monitor_metrics = monitors
            .iter()
            .map(|spec| self.metrics.for_monitor(spec))
            .collect();
        self.board.with_all(|views| {
            for (view, handles) in views.iter().zip(&self.monitor_metrics) {
                if !before.contains(&view.spec.id) {
                    restore_gauges(view, handles);
                }
            }
        });
        self.metrics.set_monitor_count(monitors.len());
        let capacity = self.buffer_bound.capacity(&monitors, self.batch_size);
        if self.buffer.set_capacity(capacity) {
            tracing::debug!(
                buffer_capacity = capacity,
                "the write buffer's bound follows the monitors"
            );
        }
        let _ = applied.send(());
    }

    fn record(&mut self, result: CheckResult) {
        self.metrics.observe_evaluation(result.evaluation);

        let on_board = self.board.update_by_id(&result.monitor, |position, view| {
            let change = transition(view.status.as_ref(), &result);
            if let Some(change) = &change {
                view.status = Some(change.status_after());
            }
            let health_after = view.status.as_ref().map_or(result.health, |s| s.health);
            view.push(result.clone());
            (position, change, health_after)
        });
        let on_the_board = on_board.is_some();
        let change = match on_board {
            Some((position, change, health_after)) => {
                if let Some(metrics) = self.monitor_metrics.get(position) {
                    metrics.record(result.health != Health::Down, health_after, result.latency);
                }
                change
            }
            None => match self.retired.get_mut(&result.monitor) {
                // Removed by a reload while this probe ran: stored, not shown.
                Some(Retired { status, .. }) => {
                    let change = transition(status.as_ref(), &result);
                    if let Some(change) = &change {
                        *status = Some(change.status_after());
                    }
                    change
                }
                None => {
                    tracing::warn!(monitor = %result.monitor, "result for an unknown monitor dropped");
                    return;
                }
            },
        };
        if let Some(change) = change {
            log_change(&change);
            self.metrics.state_change();
            self.buffer.push_change(change);
        }
        if on_the_board {
            self.alerts.record(&result, &mut self.alert_changes);
            for change in self.alert_changes.drain(..) {
                log_alert(&change);
                self.buffer.push_alert(change);
            }
        }
        self.buffer.push_result(result);
    }
}

/// Sets a monitor's gauges from the state it starts with (loaded from the
/// store), so a restart or a reload does not export it as down until its
/// next probe.
fn restore_gauges(view: &MonitorView, handles: &MonitorMetrics) {
    if let Some(status) = &view.status {
        let last = view
            .last()
            .map(|last| (last.health != Health::Down, last.latency));
        handles.restore(last, status.health);
    }
}

fn log_alert(change: &watchkeeper_domain::alert::AlertChange) {
    use watchkeeper_domain::alert::Transition;
    let transition = change.transition.as_str();
    let reason = change.reason.as_deref().unwrap_or("");
    match change.transition {
        Transition::Fired => tracing::warn!(
            alert = %change.rule, monitor = %change.monitor, fingerprint = %change.fingerprint,
            transition, reason, "alert firing"
        ),
        Transition::Resolved => match &change.reason {
            Some(reason) => tracing::info!(
                alert = %change.rule, monitor = %change.monitor, fingerprint = %change.fingerprint,
                transition, reason, "alert resolved"
            ),
            None => tracing::info!(
                alert = %change.rule, monitor = %change.monitor, fingerprint = %change.fingerprint,
                transition, "alert resolved"
            ),
        },
        Transition::Pending | Transition::PendingCleared => tracing::debug!(
            alert = %change.rule, monitor = %change.monitor, transition, "alert pending"
        ),
    }
}

fn log_change(change: &StateChange) {
    let from = change.from.map_or("unknown", |h| h.as_str());
    let reason = change.reason.as_deref().unwrap_or("");
    match change.to {
        Health::Up => tracing::info!(monitor = %change.monitor, from, to = "up", "monitor is up"),
        Health::Degraded => {
            tracing::warn!(monitor = %change.monitor, from, to = "degraded", reason, "monitor is degraded")
        }
        Health::Down => {
            tracing::warn!(monitor = %change.monitor, from, to = "down", reason, "monitor is down")
        }
    }
}

#[cfg(test)]
mod tests;
