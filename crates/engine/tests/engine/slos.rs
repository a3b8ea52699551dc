//! SLOs over a real store with a fake clock: six hours of good service,
//! then ten minutes in which one probe in six fails, rolled up; the
//! evaluator fires the fast burn-rate alert (stored like any alert), shows
//! the spent budget, and a restart over the same store does not fire it
//! again.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use prometheus_client::registry::Registry;
use watchkeeper_domain::alert::AlertPhase;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::slo::{Indicator, Objective};
use watchkeeper_domain::alert::slo_tracker::{SLO_BURN_RATE, SloSpec};
use watchkeeper_domain::clock::ManualClock;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_engine::slos::{SloEvaluator, SloMetrics};
use watchkeeper_testkit::{TestStorage, on_both_engines, result};

fn start() -> Timestamp {
    "2026-03-02T00:00:00Z".parse().unwrap()
}

fn spec() -> SloSpec {
    SloSpec {
        id: "api-availability".to_owned(),
        monitors: vec![MonitorId::parse("api").unwrap()],
        objective: Objective {
            target: 0.999,
            period: SignedDuration::from_hours(30 * 24),
            indicator: Indicator::Availability,
        },
        severity: "P0".to_owned(),
        labels: Labels::new(),
    }
}

on_both_engines! {
    async fn a_budget_burn_fires_the_fast_burn_rate_alert_once(engine) {
        let storage = TestStorage::new(engine).await;
        let store = crate::open_store(&storage).await;
        store.register_monitors(&[MonitorId::parse("api").unwrap()]).await.unwrap();
        // a probe every 10 s for 370 minutes; from minute 360, one in six fails
        let mut results = Vec::new();
        for i in 0..(370 * 6) {
            let at = start() + SignedDuration::from_secs(i * 10);
            let mut builder = result("api", at);
            if i >= 360 * 6 && i % 6 == 0 {
                builder = builder.down("status == 200 failed: status was 500");
            }
            results.push(builder.build());
        }
        for chunk in results.chunks(500) {
            store.write_batch(chunk, &[]).await.unwrap();
        }
        let now = start() + SignedDuration::from_mins(370);
        // at most an hour per call: catch up, boundedly
        for _ in 0..20 {
            if store.roll_up(now).await.unwrap() == 0 {
                break;
            }
        }

        let clock = Arc::new(ManualClock::new(now));
        let mut registry = Registry::default();
        let (evaluator, board) = SloEvaluator::new(
            store.clone(),
            clock.clone(),
            vec![spec()],
            SloMetrics::register(&mut registry),
        );
        let mut trackers = evaluator.start().await.unwrap();
        let statuses = evaluator.step(&mut trackers).await.unwrap();
        let status = &statuses[0];
        assert_eq!(status.budget.bad, 10);
        assert!(status.budget.remaining < 0.99, "{status:?}");
        let fast = status.alerts.iter().find(|(long, _, _)| long.as_hours() == 1).unwrap();
        assert!(fast.2, "the 1 h alert fires: {status:?}");
        assert_eq!(board.borrow().len(), 1);
        let metrics = crate::encode(&registry);
        assert!(metrics.contains("slo_error_budget_remaining{slo=\"api-availability\"}"), "{metrics}");

        let firing: Vec<_> = store
            .alerts()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.rule == SLO_BURN_RATE && a.state.phase == AlertPhase::Firing)
            .collect();
        assert_eq!(firing.len(), 1, "{firing:?}");
        assert_eq!(firing[0].labels["window"], "1h");
        let events = store.alert_events(&firing[0].fingerprint, 10).await.unwrap();
        assert!(events[0].reason.as_deref().unwrap().contains("burn rate"), "{events:?}");

        // a restart over the same store continues the alert: nothing new
        clock.advance(Duration::from_secs(60));
        let (again, _) = SloEvaluator::new(
            store.clone(),
            clock.clone(),
            vec![spec()],
            SloMetrics::default(),
        );
        let mut trackers = again.start().await.unwrap();
        again.step(&mut trackers).await.unwrap();
        let events = store.alert_events(&firing[0].fingerprint, 10).await.unwrap();
        assert_eq!(events.len(), 1, "fired once: {events:?}");
    }
}
