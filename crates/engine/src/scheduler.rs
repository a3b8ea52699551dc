//! Decides when each monitor's probe starts and starts it. The arithmetic
//! (phases, next due time, skipping missed slots) is the pure
//! `watchkeeper_domain::schedule`; this task only sleeps until the earliest
//! due time, applies the concurrency bound, and spawns probe tasks.
//!
//! A probe that hangs hurts only itself: its own timeout ends it, it holds
//! one permit meanwhile, and its monitor's next slot is skipped (not queued)
//! while it is still running.
//!
//! [`ProbesInFlight`] records when each running probe started, until the
//! recorder has taken its result: maintenance reads the oldest, so a minute
//! is not rolled up while a probe that started in it can still add a result.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule;

use crate::Checker;
use crate::metrics::Metrics;

pub struct Scheduler<C> {
    monitors: Vec<Arc<MonitorSpec>>,
    checker: Arc<C>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    /// Bounds probes in flight; the scheduler waits for a permit, so a
    /// saturated machine shows up as lag instead of unbounded memory.
    permits: Arc<Semaphore>,
    /// Per monitor (by position): a probe is in flight, and since when. Its
    /// next slot is skipped until the recorder has taken its result, so one
    /// slow target never stacks probes; maintenance reads it too.
    in_flight: ProbesInFlight,
    shutdown_grace: Duration,
}

impl<C: Checker> Scheduler<C> {
    /// `in_flight` must have a slot per monitor, in the same order.
    pub fn new(
        monitors: Vec<Arc<MonitorSpec>>,
        checker: Arc<C>,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
        concurrency: usize,
        in_flight: ProbesInFlight,
        shutdown_grace: Duration,
    ) -> Self {
        Self {
            monitors,
            checker,
            clock,
            metrics,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight,
            shutdown_grace,
        }
    }

