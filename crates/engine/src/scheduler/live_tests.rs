//! The scheduler running live under tokio's paused clock, its results
//! taken at once: calendar schedules across a wall clock step and the two
//! DST changes, one-shot instants, and a reload between due times. (Split
//! from `tests.rs`, which keeps the interval and in-flight cases.)

use std::sync::atomic::{AtomicI64, Ordering};

use super::tests::{ScriptedChecker, at, spec};
use super::*;
use crate::clock::SystemClock;

/// A `SystemClock` under paused time whose wall reading can be stepped, as
/// NTP steps the system clock.
struct SteppedClock {
    steady: SystemClock,
    wall_offset_ms: AtomicI64,
}

impl SteppedClock {
    fn starting_at(start: &str) -> Arc<Self> {
        Arc::new(Self {
            steady: SystemClock::starting_at(at(start)),
            wall_offset_ms: AtomicI64::new(0),
        })
    }

    fn step_wall(&self, by: jiff::SignedDuration) {
        self.wall_offset_ms
            .fetch_add(i64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Timestamp {
        self.steady.now()
    }

    fn wall(&self) -> Timestamp {
        self.steady.now()
            + jiff::SignedDuration::from_millis(self.wall_offset_ms.load(Ordering::SeqCst))
    }
}

fn on_schedule(id: &str, schedule: Schedule) -> Arc<MonitorSpec> {
    let mut spec =
        Arc::try_unwrap(spec(id, Duration::from_secs(60), Duration::from_secs(5))).unwrap();
    spec.schedule = schedule;
    Arc::new(spec)
}

fn cron(expression: &str, zone: &str) -> Schedule {
    Schedule::Cron(Box::new(
        schedule::CronSchedule::parse(expression, zone).unwrap(),
    ))
}

/// A running scheduler whose results are taken at once.
struct Live {
    checker: Arc<ScriptedChecker>,
    reloads: mpsc::Sender<SchedulerReload>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    collector: tokio::task::JoinHandle<usize>,
}

fn start_live(monitors: Vec<Arc<MonitorSpec>>, clock: Arc<dyn Clock>) -> Live {
    let checker = Arc::new(ScriptedChecker::new(clock.clone(), &[]));
    let scheduler = Scheduler::new(
        monitors,
        checker.clone(),
        clock,
        crate::metrics::for_tests().1,
        64,
        ProbesInFlight::new(),
        Duration::from_secs(1),
    );
    let (tx, mut rx) = mpsc::channel(1024);
    let (reloads, reload_rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(scheduler.run(tx, reload_rx, cancel.clone()));
    let collector = tokio::spawn(async move {
        let mut received = 0;
        while rx.recv().await.is_some() {
            received += 1;
        }
        received
    });
    Live {
        checker,
        reloads,
        cancel,
        task,
        collector,
    }
}

impl Live {
    async fn reload(&self, monitors: Vec<Arc<MonitorSpec>>) {
        let (applied, done) = oneshot::channel();
        self.reloads
            .send(SchedulerReload { monitors, applied })
            .await
            .unwrap();
        done.await.unwrap();
    }

    async fn stop(self) -> Arc<ScriptedChecker> {
        self.cancel.cancel();
        self.task.await.unwrap();
        let received = self.collector.await.unwrap();
        assert_eq!(received, self.checker.calls().len(), "every result arrived");
        self.checker
    }
}

fn assert_cadence(dues: &[Timestamp], every: i64) {
    for pair in dues.windows(2) {
        assert_eq!(
            pair[1].duration_since(pair[0]),
            jiff::SignedDuration::from_secs(every),
            "{dues:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_wall_clock_step_moves_neither_a_cron_job_nor_an_interval() {
    // 01:00 in Berlin (CET, UTC+1) on both readings.
    let clock = SteppedClock::starting_at("2026-02-10T00:00:00Z");
    let live = start_live(
        vec![
            on_schedule("nightly", cron("0 3 * * *", "Europe/Berlin")),
            spec("tick", Duration::from_secs(10), Duration::from_secs(5)),
        ],
        clock.clone(),
    );
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    // NTP steps the wall clock an hour forward at 01:30.
    clock.step_wall(jiff::SignedDuration::from_hours(1));
    // 35 more steady minutes: the wall reads 03:05 Berlin.
    tokio::time::sleep(Duration::from_secs(35 * 60)).await;
    let checker = live.stop().await;

    let walls = checker.walls_of("nightly");
    assert_eq!(walls.len(), 1, "{walls:?}");
    let late = walls[0].duration_since(at("2026-02-10T02:00:00Z"));
    assert!(
        late >= jiff::SignedDuration::ZERO && late <= jiff::SignedDuration::from_secs(1),
        "ran at {} by the wall clock, not at 03:00 Berlin",
        walls[0]
    );
    // Recorded on the steady reading, an hour behind the wall.
    assert_eq!(checker.dues_of("nightly"), vec![at("2026-02-10T01:00:00Z")]);

    // The interval monitor kept its cadence through the step.
    let ticks = checker.dues_of("tick");
    assert!((389..=391).contains(&ticks.len()), "{} ticks", ticks.len());
    assert_cadence(&ticks, 10);
}

#[tokio::test(start_paused = true)]
async fn spring_forward_a_job_in_the_missing_hour_runs_once_after_it() {
    // 00:00 CET on 2026-03-29; at 02:00 CET the clocks go to 03:00 CEST.
    let clock = SteppedClock::starting_at("2026-03-28T23:00:00Z");
    let live = start_live(
        vec![on_schedule("backup", cron("30 2 * * *", "Europe/Berlin"))],
        clock,
    );
    tokio::time::sleep(Duration::from_secs(4 * 3600)).await;
    let checker = live.stop().await;
    // 02:30 does not exist that night: it runs once, at 03:00 CEST.
    assert_eq!(checker.dues_of("backup"), vec![at("2026-03-29T01:00:00Z")]);
}

#[tokio::test(start_paused = true)]
async fn fall_back_a_job_in_the_repeated_hour_runs_once() {
    // 01:00 CEST on 2026-10-25; at 03:00 CEST the clocks go back to 02:00.
    let clock = SteppedClock::starting_at("2026-10-24T23:00:00Z");
    let live = start_live(
        vec![on_schedule("backup", cron("30 2 * * *", "Europe/Berlin"))],
        clock,
    );
    tokio::time::sleep(Duration::from_secs(4 * 3600)).await;
    let checker = live.stop().await;
    // 02:30 happens twice (00:30 and 01:30 UTC); the job runs at the first.
    assert_eq!(checker.dues_of("backup"), vec![at("2026-10-25T00:30:00Z")]);
}

#[tokio::test(start_paused = true)]
async fn a_one_shot_runs_once_at_its_instant_and_a_past_one_never() {
    let clock = SteppedClock::starting_at("2026-02-10T00:00:00Z");
    let live = start_live(
        vec![
            on_schedule("deadline", Schedule::At(at("2026-02-10T00:10:00Z"))),
            on_schedule("missed", Schedule::At(at("2026-02-09T23:00:00Z"))),
        ],
        clock,
    );
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let checker = live.stop().await;
    assert_eq!(
        checker.dues_of("deadline"),
        vec![at("2026-02-10T00:10:00Z")]
    );
    assert!(checker.dues_of("missed").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_reload_adds_changes_and_removes_monitors_between_due_times() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::starting_at(at("2026-01-01T00:00:00Z")));
    let every = |id, seconds| spec(id, Duration::from_secs(seconds), Duration::from_secs(5));
    let live = start_live(
        vec![every("kept", 10), every("slower", 10), every("gone", 10)],
        clock.clone(),
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    let reloaded_at = clock.now();
    live.reload(vec![
        every("new", 10),
        every("slower", 30),
        every("kept", 10),
    ])
    .await;
    tokio::time::sleep(Duration::from_secs(120)).await;
    let checker = live.stop().await;

    // Unchanged: the same due times on, as if nothing happened.
    let kept = checker.dues_of("kept");
    assert!((17..=18).contains(&kept.len()), "{kept:?}");
    assert_cadence(&kept, 10);
    // Removed: nothing due after the reload.
    let gone = checker.dues_of("gone");
    assert!(gone.iter().all(|due| *due <= reloaded_at), "{gone:?}");
    assert!(gone.len() >= 5);
    // Added: from its first due time after the reload.
    let new = checker.dues_of("new");
    assert!(new.iter().all(|due| *due >= reloaded_at), "{new:?}");
    assert!((11..=12).contains(&new.len()), "{new:?}");
    // Changed schedule: the new interval, at its new phase, from the reload.
    let slower = checker.dues_of("slower");
    let after: Vec<_> = slower
        .iter()
        .copied()
        .filter(|due| *due > reloaded_at)
        .collect();
    assert!((3..=4).contains(&after.len()), "{slower:?}");
    assert_cadence(&after, 30);
    let phase = schedule::phase(
        &MonitorId::parse("slower").unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(
        after[0],
        schedule::first_due(
            &MonitorId::parse("slower").unwrap(),
            Duration::from_secs(30),
            reloaded_at
        )
    );
    assert!(phase < Duration::from_secs(30));
}
