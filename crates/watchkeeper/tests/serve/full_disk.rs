//! A full disk under a running `serve`, on a real small filesystem (a tmpfs
//! mounted for the test): probing goes on and `/health` says the store is
//! failing; stopping while results still cannot be written is an error, not
//! a clean exit; and when space returns, writing resumes by itself.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use watchkeeper_domain::storage::StorageConfig;
use watchkeeper_store::Store;
use watchkeeper_testkit::{
    DemoConfig, SmallFilesystem, TempConfig, poll_until, spawn_demo_on_loopback,
};

use crate::support::{DEADLINE, TestApp, metric_value, monitor_id, spawn_app_in};

/// One monitor of the demo every second, its database on `disk`.
async fn app_on(disk: &SmallFilesystem, demo_url: &str) -> TestApp {
    let database = disk.path().join("watchkeeper.db");
    let config = TempConfig::new(&format!(
        r#"
[storage]
url = "sqlite://{}"

[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{demo_url}" }}
"#,
        database.display()
    ))
    .unwrap();
    spawn_app_in(config).await
}

async fn wait_for_results_written(app: &TestApp) {
    poll_until(DEADLINE, "results written", || async {
        let metrics = app.get_text("/metrics").await;
        (metric_value(&metrics, "watchkeeper_results_written_total")? > 0.0).then_some(())
    })
    .await;
}

/// Polls `/health` until its store says `writing`, and returns the status
/// code and body.
async fn wait_for_writing(app: &TestApp, writing: &str) -> (reqwest::StatusCode, Value) {
    poll_until(
        DEADLINE,
        &format!("/health to say the store is {writing}"),
        || async {
            let (status, health) = app.get_json("/health").await;
            (health["store"]["writing"] == writing).then_some((status, health))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_while_the_disk_is_still_full_is_an_error_and_health_said_so_before() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let app = app_on(&disk, &demo.url("/health")).await;
    wait_for_results_written(&app).await;
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["store"]["writing"], "ok", "{health}");

    let _filler = disk.fill().unwrap();
    let (status, health) = wait_for_writing(&app, "failing").await;
    // Nothing is lost yet (the buffer holds the results): degraded, not down.
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let store = &health["store"];
    assert!(store["failing_since"].is_string(), "{health}");
    assert!(store["buffered_results"].as_u64() > Some(0), "{health}");
    assert_eq!(store["dropped_results"], 0, "{health}");
    let error = store["last_error"].as_str().unwrap();
    assert!(error.contains("database or disk is full"), "{health}");

    // Probing goes on: the newest result is one taken while the disk is full.
    let before = app.monitor("demo").await["last_result"]["started_at"].clone();
    poll_until(DEADLINE, "a new result while the disk is full", || async {
        let last = app.monitor("demo").await["last_result"]["started_at"].clone();
        (last != before).then_some(())
    })
    .await;

    let (_config, outcome) = app.stop_with_outcome().await;
    let error = outcome.expect_err("stopping with unwritten results should fail");
    let message = error.to_string();
    assert!(
        message.contains("results") && message.contains("could not be written"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_resumes_by_itself_when_space_returns() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let app = app_on(&disk, &demo.url("/health")).await;
    wait_for_results_written(&app).await;

    let filler = disk.fill().unwrap();
    wait_for_writing(&app, "failing").await;
    // A result taken while the disk is full, to look for afterwards.
    poll_until(
        DEADLINE,
        "results buffered while the disk is full",
        || async {
            let (_, health) = app.get_json("/health").await;
            (health["store"]["buffered_results"].as_u64()? >= 2).then_some(())
        },
    )
    .await;
    let while_full = app.monitor("demo").await["last_result"]["started_at"]
        .as_str()
        .unwrap()
        .parse::<Timestamp>()
        .unwrap();

    filler.release().unwrap();
    let (status, health) = wait_for_writing(&app, "ok").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["store"]["failing_since"], Value::Null, "{health}");
    // The directory of the config; the database is on `disk`.
    let _config = app.stop().await;

    let store = Store::open(&StorageConfig::sqlite(disk.path().join("watchkeeper.db")))
        .await
        .unwrap();
    let results = store
        .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert!(
        results
            .iter()
            .any(|result| result.started_at.as_millisecond() == while_full.as_millisecond()),
        "the result of {while_full}, taken while the disk was full, is not in the store"
    );
    for pair in results.windows(2) {
        assert_eq!(
            pair[1].due_at.duration_since(pair[0].due_at),
            SignedDuration::from_secs(1),
            "a slot is missing between {} and {}",
            pair[0].due_at,
            pair[1].due_at
        );
    }
    store.close().await;
}