    pub async fn run(self, results: mpsc::Sender<Finished>, cancel: CancellationToken) {
        let start = self.clock.now();
        let mut queue: BinaryHeap<Reverse<(Timestamp, usize)>> = self
            .monitors
            .iter()
            .enumerate()
            .map(|(position, spec)| {
                Reverse((
                    schedule::first_due(&spec.id, spec.interval, start),
                    position,
                ))
            })
            .collect();
        let mut probes = JoinSet::new();

        while let Some(&Reverse((due, position))) = queue.peek() {
            // Reap finished probe tasks so the set does not grow.
            while probes.try_join_next().is_some() {}

            let wait = until(due, self.clock.now());
            if !wait.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = cancel.cancelled() => break,
                }
                continue;
            }
            queue.pop();
            let Some(spec) = self.monitors.get(position).cloned() else {
                continue;
            };
            let (next, skipped) =
                schedule::next_due(&spec.id, spec.interval, due, self.clock.now());
            queue.push(Reverse((next, position)));
            if skipped > 0 {
                self.metrics.probe_skipped(skipped);
                tracing::warn!(monitor = %spec.id, skipped, "scheduler fell behind; skipped missed slots");
            }
            if self.in_flight.is_running(position) {
                self.metrics.probe_skipped(1);
                tracing::debug!(monitor = %spec.id, "previous probe still running; slot skipped");
                continue;
            }
            let permit = tokio::select! {
                permit = self.permits.clone().acquire_owned() => permit,
                () = cancel.cancelled() => break,
            };
            let Ok(permit) = permit else { break };
            // Read after the permit wait: no earlier than the probe starts.
            let in_flight = self.in_flight.start(position, self.clock.now());
            let checker = self.checker.clone();
            let results = results.clone();
            self.metrics.probe_started();
            probes.spawn(async move {
                let result = checker.check(&spec, due).await;
                // The recorder only goes away after we do; a send error
                // means shutdown is already past the flush (and drops the
                // in-flight mark with the message).
                let _ = results.send(Finished { result, in_flight }).await;
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

/// When each monitor's probe in flight started, by monitor position: one
/// atomic slot per monitor (a monitor never has two probes in flight), so
/// starting and finishing a probe costs one atomic store each, and
/// maintenance scans the slots once per roll-up pass.
#[derive(Debug, Clone)]
pub struct ProbesInFlight(Arc<[AtomicI64]>);

/// An empty slot (0 is a valid millisecond, so zero cannot mean none).
const NOT_RUNNING: i64 = i64::MAX;

impl ProbesInFlight {
    pub fn new(monitors: usize) -> Self {
        Self((0..monitors).map(|_| AtomicI64::new(NOT_RUNNING)).collect())
    }

    /// The start of the oldest probe in flight (or whose result the recorder
    /// has not taken yet), if any.
    pub fn oldest(&self) -> Option<Timestamp> {
        let oldest = self
            .0
            .iter()
            .map(|slot| slot.load(Ordering::Acquire))
            .min()
            .unwrap_or(NOT_RUNNING);
        match oldest {
            NOT_RUNNING => None,
            millis => Timestamp::from_millisecond(millis).ok(),
        }
    }

    fn is_running(&self, position: usize) -> bool {
        self.0
            .get(position)
            .is_some_and(|slot| slot.load(Ordering::Acquire) != NOT_RUNNING)
    }

    /// Marks the monitor at `position` as probing since `at` (rounded down
    /// to the millisecond) until the returned mark is dropped.
    fn start(&self, position: usize, at: Timestamp) -> InFlight {
        if let Some(slot) = self.0.get(position) {
            slot.store(at.as_millisecond(), Ordering::Release);
        }
        InFlight {
            slots: self.clone(),
            position,
        }
    }
}

/// Marks a monitor's probe as in flight until dropped — by the recorder once
/// it has taken the result, or on the way when the probe task panics or is
/// aborted, so a monitor is never left unscheduled.
#[derive(Debug)]
pub struct InFlight {
    slots: ProbesInFlight,
    position: usize,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(slot) = self.slots.0.get(self.position) {
            slot.store(NOT_RUNNING, Ordering::Release);
        }
    }
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
mod tests {
    //! The scheduler under tokio's paused clock: simulated hours run in
    //! milliseconds, and `SystemClock` follows the simulated time.

    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use watchkeeper_domain::health::Health;
    use watchkeeper_domain::id::MonitorId;
    use watchkeeper_domain::monitor::{HttpSpec, Parity, ProbeSpec, RedirectPolicy};

    use super::*;
    use crate::clock::SystemClock;

    fn spec(id: &str, interval: Duration, timeout: Duration) -> Arc<MonitorSpec> {
        Arc::new(MonitorSpec {
            id: MonitorId::parse(id).unwrap(),
            name: id.to_owned(),
            component: None,
            interval,
            timeout,
            probe: ProbeSpec::Http(HttpSpec {
                url: "http://127.0.0.1:9/health".parse().unwrap(),
                method: "GET".to_owned(),
                headers: Vec::new(),
                body: None,
                redirects: RedirectPolicy::None,
                verify_tls: true,
                body_limit: 1024,
                fallback_url: None,
                parity: Parity::Off,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        })
    }

    /// Records every call; sleeps `delay` (per monitor) like a slow target.
    struct ScriptedChecker {
        clock: Arc<dyn Clock>,
        delays: HashMap<String, Duration>,
        calls: Mutex<Vec<(String, Timestamp, Timestamp)>>,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
    }

    impl ScriptedChecker {
        fn new(clock: Arc<dyn Clock>, delays: &[(&str, Duration)]) -> Self {
            Self {
                clock,
                delays: delays
                    .iter()
                    .map(|(id, d)| ((*id).to_owned(), *d))
                    .collect(),
                calls: Mutex::new(Vec::new()),
                in_flight: AtomicUsize::new(0),
                max_in_flight: AtomicUsize::new(0),
            }
        }

        fn calls(&self) -> Vec<(String, Timestamp, Timestamp)> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Checker for ScriptedChecker {
        async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
            let started_at = self.clock.now();
            self.calls
                .lock()
                .unwrap()
                .push((monitor.id.to_string(), due_at, started_at));
            assert!(
                monitor.id.as_str() != "panics",
                "scripted panic: a bug in a probe must not unschedule its monitor"
            );
            let now_in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight
                .fetch_max(now_in_flight, Ordering::SeqCst);
            let delay = self
                .delays
                .get(monitor.id.as_str())
                .copied()
                .unwrap_or_default();
            // A probe never outlives its timeout (the runner enforces it).
            tokio::time::sleep(delay.min(monitor.timeout)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            CheckResult {
                monitor: monitor.id.clone(),
                due_at,
                started_at,
                latency: delay.min(monitor.timeout),
                evaluation: Duration::ZERO,
                health: Health::Up,
                reason: None,
                fallback: None,
            }
        }
    }

    struct Run {
        checker: Arc<ScriptedChecker>,
        metrics: Metrics,
        received: usize,
    }

    /// Runs the scheduler for `for_how_long` of simulated time.
    async fn run_for(
        monitors: Vec<Arc<MonitorSpec>>,
        delays: &[(&str, Duration)],
        concurrency: usize,
        for_how_long: Duration,
    ) -> Run {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::starting_at(
            "2026-01-01T00:00:00Z".parse().unwrap(),
        ));
        let checker = Arc::new(ScriptedChecker::new(clock.clone(), delays));
        let metrics = Metrics::new();
        let in_flight = ProbesInFlight::new(monitors.len());
        let scheduler = Scheduler::new(
            monitors,
            checker.clone(),
            clock,
            metrics.clone(),
            concurrency,
            in_flight,
            Duration::from_secs(1),
        );
        let (tx, mut rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(scheduler.run(tx, cancel.clone()));
        // Takes each result as the recorder does, releasing its probe.
        let collector = tokio::spawn(async move {
            let mut received = 0;
            while rx.recv().await.is_some() {
                received += 1;
            }
            received
        });
        tokio::time::sleep(for_how_long).await;
        cancel.cancel();
        task.await.unwrap();
        let received = collector.await.unwrap();
        Run {
            checker,
            metrics,
            received,
        }
    }

    fn lag_of(due: Timestamp, started: Timestamp) -> Duration {
        schedule::lag(due, started)
    }

    #[tokio::test(start_paused = true)]
    async fn every_monitor_runs_once_per_interval_on_time_without_drift() {
        let monitors: Vec<_> = (0..200)
            .map(|n| {
                spec(
                    &format!("m{n}"),
                    Duration::from_secs(10),
                    Duration::from_secs(5),
                )
            })
            .collect();
        // One simulated hour.
        let run = run_for(monitors, &[], 64, Duration::from_secs(3600)).await;
        let calls = run.checker.calls();
        let mut per_monitor: HashMap<&str, Vec<(Timestamp, Timestamp)>> = HashMap::new();
        for (id, due, started) in &calls {
            per_monitor
                .entry(id.as_str())
                .or_default()
                .push((*due, *started));
        }
        assert_eq!(per_monitor.len(), 200);
        for (id, runs) in &per_monitor {
            assert!(
                (359..=360).contains(&runs.len()),
                "{id} ran {} times in an hour",
                runs.len()
            );
            for pair in runs.windows(2) {
                // Due times are exactly one interval apart: no drift.
                assert_eq!(
                    pair[1].0.duration_since(pair[0].0),
                    jiff::SignedDuration::from_secs(10)
                );
            }
            for (due, started) in runs {
                assert!(
                    lag_of(*due, *started) <= Duration::from_millis(2),
                    "{id} started late"
                );
            }
        }
        assert_eq!(run.received, calls.len());
    }

    #[tokio::test(start_paused = true)]
    async fn first_runs_are_spread_across_the_interval() {
        let monitors: Vec<_> = (0..1000)
            .map(|n| {
                spec(
                    &format!("svc-{n}"),
                    Duration::from_secs(10),
                    Duration::from_secs(5),
                )
            })
            .collect();
        let run = run_for(monitors, &[], 1000, Duration::from_millis(9_999)).await;
        let calls = run.checker.calls();
        assert_eq!(
            calls.len(),
            1000,
            "each monitor runs exactly once in its first interval"
        );
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut per_second = [0u32; 10];
        for (_, due, _) in &calls {
            let second = due.duration_since(start).as_secs();
            per_second[usize::try_from(second).unwrap()] += 1;
        }
        for (second, count) in per_second.iter().enumerate() {
            assert!(
                (60..=140).contains(count),
                "second {second}: {count} first runs"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_probe_hurts_only_itself() {
        let mut monitors: Vec<_> = (0..50)
            .map(|n| {
                spec(
                    &format!("ok-{n}"),
                    Duration::from_secs(10),
                    Duration::from_secs(5),
                )
            })
            .collect();
        // Hangs for its whole 10 s timeout, every time.
        monitors.push(spec(
            "stuck",
            Duration::from_secs(10),
            Duration::from_secs(10),
        ));
        let run = run_for(
            monitors,
            &[("stuck", Duration::from_secs(3600))],
            8,
            Duration::from_secs(120),
        )
        .await;
        let calls = run.checker.calls();
        for (id, due, started) in calls.iter().filter(|(id, ..)| id.starts_with("ok-")) {
            assert!(
                lag_of(*due, *started) <= Duration::from_millis(2),
                "{id} was delayed by the stuck probe"
            );
        }
        let stuck_runs = calls.iter().filter(|(id, ..)| id == "stuck").count();
        // Each stuck probe holds its slot for the whole interval, so the
        // next slot finds it still running at most once per round.
        assert!(
            (6..=12).contains(&stuck_runs),
            "stuck ran {stuck_runs} times"
        );
        let ok_runs = calls
            .iter()
            .filter(|(id, ..)| id.starts_with("ok-"))
            .count();
        assert!(ok_runs >= 50 * 11, "healthy monitors ran {ok_runs} times");
        let text = run.metrics.encode().unwrap();
        assert!(
            text.contains("watchkeeper_scheduler_lag_seconds_count"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_panics_does_not_unschedule_its_monitor() {
        let monitors = vec![
            spec("panics", Duration::from_secs(10), Duration::from_secs(5)),
            spec("fine", Duration::from_secs(10), Duration::from_secs(5)),
        ];
        let run = run_for(monitors, &[], 4, Duration::from_secs(60)).await;
        let calls = run.checker.calls();
        let panicking = calls.iter().filter(|(id, ..)| id == "panics").count();
        assert!(
            panicking >= 5,
            "the panicking monitor ran only {panicking} times in 60 s"
        );
        assert!(calls.iter().filter(|(id, ..)| id == "fine").count() >= 5);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded() {
        // 40 monitors due within the same few seconds, each taking 4 s.
        let monitors: Vec<_> = (0..40)
            .map(|n| {
                spec(
                    &format!("slow-{n}"),
                    Duration::from_secs(60),
                    Duration::from_secs(5),
                )
            })
            .collect();
        let delays: Vec<(String, Duration)> = (0..40)
            .map(|n| (format!("slow-{n}"), Duration::from_secs(4)))
            .collect();
        let delays: Vec<(&str, Duration)> =
            delays.iter().map(|(id, d)| (id.as_str(), *d)).collect();
        let run = run_for(monitors, &delays, 4, Duration::from_secs(120)).await;
        // Never more than the bound, and the bound is used, not undershot.
        assert_eq!(run.checker.max_in_flight.load(Ordering::SeqCst), 4);
        assert!(
            run.checker.calls().len() >= 40,
            "every monitor ran despite the bound"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_delivers_results_of_probes_in_flight() {
        let monitors = vec![spec(
            "slowish",
            Duration::from_secs(10),
            Duration::from_secs(5),
        )];
        let phase = schedule::phase(&monitors[0].id, Duration::from_secs(10));
        // Cancel 200 ms after the probe started; it takes 500 ms, within the
        // 1 s grace, so its result must still arrive.
        let run = run_for(
            monitors,
            &[("slowish", Duration::from_millis(500))],
            4,
            phase + Duration::from_millis(200),
        )
        .await;
        assert_eq!(run.checker.calls().len(), 1);
        assert_eq!(run.received, 1);
    }

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    #[test]
    fn probes_in_flight_report_the_oldest_start_until_released() {
        let in_flight = ProbesInFlight::new(3);
        assert_eq!(in_flight.oldest(), None);
        let first = in_flight.start(2, at("2026-01-01T00:00:05.250Z"));
        let second = in_flight.start(0, at("2026-01-01T00:00:07Z"));
        assert!(in_flight.is_running(2) && in_flight.is_running(0));
        assert!(!in_flight.is_running(1));
        assert_eq!(in_flight.oldest(), Some(at("2026-01-01T00:00:05.250Z")));
        drop(first);
        assert!(!in_flight.is_running(2));
        assert_eq!(in_flight.oldest(), Some(at("2026-01-01T00:00:07Z")));
        drop(second);
        assert_eq!(in_flight.oldest(), None);
        // A position past the end is never running and changes nothing.
        drop(in_flight.start(7, at("2026-01-01T00:00:01Z")));
        assert_eq!(in_flight.oldest(), None);
    }

    /// A scheduler whose results are held by the test, as a busy recorder
    /// would hold them, until the test takes them.
    struct Held {
        clock: Arc<dyn Clock>,
        in_flight: ProbesInFlight,
        results: mpsc::Receiver<Finished>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    fn run_held(monitors: Vec<Arc<MonitorSpec>>, delays: &[(&str, Duration)]) -> Held {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::starting_at(at("2026-01-01T00:00:00Z")));
        let checker = Arc::new(ScriptedChecker::new(clock.clone(), delays));
        let in_flight = ProbesInFlight::new(monitors.len());
        let scheduler = Scheduler::new(
            monitors,
            checker,
            clock.clone(),
            Metrics::new(),
            8,
            in_flight.clone(),
            Duration::from_secs(1),
        );
        let (tx, results) = mpsc::channel(16);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(scheduler.run(tx, cancel.clone()));
        Held {
            clock,
            in_flight,
            results,
            cancel,
            task,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_is_in_flight_from_its_start_until_the_recorder_takes_its_result() {
        let slow = spec("slow", Duration::from_secs(3600), Duration::from_secs(3600));
        let phase = schedule::phase(&slow.id, Duration::from_secs(3600));
        let mut held = run_held(vec![slow], &[("slow", Duration::from_secs(600))]);
        assert_eq!(
            held.in_flight.oldest(),
            None,
            "nothing runs before its phase"
        );

        // Ten minutes into a probe that takes ten minutes, the oldest start
        // is the probe's own, not the hour its timeout allows.
        tokio::time::sleep(phase + Duration::from_secs(599)).await;
        let started = at("2026-01-01T00:00:00Z") + jiff::SignedDuration::try_from(phase).unwrap();
        assert_eq!(held.in_flight.oldest(), Some(started));

        // Finished and handed over, but not yet taken: still held back.
        let finished = held.results.recv().await.unwrap();
        assert_eq!(finished.result.started_at, started);
        assert_eq!(held.in_flight.oldest(), Some(started));
        assert!(held.clock.now() >= started + jiff::SignedDuration::from_secs(600));
        drop(finished);
        assert_eq!(held.in_flight.oldest(), None);

        held.cancel.cancel();
        held.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_monitor_waits_for_the_recorder_before_its_next_probe() {
        // Due every second, answering at once; its results are not taken.
        let mut held = run_held(
            vec![spec(
                "quick",
                Duration::from_secs(1),
                Duration::from_secs(1),
            )],
            &[],
        );
        tokio::time::sleep(Duration::from_secs(10)).await;
        let first = held.results.recv().await.unwrap();
        assert!(
            held.results.try_recv().is_err(),
            "a second probe started before the first result was taken"
        );
        drop(first);
        // Taken: the next due slot runs again.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(held.results.try_recv().is_ok());

        held.cancel.cancel();
        held.task.await.unwrap();
    }
}
