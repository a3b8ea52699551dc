//! Alerts end to end: a demo target that fails fires its monitor's own
//! alert and an `[[alert]]` over its window, both shown by
//! `GET /api/v1/alerts` with their timelines, and both resolve when it
//! recovers; a restart over the same database fires nothing again.

use serde_json::Value;
use watchkeeper_testkit::{DemoConfig, Mode, on_both_engines, poll_until, spawn_demo_on_loopback};

use crate::support::{DEADLINE, TestApp, spawn_app, spawn_app_in, storage};

fn config(storage: &str, url: &str) -> String {
    format!(
        r#"
{storage}
[alerting]
failure_threshold = 2
success_threshold = 2

[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{url}" }}
expect = ['status == 200']
labels = {{ team = "payments" }}

[[alert]]
id = "demo-errors"
monitors = ["demo"]
window = "3s"
when = 'error_rate > 0.5 && samples >= 2'
severity = "P1"
"#
    )
}

/// The alerts listed, as (rule, state), in the API's order.
async fn alerts(app: &TestApp) -> Vec<(String, String)> {
    let (status, body) = app.get_json("/api/v1/alerts").await;
    assert_eq!(status, 200, "{body}");
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["rule"].as_str().unwrap().to_owned(),
                a["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn wait_for_alerts(app: &TestApp, what: &str, want: &[(&str, &str)]) -> Vec<Value> {
    poll_until(DEADLINE, what, || async {
        let now = alerts(app).await;
        let mut sorted = now.clone();
        sorted.sort();
        let mut wanted: Vec<(String, String)> = want
            .iter()
            .map(|(r, s)| ((*r).to_owned(), (*s).to_owned()))
            .collect();
        wanted.sort();
        (sorted == wanted).then_some(())
    })
    .await;
    app.get_json("/api/v1/alerts").await.1["alerts"]
        .as_array()
        .unwrap()
        .clone()
}

async fn transitions(app: &TestApp, fingerprint: &str) -> Vec<String> {
    let (status, body) = app.get_json(&format!("/api/v1/alerts/{fingerprint}")).await;
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["transition"].as_str().unwrap().to_owned())
        .collect()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_failing_target_fires_its_alerts_and_a_recovery_resolves_them_once(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&config(&storage, &demo.url("/health"))).await;
        app.wait_for_state("demo", "up").await;
        assert_eq!(alerts(&app).await, [], "nothing has left inactive yet");

        demo.set_mode(Mode::Fail);
        let firing = wait_for_alerts(
            &app,
            "both alerts firing",
            &[("demo-errors", "firing"), ("MonitorDown", "firing")],
        )
        .await;
        let own = firing.iter().find(|a| a["rule"] == "MonitorDown").unwrap();
        assert_eq!(own["labels"]["monitor"], "demo");
        assert_eq!(own["labels"]["team"], "payments", "the monitor's labels");
        assert_eq!(own["labels"]["severity"], "P2");
        let rule = firing.iter().find(|a| a["rule"] == "demo-errors").unwrap();
        assert_eq!(rule["labels"]["severity"], "P1");
        let own_fp = own["fingerprint"].as_str().unwrap().to_owned();
        let (_, detail) = app.get_json(&format!("/api/v1/alerts/{own_fp}")).await;
        assert_eq!(
            detail["events"][0]["reason"], "status == 200 failed: status was 500",
            "{detail}"
        );

        demo.set_mode(Mode::Ok);
        wait_for_alerts(
            &app,
            "both alerts resolved",
            &[("demo-errors", "resolved"), ("MonitorDown", "resolved")],
        )
        .await;
        assert_eq!(transitions(&app, &own_fp).await, ["fired", "resolved"]);
        let config = app.stop().await;

        // A restart over the same database: the alerts come back resolved,
        // and a healthy target changes nothing.
        let app = spawn_app_in(config).await;
        app.wait_for_state("demo", "up").await;
        let after = alerts(&app).await;
        assert_eq!(after.len(), 2, "{after:?}");
        assert!(after.iter().all(|(_, state)| state == "resolved"), "{after:?}");
        assert_eq!(transitions(&app, &own_fp).await, ["fired", "resolved"]);
        app.stop().await;
    }
}
