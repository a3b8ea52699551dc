//! Results from outside the scheduler (a heartbeat, a runbook step, a
//! pushed result) go through the same state machine, board and batched
//! writes as a probe's; one for a monitor that is not configured is an
//! error its sender sees. After each batch that commits state changes, the
//! id of the last one is published on a `watch`, so a consumer wakes at
//! once instead of polling the store.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule::Schedule;
use watchkeeper_engine::{Checker, Engine, EngineConfig, ExternalError, ResultSource, SystemClock};
use watchkeeper_testkit::{TestStorage, on_both_engines};

use crate::monitor;

/// Never called: the only monitor's one-shot instant lies far ahead.
struct NeverCalled;

impl Checker for NeverCalled {
    async fn check(&self, monitor: &MonitorSpec, _due_at: Timestamp) -> CheckResult {
        panic!("the scheduler probed {} though nothing was due", monitor.id)
    }
}

fn external(id: &str, clock: &dyn Clock, health: Health) -> CheckResult {
    let now = Timestamp::from_millisecond(clock.now().as_millisecond()).unwrap();
    CheckResult {
        monitor: MonitorId::parse(id).unwrap(),
        due_at: now,
        started_at: now,
        latency: Duration::from_millis(3),
        evaluation: Duration::ZERO,
        health,
        reason: (health == Health::Down).then(|| "the job reported exit code 1".to_owned()),
        fallback: None,
    }
}

on_both_engines! {
#[flavor(multi_thread)]
async fn an_outside_result_changes_state_and_the_commit_is_signalled(engine) {
    let storage = TestStorage::new(engine).await;
    let store = crate::open_store(&storage).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut job = Arc::try_unwrap(monitor("nightly-job", Duration::from_secs(1))).unwrap();
    job.schedule = Schedule::At("2100-01-01T00:00:00Z".parse().unwrap());
    let mut config = EngineConfig::new(vec![Arc::new(job)]);
    // Results alone would wait a minute: only a state change is written
    // (and signalled) at once.
    config.flush_interval = Duration::from_secs(60);
    let engine = Engine::start(
        config,
        Arc::new(NeverCalled),
        store.clone(),
        clock.clone(),
        crate::metrics().1,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let control = engine.control();
    let results = control.external_results();
    let mut committed = control.committed_state_changes();
    assert_eq!(
        *committed.borrow_and_update(),
        None,
        "nothing committed yet"
    );

    results
        .submit(
            external("nightly-job", clock.as_ref(), Health::Down),
            ResultSource::Heartbeat,
        )
        .await
        .unwrap();
    // Recorded as a probe's would be: on the board at once.
    let id = MonitorId::parse("nightly-job").unwrap();
    let view = engine.board().get(&id).unwrap();
    assert_eq!(view.status.map(|status| status.health), Some(Health::Down));

    // Woken by the commit, not by polling the store.
    tokio::time::timeout(Duration::from_secs(10), committed.changed())
        .await
        .expect("the commit of the state change was not signalled")
        .unwrap();
    let first = committed.borrow_and_update().expect("an id after a commit");
    let changes = store.state_changes(&id, 10).await.unwrap();
    assert_eq!(
        changes.iter().map(|change| change.to).collect::<Vec<_>>(),
        vec![Health::Down],
        "committed before it was signalled"
    );

    // The same health again is no change: nothing more to signal.
    results
        .submit(
            external("nightly-job", clock.as_ref(), Health::Down),
            ResultSource::Runbook,
        )
        .await
        .unwrap();
    results
        .submit(
            external("nightly-job", clock.as_ref(), Health::Up),
            ResultSource::Pushed,
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), committed.changed())
        .await
        .expect("the second state change was not signalled")
        .unwrap();
    let second = committed.borrow_and_update().unwrap();
    assert!(second > first, "ids only grow: {first} then {second}");
    assert_eq!(store.state_changes(&id, 10).await.unwrap().len(), 2);

    // A result for a monitor that is not configured is refused, and said so.
    let refused = results
        .submit(
            external("no-such-job", clock.as_ref(), Health::Up),
            ResultSource::Heartbeat,
        )
        .await;
    assert_eq!(
        refused,
        Err(ExternalError::UnknownMonitor {
            monitor: MonitorId::parse("no-such-job").unwrap(),
            origin: ResultSource::Heartbeat,
        })
    );
    assert_eq!(
        refused.unwrap_err().to_string(),
        "no monitor `no-such-job` is configured; a heartbeat result for it was not recorded"
    );

    let report = engine.shutdown().await;
    assert!(report.is_clean(), "{report:?}");
    // All three outside results were written (at shutdown, the last two).
    let stored = store
        .results_between(&id, Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert_eq!(stored.len(), 3);
    // After shutdown the handle refuses rather than hangs.
    assert_eq!(
        results
            .submit(
                external("nightly-job", clock.as_ref(), Health::Up),
                ResultSource::Pushed,
            )
            .await,
        Err(ExternalError::Stopped)
    );
    store.close().await;
}
}
