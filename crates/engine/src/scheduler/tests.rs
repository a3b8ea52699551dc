//! The scheduler under tokio's paused clock: simulated hours run in
//! milliseconds, and `SystemClock` follows the simulated time. Interval
//! monitors, slow and panicking probes, the concurrency bound, and the
//! in-flight marks (a removed monitor's last probe too); calendar
//! schedules and reloads are in `live_tests`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::{HttpSpec, Parity, ProbeSpec, RedirectPolicy};

use super::*;
use crate::clock::SystemClock;

pub(super) fn spec(id: &str, interval: Duration, timeout: Duration) -> Arc<MonitorSpec> {
    Arc::new(MonitorSpec {
        id: MonitorId::parse(id).unwrap(),
        name: id.to_owned(),
        component: None,
        schedule: Schedule::Every(interval),
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
pub(super) struct ScriptedChecker {
    clock: Arc<dyn Clock>,
    delays: HashMap<String, Duration>,
    calls: Mutex<Vec<(String, Timestamp, Timestamp)>>,
    /// The wall clock's reading at each call, by monitor.
    walls: Mutex<Vec<(String, Timestamp)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl ScriptedChecker {
    pub(super) fn new(clock: Arc<dyn Clock>, delays: &[(&str, Duration)]) -> Self {
        Self {
            clock,
            delays: delays
                .iter()
                .map(|(id, d)| ((*id).to_owned(), *d))
                .collect(),
            calls: Mutex::new(Vec::new()),
            walls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    pub(super) fn calls(&self) -> Vec<(String, Timestamp, Timestamp)> {
        self.calls.lock().unwrap().clone()
    }

    /// Due times of one monitor's calls.
    pub(super) fn dues_of(&self, id: &str) -> Vec<Timestamp> {
        self.calls()
            .into_iter()
            .filter(|(monitor, ..)| monitor == id)
            .map(|(_, due, _)| due)
            .collect()
    }

    /// Wall clock readings at one monitor's calls.
    pub(super) fn walls_of(&self, id: &str) -> Vec<Timestamp> {
        self.walls
            .lock()
            .unwrap()
            .iter()
            .filter(|(monitor, _)| monitor == id)
            .map(|(_, wall)| *wall)
            .collect()
    }
}

impl Checker for ScriptedChecker {
    async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        let started_at = self.clock.now();
        self.calls
            .lock()
            .unwrap()
            .push((monitor.id.to_string(), due_at, started_at));
        self.walls
            .lock()
            .unwrap()
            .push((monitor.id.to_string(), self.clock.wall()));
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
    registry: prometheus_client::registry::Registry,
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
    let (registry, metrics) = crate::metrics::for_tests();
    let scheduler = Scheduler::new(
        monitors,
        checker.clone(),
        clock,
        metrics,
        concurrency,
        ProbesInFlight::new(),
        Duration::from_secs(1),
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let (_reloads, reload_rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(scheduler.run(tx, reload_rx, cancel.clone()));
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
        registry,
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
    let text = crate::metrics::encode(&run.registry);
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
    let delays: Vec<(&str, Duration)> = delays.iter().map(|(id, d)| (id.as_str(), *d)).collect();
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

pub(super) fn at(raw: &str) -> Timestamp {
    raw.parse().unwrap()
}

/// A scheduler whose results are held by the test, as a busy recorder
/// would hold them, until the test takes them.
struct Held {
    clock: Arc<dyn Clock>,
    in_flight: ProbesInFlight,
    /// Kept open, as the engine keeps it.
    reloads: mpsc::Sender<SchedulerReload>,
    results: mpsc::Receiver<Input>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

fn probe(input: Input) -> Finished {
    match input {
        Input::Probe(finished) => finished,
        other => panic!("the scheduler sent {other:?}"),
    }
}

fn run_held(monitors: Vec<Arc<MonitorSpec>>, delays: &[(&str, Duration)]) -> Held {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::starting_at(at("2026-01-01T00:00:00Z")));
    let checker = Arc::new(ScriptedChecker::new(clock.clone(), delays));
    let in_flight = ProbesInFlight::new();
    let scheduler = Scheduler::new(
        monitors,
        checker,
        clock.clone(),
        crate::metrics::for_tests().1,
        8,
        in_flight.clone(),
        Duration::from_secs(1),
    );
    let (tx, results) = mpsc::channel(16);
    let (reloads, reload_rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(scheduler.run(tx, reload_rx, cancel.clone()));
    Held {
        reloads,
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
    let finished = probe(held.results.recv().await.unwrap());
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
    let first = probe(held.results.recv().await.unwrap());
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

/// A reload names each monitor it removes with its last probe: in flight
/// for the one whose ten-minute probe runs, until the recorder takes its
/// result; over for the one with nothing running.
#[tokio::test(start_paused = true)]
async fn a_reload_answers_each_removed_monitor_with_its_last_probe() {
    let hour = Duration::from_secs(3600);
    let slow = spec("slow", hour, hour);
    let idle = spec("idle", hour, Duration::from_secs(1));
    let phase = schedule::phase(&slow.id, hour);
    let mut held = run_held(vec![slow, idle], &[("slow", Duration::from_secs(600))]);
    tokio::time::sleep(phase + Duration::from_secs(1)).await;
    // `idle` may have run meanwhile: take its result, as the recorder would.
    while let Ok(input) = held.results.try_recv() {
        assert_eq!(probe(input).result.monitor.as_str(), "idle");
    }
    assert!(held.in_flight.oldest().is_some(), "`slow` is probing");

    let (applied, done) = oneshot::channel();
    held.reloads
        .send(SchedulerReload {
            monitors: Vec::new(),
            applied,
        })
        .await
        .unwrap();
    let mut unscheduled = done.await.unwrap();
    unscheduled.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let names: Vec<(&str, bool)> = unscheduled
        .iter()
        .map(|(id, last)| (id.as_str(), last.in_flight()))
        .collect();
    assert_eq!(names, [("idle", false), ("slow", true)]);

    let finished = probe(held.results.recv().await.unwrap());
    assert_eq!(finished.result.monitor.as_str(), "slow");
    assert!(unscheduled[1].1.in_flight(), "not taken yet");
    drop(finished);
    assert!(!unscheduled[1].1.in_flight());

    held.cancel.cancel();
    held.task.await.unwrap();
}
