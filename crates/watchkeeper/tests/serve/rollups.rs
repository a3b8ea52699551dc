//! Per-minute rollups of what `serve` stored agree with the raw results they
//! summarise: the same count, failures and degraded results in every minute.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::Health;
use watchkeeper_domain::rollup::minute_of;
use watchkeeper_testkit::{DemoConfig, Mode, spawn_demo_on_loopback};

use watchkeeper_testkit::on_both_engines;

use crate::support::{monitor_id, open_store, spawn_app, storage};

#[derive(Debug, Default, PartialEq)]
struct MinuteCounts {
    count: u32,
    failures: u32,
    degraded: u32,
    latency_min: Option<Duration>,
    latency_max: Option<Duration>,
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn rollups_count_what_the_raw_results_say(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&format!(
            r#"
    {storage}
    [[monitor]]
    id = "demo"
    interval = "1s"
    timeout = "900ms"
    http = {{ url = "{}" }}
    expect = ['status == 200']
    degraded_if = ['json.status == "degraded"']
    "#,
            demo.url("/health")
        ))
        .await;

        // Every health at least once, each reached by changing the demo's mode.
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        app.wait_for_state("demo", "down").await;
        demo.set_mode(Mode::Degraded);
        app.wait_for_state("demo", "degraded").await;
        demo.set_mode(Mode::Ok);
        app.wait_for_state("demo", "up").await;
        let config = app.stop().await;

        let store = open_store(&config).await;
        let id = monitor_id("demo");
        let results = store
            .results_between(&id, Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap();
        assert!(results.len() >= 4, "only {} results", results.len());

        // Past the end of the last minute with results: every minute is whole.
        let until = results.last().unwrap().started_at + SignedDuration::from_mins(2);
        // Each call rolls at most 60 minutes; this run spans one or two.
        let mut calls = 0;
        while store.roll_up(until).await.unwrap() > 0 {
            calls += 1;
            assert!(calls < 5, "roll_up kept finding minutes to roll");
        }
        assert!(calls >= 1, "nothing was rolled up");

        let mut expected: BTreeMap<Timestamp, MinuteCounts> = BTreeMap::new();
        for result in &results {
            let minute = expected.entry(minute_of(result.started_at)).or_default();
            minute.count += 1;
            minute.failures += u32::from(result.health == Health::Down);
            minute.degraded += u32::from(result.health == Health::Degraded);
            minute.latency_min = Some(
                minute
                    .latency_min
                    .map_or(result.latency, |m| m.min(result.latency)),
            );
            minute.latency_max = Some(
                minute
                    .latency_max
                    .map_or(result.latency, |m| m.max(result.latency)),
            );
        }
        let total_failures: u32 = expected.values().map(|m| m.failures).sum();
        let total_degraded: u32 = expected.values().map(|m| m.degraded).sum();
        assert!(total_failures > 0 && total_degraded > 0, "{expected:?}");

        let first = *expected.keys().next().unwrap();
        let rollups = store.rollups(&id, first, until).await.unwrap();
        let actual: BTreeMap<Timestamp, MinuteCounts> = rollups
            .iter()
            .map(|rollup| {
                (
                    rollup.minute,
                    MinuteCounts {
                        count: rollup.count,
                        failures: rollup.failures,
                        degraded: rollup.degraded,
                        latency_min: Some(rollup.latency_min),
                        latency_max: Some(rollup.latency_max),
                    },
                )
            })
            .collect();
        assert_eq!(actual, expected);
        store.close().await;
    }
}
