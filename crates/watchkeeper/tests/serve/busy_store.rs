//! A store that another process keeps busy: while another connection holds
//! the database's write lock (SQLite's, or on PostgreSQL the tables a batch
//! writes, locked against writers), every monitor is still probed on every
//! slot, the API's `last_result` stays current, nothing is written, and
//! every result is in the store once the lock is gone. On both engines.

use std::collections::HashMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use watchkeeper_domain::clock::Clock;
use watchkeeper_engine::SystemClock;
use watchkeeper_testkit::{
    DemoConfig, WriteLock, on_both_engines, poll_until, spawn_demo_on_loopback,
};

use crate::support::{DEADLINE, TestApp, metric_value, monitor_id, open_store, spawn_app, storage};

const MONITORS: [&str; 3] = ["alpha", "beta", "gamma"];

/// New results of every monitor to see while the lock is held: about as
/// many seconds (the monitors run every second).
const RESULTS_WHILE_LOCKED: usize = 4;

/// A monitor's newest result may be this old while the lock is held: one
/// interval, plus room for a slow machine.
const STALE_AFTER: SignedDuration = SignedDuration::from_millis(2_500);

fn started_at(result: &Value) -> Option<Timestamp> {
    result["started_at"].as_str()?.parse().ok()
}

async fn results_written(app: &TestApp) -> f64 {
    metric_value(
        &app.get_text("/metrics").await,
        "watchkeeper_results_written_total",
    )
    .unwrap()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn probes_go_on_at_full_rate_while_another_process_holds_the_write_lock(engine) {
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let monitors: String = MONITORS
            .iter()
            .map(|id| {
                format!(
                    "[[monitor]]\nid = \"{id}\"\ninterval = \"1s\"\ntimeout = \"900ms\"\nhttp = {{ url = \"{}\" }}\n\n",
                    demo.url("/health")
                )
            })
            .collect();
        let storage = storage(engine).await;
        let app = spawn_app(&format!("{storage}\n{monitors}")).await;
        // The same wall clock as the app's, to tell how old a result is.
        let clock = SystemClock::new();

        poll_until(DEADLINE, "results written before the lock", || async {
            (results_written(&app).await >= MONITORS.len() as f64).then_some(())
        })
        .await;

        let lock = WriteLock::hold(&app.database()).await.unwrap();
        let written_before = results_written(&app).await;

        // While the lock is held, each monitor's newest result keeps arriving
        // about once a second.
        let seen: Mutex<HashMap<&str, Vec<Timestamp>>> = Mutex::default();
        poll_until(
            DEADLINE,
            "new results of every monitor while the store is locked",
            || async {
                let mut newest = Vec::new();
                for id in MONITORS {
                    let detail = app.monitor(id).await;
                    let last = started_at(&detail["last_result"])
                        .unwrap_or_else(|| panic!("`{id}` has no last result: {detail}"));
                    let age = clock.now().duration_since(last);
                    assert!(
                        age <= STALE_AFTER,
                        "the last result of `{id}` is {age:#} old while the store is locked: {detail}"
                    );
                    newest.push((id, last));
                }
                let mut seen = seen.lock().unwrap();
                for (id, last) in newest {
                    let times = seen.entry(id).or_default();
                    if times.last() != Some(&last) {
                        times.push(last);
                    }
                }
                seen.values()
                    .all(|times| times.len() > RESULTS_WHILE_LOCKED)
                    .then_some(())
            },
        )
        .await;
        let seen = seen.into_inner().unwrap();
        // The store really was locked all along: nothing was written meanwhile.
        assert_eq!(results_written(&app).await, written_before);
        let metrics = app.get_text("/metrics").await;
        lock.release().await.unwrap();

        assert_eq!(
            metric_value(&metrics, "watchkeeper_probes_skipped_total"),
            Some(0.0),
            "{metrics}"
        );
        let config = app.stop().await;

        // Every slot, from the first to the last, has its result in the store.
        let store = open_store(&config).await;
        for id in MONITORS {
            let results = store
                .results_between(&monitor_id(id), Timestamp::MIN, Timestamp::MAX)
                .await
                .unwrap();
            assert!(
                results.len() > RESULTS_WHILE_LOCKED,
                "`{id}` has only {} results",
                results.len()
            );
            for pair in results.windows(2) {
                assert_eq!(
                    pair[1].due_at.duration_since(pair[0].due_at),
                    SignedDuration::from_secs(1),
                    "`{id}` missed a slot between {} and {}",
                    pair[0].due_at,
                    pair[1].due_at
                );
            }
            for time in &seen[id] {
                assert!(
                    results
                        .iter()
                        .any(|result| result.started_at.as_millisecond() == time.as_millisecond()),
                    "`{id}`'s result of {time}, seen while locked, is not in the store"
                );
            }
        }
        store.close().await;
    }
}
