//! Decides when each monitor's probe starts and starts it. The arithmetic
//! (phases, next due time, skipping missed slots, cron occurrences) is the
//! pure `watchkeeper_domain::schedule`; this task only sleeps until the
//! earliest due time, applies the concurrency bound, and spawns probe tasks.
//!
//! Two queues, one per clock: interval monitors are due on the clock's
//! steady reading, calendar monitors (cron, one-shot) on its wall reading,
//! which is read again at least every second while one is queued, so a
//! step of the system clock neither moves a 03:00 job nor an interval's
//! cadence.
//!
//! A probe that hangs hurts only itself: its own timeout ends it, it holds
//! one permit meanwhile, and its monitor's next slot is skipped (not queued)
//! while it is still running.
//!
//! A reload ([`SchedulerReload`]) replaces the monitors between two due
//! times: an unchanged schedule keeps its next due time, a changed or new
//! one starts on its first due time from now (an interval at its phase, as
//! after a restart), and a removed monitor is dropped from the queues while
//! a probe of it in flight finishes and is recorded; the reload's answer
//! names each removed monitor with its [`LastProbe`].

mod in_flight;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule::{self, Schedule};

use in_flight::Slot;
pub use in_flight::{InFlight, LastProbe, ProbesInFlight};

use crate::Checker;
use crate::input::Input;
use crate::metrics::Metrics;

/// While a calendar monitor is queued, the wall clock is read again at
/// least this often, so a step of it is seen within a second.
const WALL_RECHECK: Duration = Duration::from_secs(1);

pub struct Scheduler<C> {
    /// By position; the queues name positions.
    entries: Vec<Entry>,
    checker: Arc<C>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    /// Bounds probes in flight; the scheduler waits for a permit, so a
    /// saturated machine shows up as lag instead of unbounded memory.
    permits: Arc<Semaphore>,
    /// Gives each new monitor its slot; maintenance reads the oldest.
    in_flight: ProbesInFlight,
    shutdown_grace: Duration,
}

struct Entry {
    spec: Arc<MonitorSpec>,
    /// A probe is in flight, and since when. The monitor's next slot is
    /// skipped until the recorder has taken its result, so one slow target
    /// never stacks probes.
    slot: Slot,
}

/// New monitors for a running scheduler; `applied` answers once they are
/// queued, with the monitors it no longer schedules and their last probe.
#[derive(Debug)]
pub struct SchedulerReload {
    pub monitors: Vec<Arc<MonitorSpec>>,
    pub applied: oneshot::Sender<Vec<(MonitorId, LastProbe)>>,
}

/// When a queued monitor is due, on the clock reading its schedule uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    /// On the steady reading (intervals).
    Steady(Timestamp),
    /// On the wall reading (cron, one-shot).
    Wall(Timestamp),
}

#[derive(Default)]
struct Queues {
    steady: BinaryHeap<Reverse<(Timestamp, usize)>>,
    wall: BinaryHeap<Reverse<(Timestamp, usize)>>,
}

impl Queues {
    fn push(&mut self, due: Due, position: usize) {
        match due {
            Due::Steady(at) => self.steady.push(Reverse((at, position))),
            Due::Wall(at) => self.wall.push(Reverse((at, position))),
        }
    }

    /// The earliest entry already due, taken off its queue.
    fn pop_due(&mut self, now: Timestamp, wall: Timestamp) -> Option<(Due, usize)> {
        if let Some(&Reverse((at, position))) = self.steady.peek()
            && at <= now
        {
            self.steady.pop();
            return Some((Due::Steady(at), position));
        }
        if let Some(&Reverse((at, position))) = self.wall.peek()
            && at <= wall
        {
            self.wall.pop();
            return Some((Due::Wall(at), position));
        }
        None
    }

