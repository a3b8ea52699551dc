//! Supervision and an honest `/health`: a task that dies is logged and
//! shown; maintenance comes back after its backoff, while the recorder's
//! death ends `App::run` with `TaskDied` (the binary exits 3) instead of a
//! process that probes and throws the results away. Writes failing for
//! longer than 30 s make `/health` a 503 with the sentence that says so
//! (time moved by a clock the test steps, not waited for).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};
use watchkeeper::AppError;
use watchkeeper_domain::clock::Clock;
use watchkeeper_engine::SystemClock;
use watchkeeper_testkit::{
    DemoConfig, SmallFilesystem, TempConfig, poll_until, spawn_demo_on_loopback,
};

use crate::support::{DEADLINE, STORAGE, TestApp, spawn_app, spawn_app_with_clock};

fn one_demo_monitor(url: &str) -> String {
    format!(
        r#"{STORAGE}
[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{url}" }}
"#
    )
}

/// Polls `/health` until `check` accepts it; returns the status and body.
async fn wait_for_health(
    app: &TestApp,
    what: &str,
    check: impl Fn(reqwest::StatusCode, &serde_json::Value) -> bool,
) -> (reqwest::StatusCode, serde_json::Value) {
    poll_until(DEADLINE, what, || async {
        let (status, health) = app.get_json("/health").await;
        check(status, &health).then_some((status, health))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_maintenance_task_is_shown_and_restarted() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let app = spawn_app(&one_demo_monitor(&demo.url("/health"))).await;
    app.wait_for_state("demo", "up").await;
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["problems"], serde_json::json!([]), "{health}");

    assert!(
        app.supervisor.kill("maintenance"),
        "no running maintenance task"
    );
    let (status, health) =
        wait_for_health(&app, "the death to show", |status, _| status == 503).await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        health["problems"],
        serde_json::json!([
            "The maintenance task died (killed by a test hook) and is being restarted."
        ]),
        "{health}"
    );
    let task = health["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["name"] == "maintenance")
        .unwrap()
        .clone();
    assert_eq!(task["state"], "restarting", "{health}");

    // Back after the first backoff (1 s), counted.
    let (_, health) = wait_for_health(&app, "maintenance to be restarted", |status, health| {
        status == 200 && health["status"] == "ok"
    })
    .await;
    let task = health["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|task| task["name"] == "maintenance")
        .unwrap()
        .clone();
    assert_eq!(
        (task["state"].clone(), task["restarts"].clone()),
        ("running".into(), 1.into())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_recorder_ends_the_run_with_an_error() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let app = spawn_app(&one_demo_monitor(&demo.url("/health"))).await;
    app.wait_for_state("demo", "up").await;

    assert!(app.supervisor.kill("recorder"), "no running recorder task");
    let outcome = app.exit_by_itself().await;
    match outcome {
        Err(AppError::TaskDied { task, error }) => {
            assert_eq!(task, "recorder");
            assert_eq!(error, "killed by a test hook");
        }
        other => panic!("expected the recorder's death, got {other:?}"),
    }
}

/// The system clock, plus however far the test has moved it on.
struct MovableClock {
    system: SystemClock,
    ahead_ms: AtomicI64,
}

impl MovableClock {
    fn advance(&self, by: SignedDuration) {
        let millis = i64::try_from(by.as_millis()).unwrap();
        self.ahead_ms.fetch_add(millis, Ordering::SeqCst);
    }

    fn ahead(&self) -> SignedDuration {
        SignedDuration::from_millis(self.ahead_ms.load(Ordering::SeqCst))
    }
}

impl Clock for MovableClock {
    fn now(&self) -> Timestamp {
        self.system.now() + self.ahead()
    }

    fn wall(&self) -> Timestamp {
        self.system.wall() + self.ahead()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_failing_for_longer_than_thirty_seconds_make_health_a_503() {
    let disk = SmallFilesystem::mount(8 << 20).unwrap();
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let database = disk.path().join("watchkeeper.db");
    let config = TempConfig::new(&format!(
        r#"
[storage]
url = "sqlite://{}"

[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{}" }}
"#,
        database.display(),
        demo.url("/health")
    ))
    .unwrap();
    let clock = Arc::new(MovableClock {
        system: SystemClock::new(),
        ahead_ms: AtomicI64::new(0),
    });
    let app = spawn_app_with_clock(config, clock.clone()).await;
    app.wait_for_state("demo", "up").await;

    let filler = disk.fill().unwrap();
    let (status, health) = wait_for_health(&app, "writes to fail", |_, health| {
        health["store"]["writing"] == "failing"
    })
    .await;
    // Failing, but not for long: a problem, not yet a 503.
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let problem = health["problems"][0].as_str().unwrap().to_owned();
    assert!(
        problem.starts_with("Writes to the store have failed for "),
        "{health}"
    );

    // Half a minute later (by the clock; no one waits for it).
    clock.advance(SignedDuration::from_secs(31));
    let (status, health) = app.get_json("/health").await;
    assert_eq!(status, 503, "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
    let problems: Vec<&str> = health["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|problem| problem.as_str())
        .collect();
    assert!(
        problems.iter().any(
            |problem| problem.starts_with("Writes to the store have failed for 3")
                && problem.contains("database or disk is full")
        ),
        "{health}"
    );

    // Space returns: writing resumes and health with it.
    filler.release().unwrap();
    wait_for_health(&app, "health to recover", |status, health| {
        status == 200 && health["status"] == "ok"
    })
    .await;
    app.stop().await;
}
