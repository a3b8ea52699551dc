//! State changes end to end: a demo target walked through up, down, degraded
//! and up again is recorded as exactly one change per change of health, in
//! the API and in the store, and a restart does not record one again and
//! shows the recent results again — on both engines.

use std::collections::HashSet;

use jiff::Timestamp;
use serde_json::Value;
use watchkeeper_domain::Health;
use watchkeeper_testkit::{DemoConfig, Mode, poll_until, spawn_demo_on_loopback};

use watchkeeper_testkit::on_both_engines;

use crate::support::{
    DEADLINE, metric_value, monitor_id, open_store, spawn_app, spawn_app_in, storage,
};

fn demo_config(storage: &str, url: &str) -> String {
    format!(
        r#"
{storage}
[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{url}" }}
expect = ['status == 200']
degraded_if = ['json.status == "degraded"']
"#
    )
}

fn timestamp(value: &Value) -> Timestamp {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"));
    text.parse()
        .unwrap_or_else(|error| panic!("not RFC 3339 ({error}): {text}"))
}

fn health(value: &Value) -> Option<Health> {
    value.as_str().map(|s| Health::parse(s).unwrap())
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn every_change_of_health_is_recorded_exactly_once(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&demo_config(&storage, &demo.url("/health"))).await;

        app.wait_for_state("demo", "up").await;

        demo.set_mode(Mode::Fail);
        let down = app.wait_for_state("demo", "down").await;
        assert_eq!(down["reason"], "status == 200 failed: status was 500");

        // Degraded by what the target says, not by a latency threshold that
        // a loaded machine could cross on its own.
        demo.set_mode(Mode::Degraded);
        let degraded = app.wait_for_state("demo", "degraded").await;
        let reason = degraded["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(r#"json.status == "degraded" matched"#),
            "{reason}"
        );

        demo.set_mode(Mode::Ok);
        app.wait_for_state("demo", "up").await;

        // The detail reads the store, which the recorder writes about once a second.
        let detail = poll_until(DEADLINE, "four state changes in the API", || async {
            let detail = app.monitor("demo").await;
            (detail["state_changes"].as_array().unwrap().len() >= 4).then_some(detail)
        })
        .await;
        let config = app.stop().await;

        let store = open_store(&config).await;
        let mut changes = store.state_changes(&monitor_id("demo"), 100).await.unwrap();
        changes.reverse();
        let walk: Vec<_> = changes.iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(
            walk,
            [
                (None, Health::Up),
                (Some(Health::Up), Health::Down),
                (Some(Health::Down), Health::Degraded),
                (Some(Health::Degraded), Health::Up),
            ]
        );
        assert_eq!(
            changes[1].reason.as_deref(),
            Some("status == 200 failed: status was 500")
        );
        assert_eq!(changes[0].reason, None);

        // The API lists the same changes, newest first, each health written
        // as the contract's string (not however the domain spells it).
        let api_changes = detail["state_changes"].as_array().unwrap();
        let written: Vec<(Value, Value)> = api_changes
            .iter()
            .map(|change| (change["from"].clone(), change["to"].clone()))
            .collect();
        assert_eq!(
            written,
            [
                (Value::from("degraded"), Value::from("up")),
                (Value::from("down"), Value::from("degraded")),
                (Value::from("up"), Value::from("down")),
                (Value::Null, Value::from("up")),
            ],
            "{detail}"
        );
        assert_eq!(detail["state"], "up", "{detail}");
        assert_eq!(api_changes.len(), changes.len(), "{api_changes:?}");
        for (api, stored) in api_changes.iter().rev().zip(&changes) {
            assert_eq!(health(&api["from"]), stored.from, "{api}");
            assert_eq!(health(&api["to"]), Some(stored.to), "{api}");
            assert_eq!(api["reason"].as_str(), stored.reason.as_deref(), "{api}");
            assert_eq!(timestamp(&api["at"]), stored.at, "{api}");
        }

        let results = store
            .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap();
        let seen: HashSet<Health> = results.iter().map(|r| r.health).collect();
        assert_eq!(
            seen,
            HashSet::from([Health::Up, Health::Down, Health::Degraded]),
            "healths of {} stored results",
            results.len()
        );
        // Each change happened at the start of a stored result with that health.
        for change in &changes {
            assert!(
                results
                    .iter()
                    .any(|r| r.started_at == change.at && r.health == change.to),
                "no stored result for {change:?}"
            );
        }
        store.close().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_restart_does_not_repeat_a_state_change(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&demo_config(&storage, &demo.url("/health"))).await;
        let first = app.wait_for_state("demo", "up").await;
        let first_since = timestamp(&first["since"]);
        // Always three decimals: `2026-11-22T05:43:30.120Z`, never `.12Z`.
        let text = first["since"].as_str().unwrap();
        assert_eq!(text.len(), "2026-11-22T05:43:30.495Z".len(), "{text}");
        let config = app.stop().await;

        let store = open_store(&config).await;
        let stored_results = store
            .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap();
        let results_before = stored_results.len();
        let newest_before = stored_results.last().map(|result| result.started_at);
        let stored = store.state_changes(&monitor_id("demo"), 100).await.unwrap();
        store.close().await;
        assert!(results_before >= 1);
        assert_eq!(stored.len(), 1, "{stored:?}");
        let since = stored[0].at;
        // The API shows the in-memory time as the store keeps it, so it
        // reads the same after the restart.
        assert_eq!(first_since, since);

        let app = spawn_app_in(config).await;
        // Known from the store at once, with the time of the original change.
        let detail = app.monitor("demo").await;
        assert_eq!(detail["state"], "up");
        assert_eq!(timestamp(&detail["since"]), since);
        // And so are the recent results: the newest one stored before the
        // stop is on the board at once, before any new probe could refill it.
        let recent: Vec<Timestamp> = detail["recent_results"]
            .as_array()
            .unwrap_or_else(|| panic!("no recent results: {detail}"))
            .iter()
            .map(|result| timestamp(&result["started_at"]))
            .collect();
        assert!(
            newest_before.is_some_and(|newest| recent.contains(&newest)),
            "the newest result before the restart, {newest_before:?}, is not among {recent:?}"
        );
        poll_until(
            DEADLINE,
            "two results written after the restart",
            || async {
                let metrics = app.get_text("/metrics").await;
                let written = metric_value(&metrics, "watchkeeper_results_written_total")?;
                (written >= 2.0).then_some(())
            },
        )
        .await;
        let detail = app.monitor("demo").await;
        assert_eq!(detail["state"], "up");
        assert_eq!(timestamp(&detail["since"]), since);
        let config = app.stop().await;

        let store = open_store(&config).await;
        let changes = store.state_changes(&monitor_id("demo"), 100).await.unwrap();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!((changes[0].from, changes[0].to), (None, Health::Up));
        let results_after = store
            .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap()
            .len();
        assert!(
            results_after >= results_before + 2,
            "{results_before} results before the restart, {results_after} after"
        );
        store.close().await;
    }
}