    /// How long to sleep before something may be due; `None` when nothing
    /// is queued.
    fn wait(&self, now: Timestamp, wall: Timestamp) -> Option<Duration> {
        let steady = self.steady.peek().map(|Reverse((at, _))| until(*at, now));
        let wall = self
            .wall
            .peek()
            .map(|Reverse((at, _))| until(*at, wall).min(WALL_RECHECK));
        match (steady, wall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn drain(&mut self) -> impl Iterator<Item = (Due, usize)> + '_ {
        let steady = self
            .steady
            .drain()
            .map(|Reverse((at, position))| (Due::Steady(at), position));
        let wall = self
            .wall
            .drain()
            .map(|Reverse((at, position))| (Due::Wall(at), position));
        steady.chain(wall)
    }
}

/// A monitor's first due time from now: an interval at its phase, a cron
/// expression at its next occurrence, a one-shot unless it has passed.
fn first_due(spec: &MonitorSpec, now: Timestamp, wall: Timestamp) -> Option<Due> {
    match &spec.schedule {
        Schedule::Every(interval) => {
            Some(Due::Steady(schedule::first_due(&spec.id, *interval, now)))
        }
        Schedule::Cron(cron) => schedule::first_cron_due(cron, wall).map(Due::Wall),
        Schedule::At(at) => schedule::one_shot_due(*at, wall).map(Due::Wall),
    }
}

/// The due time after `due`, and how many were skipped to reach it.
fn next_due(spec: &MonitorSpec, due: Due, now: Timestamp, wall: Timestamp) -> (Option<Due>, u64) {
    match (&spec.schedule, due) {
        (Schedule::Every(interval), Due::Steady(at)) => {
            let (next, skipped) = schedule::next_due(&spec.id, *interval, at, now);
            (Some(Due::Steady(next)), skipped)
        }
        (Schedule::Cron(cron), Due::Wall(at)) => {
            let (next, skipped) = schedule::next_cron_due(cron, at, wall);
            (next.map(Due::Wall), skipped)
        }
        // A one-shot runs once; a due time of the other clock cannot be
        // queued for a schedule (the queues are rebuilt with the specs).
        _ => (None, 0),
    }
}

impl<C: Checker> Scheduler<C> {
    pub fn new(
        monitors: Vec<Arc<MonitorSpec>>,
        checker: Arc<C>,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        concurrency: usize,
        in_flight: ProbesInFlight,
        shutdown_grace: Duration,
    ) -> Self {
        let entries = monitors
            .into_iter()
            .map(|spec| Entry {
                spec,
                slot: in_flight.slot(),
            })
            .collect();
        Self {
            entries,
            checker,
            clock,
            metrics,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight,
            shutdown_grace,
        }
    }

