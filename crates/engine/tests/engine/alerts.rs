//! Alerts in the running engine, fed outside results (the scheduler never
//! probes: the one monitor's one-shot instant lies far ahead): a monitor's
//! own alert fires at its threshold and resolves at its recovery, each
//! change committed with its result and signalled; a restart neither fires
//! it again nor forgets it, and a recovery while stopped resolves it once.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::alert::{AlertPhase, AlertRule, RuleSet, Transition};
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule::Schedule;
use watchkeeper_engine::{Checker, Engine, EngineConfig, EngineHandle, ResultSource, SystemClock};
use watchkeeper_store::Store;
use watchkeeper_testkit::{TestStorage, on_both_engines};

use crate::monitor;

struct NeverCalled;

impl Checker for NeverCalled {
    async fn check(&self, monitor: &MonitorSpec, _due_at: Timestamp) -> CheckResult {
        panic!("the scheduler probed {} though nothing was due", monitor.id)
    }
}

fn api() -> MonitorId {
    MonitorId::parse("api").unwrap()
}

async fn start(store: &Store, clock: Arc<dyn Clock>) -> EngineHandle {
    let mut spec = Arc::try_unwrap(monitor("api", Duration::from_secs(1))).unwrap();
    spec.schedule = Schedule::At("2100-01-01T00:00:00Z".parse().unwrap());
    let mut config = EngineConfig::new(vec![Arc::new(spec)]);
    config.alert_rules = RuleSet::new(vec![Arc::new(AlertRule::monitor_down(
        api(),
        3,
        2,
        "P2".to_owned(),
    ))]);
    config.flush_interval = Duration::from_secs(60);
    Engine::start(
        config,
        Arc::new(NeverCalled),
        store.clone(),
        clock,
        crate::metrics().1,
        CancellationToken::new(),
    )
    .await
    .unwrap()
}

/// Submits results of `api` 10 ms apart, in order.
async fn submit(engine: &EngineHandle, clock: &dyn Clock, healths: &[Health]) {
    let results = engine.control().external_results();
    for health in healths {
        let now = Timestamp::from_millisecond(clock.now().as_millisecond()).unwrap();
        let result = CheckResult {
            monitor: api(),
            due_at: now,
            started_at: now,
            latency: Duration::from_millis(3),
            evaluation: Duration::ZERO,
            health: *health,
            reason: (*health == Health::Down).then(|| "connection refused".to_owned()),
            fallback: None,
        };
        results.submit(result, ResultSource::Pushed).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The transitions stored so far, in commit order.
async fn stored_transitions(store: &Store) -> Vec<Transition> {
    store
        .alert_events_after(0, 100)
        .await
        .unwrap()
        .iter()
        .map(|event| event.transition)
        .collect()
}

/// Waits until an alert event with an id above `after` is committed.
async fn committed_after(engine: &EngineHandle, after: Option<i64>) -> i64 {
    let mut committed = engine.control().committed_alert_events();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let now = *committed.borrow_and_update();
            if let Some(id) = now
                && Some(id) > after
            {
                return id;
            }
            committed.changed().await.unwrap();
        }
    })
    .await
    .expect("no alert event was committed and signalled")
}

on_both_engines! {
#[flavor(multi_thread)]
async fn a_monitors_alert_fires_resolves_and_survives_restarts_exactly_once(engine) {
    let storage = TestStorage::new(engine).await;
    let store = crate::open_store(&storage).await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());

    let running = start(&store, clock.clone()).await;
    submit(&running, clock.as_ref(), &[Health::Down, Health::Down]).await;
    submit(&running, clock.as_ref(), &[Health::Down]).await;
    let fired = committed_after(&running, None).await;
    assert_eq!(stored_transitions(&store).await, [Transition::Fired]);
    let alerts = store.alerts().await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].state.phase, AlertPhase::Firing);
    assert_eq!(alerts[0].labels["alertname"], "MonitorDown");
    assert_eq!(alerts[0].labels["monitor"], "api");
    let events = store.alert_events(&alerts[0].fingerprint, 10).await.unwrap();
    assert_eq!(events[0].reason.as_deref(), Some("connection refused"));
    assert!(running.shutdown().await.is_clean());

    // Still failing after a restart: it keeps firing, and is not fired again.
    let running = start(&store, clock.clone()).await;
    submit(&running, clock.as_ref(), &[Health::Down, Health::Down, Health::Down, Health::Down]).await;
    assert!(running.shutdown().await.is_clean());
    assert_eq!(stored_transitions(&store).await, [Transition::Fired]);
    assert_eq!(store.alerts().await.unwrap()[0].state.phase, AlertPhase::Firing);

    // Recovered while stopped: two successes resolve it, once.
    let running = start(&store, clock.clone()).await;
    submit(&running, clock.as_ref(), &[Health::Up, Health::Up, Health::Up]).await;
    committed_after(&running, Some(fired)).await;
    assert!(running.shutdown().await.is_clean());
    assert_eq!(
        stored_transitions(&store).await,
        [Transition::Fired, Transition::Resolved]
    );
    assert_eq!(store.alerts().await.unwrap()[0].state.phase, AlertPhase::Resolved);
    store.close().await;
}
}
