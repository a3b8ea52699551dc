//! State changes are written promptly, not at the next periodic flush:
//! notifications and the detection time wait for them, while ordinary
//! results may wait for a full batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_engine::{Checker, Engine, EngineConfig, SystemClock};
use watchkeeper_testkit::{TestStorage, on_both_engines, poll_until};

use crate::monitor;

/// Up until told to fail, then down.
struct Switch {
    clock: Arc<dyn Clock>,
    down: AtomicBool,
}

impl Checker for Switch {
    async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        let down = self.down.load(Ordering::SeqCst);
        CheckResult {
            monitor: monitor.id.clone(),
            due_at,
            started_at: self.clock.now(),
            latency: Duration::from_millis(1),
            evaluation: Duration::ZERO,
            health: if down { Health::Down } else { Health::Up },
            reason: down.then(|| "switched off".to_owned()),
            fallback: None,
        }
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_state_change_is_written_long_before_the_next_periodic_flush(engine) {
        let storage = TestStorage::new(engine).await;
        let store = crate::open_store(&storage).await;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let checker = Arc::new(Switch {
            clock: clock.clone(),
            down: AtomicBool::new(false),
        });
        let id = MonitorId::parse("api").unwrap();
        let mut config = EngineConfig::new(vec![monitor("api", Duration::from_millis(500))]);
        // Results alone would wait a minute (or for 1,000 of them).
        config.flush_interval = Duration::from_secs(60);
        let cancel = CancellationToken::new();
        let engine = Engine::start(
            config,
            checker.clone(),
            store.clone(),
            clock,
            crate::metrics().1,
            cancel,
        )
        .await
        .unwrap();

        let changes_to = |health: Health| {
            let store = store.clone();
            let id = id.clone();
            async move {
                let changes = store.state_changes(&id, 10).await.unwrap();
                changes
                    .iter()
                    .any(|change| change.to == health)
                    .then_some(())
            }
        };
        // The first result (unknown -> up) is a change too.
        poll_until(Duration::from_secs(10), "the first state change", || {
            changes_to(Health::Up)
        })
        .await;

        // Due within a second and written right after; the periodic flush
        // would take up to a minute, past the deadline.
        checker.down.store(true, Ordering::SeqCst);
        poll_until(Duration::from_secs(10), "the change to down", || {
            changes_to(Health::Down)
        })
        .await;
        // Results without a change of state wait for the periodic flush.
        let results = store
            .results_between(&id, Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap();
        assert!(results.len() <= 3, "{} results written", results.len());
        assert!(engine.shutdown().await.is_clean());
    }
}
