//! Rollups written by the running engine's own maintenance: a minute is
//! rolled up soon after it ends even though a monitor's timeout is an hour,
//! yet not before the result of a probe that started in it is written.
//!
//! Real time, not tokio's paused clock: the store's IO runs on SQLite's own
//! threads, and paused time would race ahead while it does. The clock is
//! set just before a minute boundary and the engine's roll-up interval and
//! margin are short, so the whole test takes a few seconds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::rollup::minute_of;
use watchkeeper_engine::{Checker, Engine, EngineConfig, SystemClock};
use watchkeeper_testkit::{TestStorage, on_both_engines, poll_until};

use crate::monitor;

/// Answers after a per-monitor delay, as a target that slow would.
struct ScriptedChecker {
    clock: Arc<dyn Clock>,
    delays: HashMap<String, Duration>,
}

impl Checker for ScriptedChecker {
    async fn check(&self, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
        let started_at = self.clock.now();
        let delay = self
            .delays
            .get(monitor.id.as_str())
            .copied()
            .unwrap_or_default();
        tokio::time::sleep(delay).await;
        CheckResult {
            monitor: monitor.id.clone(),
            due_at,
            started_at,
            latency: delay,
            evaluation: Duration::ZERO,
            health: Health::Up,
            reason: None,
            fallback: None,
        }
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn the_engine_rolls_up_a_minute_once_every_probe_started_in_it_is_written(engine) {
        let storage = TestStorage::new(engine).await;
        let store = crate::open_store(&storage).await;
        // Three seconds before the minute ends; both monitors are first due
        // within a second, so each starts a probe in the minute 10:00.
        let minute: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::starting_at(
            "2026-01-01T10:00:57Z".parse().unwrap(),
        ));
        // `long` may take an hour (the old rule waited that long for every
        // rollup) and takes four seconds: it ends after the minute does, and
        // after the minute's grace, so only tracking it keeps the minute open.
        let checker = Arc::new(ScriptedChecker {
            clock: clock.clone(),
            delays: HashMap::from([("long".to_owned(), Duration::from_secs(4))]),
        });
        let mut config = EngineConfig::new(vec![
            monitor("quick", Duration::from_millis(500)),
            monitor("long", Duration::from_secs(3600)),
        ]);
        config.flush_interval = Duration::from_millis(50);
        config.rollup_every = Duration::from_millis(100);
        config.rollup_margin = Duration::from_millis(100);
        let engine = Engine::start(
            config,
            checker,
            store.clone(),
            clock,
            crate::metrics().1,
            CancellationToken::new(),
        )
        .await
        .unwrap();

        let quick = MonitorId::parse("quick").unwrap();
        let long = MonitorId::parse("long").unwrap();
        let next_minute = minute + jiff::SignedDuration::from_mins(1);
        let rolled = poll_until(
            Duration::from_secs(15),
            "the engine to roll up the minute 10:00",
            || async {
                let rollups = store.rollups(&quick, minute, next_minute).await.unwrap();
                (!rollups.is_empty()).then_some(rollups)
            },
        )
        .await;

        // Final as soon as it is rolled up: every result of the minute is in.
        let raw = store
            .results_between(&quick, minute, next_minute)
            .await
            .unwrap();
        assert_eq!(rolled.len(), 1, "{rolled:?}");
        assert_eq!(rolled[0].minute, minute);
        assert_eq!(usize::try_from(rolled[0].count).unwrap(), raw.len());
        assert!(raw.len() >= 2, "{raw:?}");

        // The long probe that started in 10:00 (written by now, or soon if the
        // minute was rolled up too early) is counted in the minute's rollup.
        let long_raw = poll_until(
            Duration::from_secs(15),
            "the result of the long probe started in 10:00",
            || async {
                let raw = store
                    .results_between(&long, minute, next_minute)
                    .await
                    .unwrap();
                (!raw.is_empty()).then_some(raw)
            },
        )
        .await;
        assert_eq!(long_raw.len(), 1, "{long_raw:?}");
        assert_eq!(minute_of(long_raw[0].started_at), minute);
        let long_rollups = store.rollups(&long, minute, next_minute).await.unwrap();
        assert_eq!(
            long_rollups.iter().map(|r| r.count).collect::<Vec<_>>(),
            [1],
            "the minute was rolled up before the long probe's result was written"
        );

        assert!(engine.shutdown().await.is_clean());
        store.close().await;
    }
}
