//! What `serve` logs: with `--log-format json`, one JSON object per line on
//! stderr; and one line per change of health, however long the new health
//! lasts.

use nix::sys::signal::Signal;
use serde_json::Value;
use watchkeeper_testkit::{DemoConfig, Mode, TempConfig, poll_until, spawn_demo_on_loopback};

use crate::cli::demo_monitor;
use crate::process::{ServeProcess, Stopped};
use crate::support::DEADLINE;

/// The newest results of a monitor's detail that all have `health`.
fn newest_in_a_row(detail: &Value, health: &str) -> usize {
    detail["recent_results"].as_array().map_or(0, |results| {
        results
            .iter()
            .take_while(|result| result["health"] == health)
            .count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_each_change_of_health_once() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let config = TempConfig::new(&demo_monitor(&demo.url("/health"))).unwrap();
    let serve = ServeProcess::start(config.path(), &["--log-format", "json"]).await;
    serve.wait_for_state("demo", "up").await;

    // Down, and still down four results later: one change, however many
    // failing results.
    demo.set_mode(Mode::Fail);
    serve.wait_for_state("demo", "down").await;
    poll_until(DEADLINE, "four down results in a row", || async {
        let detail = serve.get_json("/api/v1/monitors/demo").await?;
        (newest_in_a_row(&detail, "down") >= 4).then_some(())
    })
    .await;
    demo.set_mode(Mode::Ok);
    serve.wait_for_state("demo", "up").await;

    let Stopped { status, stderr } = serve.stop_with(Signal::SIGTERM).await;
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");

    let events: Vec<Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line:?}"))
        })
        .collect();
    assert!(events.len() >= 5, "stderr:\n{stderr}");
    for event in &events {
        assert!(event.is_object(), "not an object: {event}");
        for field in ["timestamp", "level", "message"] {
            assert!(event.get(field).is_some(), "no `{field}` in {event}");
        }
    }
    let changes: Vec<(&str, &str, &str)> = events
        .iter()
        .filter(|event| event["monitor"] == "demo")
        .filter_map(|event| {
            let message = event["message"].as_str()?;
            message.starts_with("monitor is ").then(|| {
                (
                    message,
                    event["from"].as_str().unwrap_or("?"),
                    event["to"].as_str().unwrap_or("?"),
                )
            })
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("monitor is up", "unknown", "up"),
            ("monitor is down", "up", "down"),
            ("monitor is up", "down", "up"),
        ],
        "stderr:\n{stderr}"
    );
    let down = events
        .iter()
        .find(|event| event["message"] == "monitor is down")
        .unwrap();
    assert_eq!(down["level"], "WARN");
    assert_eq!(down["reason"], "status == 200 failed: status was 500");
}