    /// Runs until `cancel`, then lets probes in flight finish (up to the
    /// grace period). `results` is the recorder's input; `reloads` brings
    /// new monitors.
    pub async fn run(
        mut self,
        results: mpsc::Sender<Input>,
        mut reloads: mpsc::Receiver<SchedulerReload>,
        cancel: CancellationToken,
    ) {
        let mut queues = Queues::default();
        let (now, wall) = (self.clock.now(), self.clock.wall());
        for (position, entry) in self.entries.iter().enumerate() {
            if let Some(due) = first_due(&entry.spec, now, wall) {
                queues.push(due, position);
            }
        }
        let mut probes = JoinSet::new();
        let mut reloads_open = true;

        loop {
            // Reap finished probe tasks so the set does not grow.
            while probes.try_join_next().is_some() {}

            let (now, wall) = (self.clock.now(), self.clock.wall());
            let Some((due, position)) = queues.pop_due(now, wall) else {
                let wait = queues.wait(now, wall);
                tokio::select! {
                    () = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
                    reload = reloads.recv(), if reloads_open => match reload {
                        Some(reload) => self.reload(reload, &mut queues),
                        None => reloads_open = false,
                    },
                    () = cancel.cancelled() => break,
                }
                continue;
            };
            let Some(entry) = self.entries.get(position) else {
                continue;
            };
            let spec = entry.spec.clone();
            let (next, skipped) = next_due(&spec, due, now, wall);
            if let Some(next) = next {
                queues.push(next, position);
            }
            if skipped > 0 {
                self.metrics.probe_skipped(skipped);
                tracing::warn!(monitor = %spec.id, skipped, "scheduler fell behind; skipped missed slots");
            }
            if entry.slot.is_running() {
                self.metrics.probe_skipped(1);
                tracing::debug!(monitor = %spec.id, "previous probe still running; slot skipped");
                continue;
            }
            // Every due time a result records is on the steady reading, as
            // its start is, so lag stays true after a wall clock step.
            let due_at = match due {
                Due::Steady(at) => at,
                Due::Wall(at) => schedule::wall_to_steady(at, wall, now),
            };
            let permit = tokio::select! {
                permit = self.permits.clone().acquire_owned() => permit,
                () = cancel.cancelled() => break,
            };
            let Ok(permit) = permit else { break };
            let Some(entry) = self.entries.get(position) else {
                continue;
            };
            // Read after the permit wait: no earlier than the probe starts.
            let in_flight = entry.slot.start(self.clock.now());
            let checker = self.checker.clone();
            let results = results.clone();
            self.metrics.probe_started();
            probes.spawn(async move {
                let result = checker.check(&spec, due_at).await;
                // The recorder only goes away after we do; a send error
                // means shutdown is already past the flush (and drops the
                // in-flight mark with the message).
                let _ = results
                    .send(Input::Probe(Finished { result, in_flight }))
                    .await;
                // Released only once the result is handed over: when the
                // store is slow, back-pressure reaches the scheduler as
                // lag instead of piling up finished probe tasks.
                drop(permit);
            });
        }

        // Shutdown: let probes in flight finish so their results are
        // recorded, but not for longer than the grace period.
        let drained = tokio::time::timeout(self.shutdown_grace, async {
            while probes.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = probes.len(),
                "probes still running at shutdown were abandoned"
            );
            probes.shutdown().await;
        }
    }

    /// Replaces the monitors and rebuilds the queues: an unchanged schedule
    /// keeps its next due time, a changed or new one starts from now.
    fn reload(&mut self, reload: SchedulerReload, queues: &mut Queues) {
        let SchedulerReload { monitors, applied } = reload;
        let (now, wall) = (self.clock.now(), self.clock.wall());
        let mut dues: HashMap<MonitorId, Due> = HashMap::new();
        for (due, position) in queues.drain() {
            if let Some(entry) = self.entries.get(position) {
                dues.insert(entry.spec.id.clone(), due);
            }
        }
        let mut old: HashMap<MonitorId, Entry> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(|entry| (entry.spec.id.clone(), entry))
            .collect();
        for spec in monitors {
            let (slot, due) = match old.remove(&spec.id) {
                // A one-shot that already ran has no due time left.
                Some(entry) if entry.spec.schedule == spec.schedule => {
                    (entry.slot, dues.remove(&spec.id))
                }
                Some(entry) => (entry.slot, first_due(&spec, now, wall)),
                None => (self.in_flight.slot(), first_due(&spec, now, wall)),
            };
            if let Some(due) = due {
                queues.push(due, self.entries.len());
            }
            self.entries.push(Entry { spec, slot });
        }
        tracing::debug!(
            monitors = self.entries.len(),
            removed = old.len(),
            "scheduler reloaded"
        );
        let unscheduled = old
            .into_iter()
            .map(|(id, entry)| (id, entry.slot.unschedule()))
            .collect();
        let _ = applied.send(unscheduled);
    }
}

/// A probe's result on its way to the recorder, with the probe's in-flight
/// mark: the recorder drops the mark only once the result is in its buffer
/// (and counted in `recorder::UnwrittenSince`), so between the probe's start
/// and the write a result is always covered by one or the other.
#[derive(Debug)]
pub struct Finished {
    pub result: CheckResult,
    pub in_flight: InFlight,
}

/// How long from `now` until `due` (zero if already due).
fn until(due: Timestamp, now: Timestamp) -> Duration {
    let wait = due.duration_since(now);
    if wait <= SignedDuration::ZERO {
        Duration::ZERO
    } else {
        wait.unsigned_abs()
    }
}

#[cfg(test)]
mod live_tests;
#[cfg(test)]
mod tests;
