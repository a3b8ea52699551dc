//! Reload without restart, end to end: the config file is rewritten and
//! `POST /-/reload` (the path `SIGHUP` shares) applies it — a monitor
//! added starts, one changed keeps its state, one removed stops and is
//! gone from the API — and an invalid config is answered 400 with every
//! error at its position while the running monitors go on untouched.

use serde_json::{Value, json};
use watchkeeper_testkit::{DemoConfig, Mode, poll_until, spawn_demo_on_loopback};

use crate::support::{DEADLINE, STORAGE, TestApp, monitor_id, open_store, spawn_app};

fn monitor(id: &str, name: &str, url: &str) -> String {
    format!(
        r#"
[[monitor]]
id = "{id}"
name = "{name}"
interval = "1s"
timeout = "900ms"
http = {{ url = "{url}" }}
"#
    )
}

/// The ids `/api/v1/monitors` lists, in order.
async fn listed(app: &TestApp) -> Vec<String> {
    let (status, body) = app.get_json("/api/v1/monitors").await;
    assert_eq!(status, 200, "{body}");
    body["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|monitor| monitor["id"].as_str().unwrap().to_owned())
        .collect()
}

fn rewrite(app: &TestApp, toml: &str) {
    std::fs::write(app.config_path(), toml).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_adds_changes_and_removes_monitors_and_keeps_their_state() {
    let up = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let down = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    down.set_mode(Mode::Fail);
    let url = up.url("/health");
    let failing = down.url("/health");
    let app = spawn_app(&format!(
        "{STORAGE}{}{}",
        monitor("kept", "Kept", &url),
        monitor("gone", "Gone", &url)
    ))
    .await;
    let kept_before = app.wait_for_state("kept", "up").await;
    app.wait_for_state("gone", "up").await;

    // `kept` renamed (a change), `gone` removed, `new` added; the new
    // config's order is the API's.
    rewrite(
        &app,
        &format!(
            "{STORAGE}{}{}",
            monitor("new", "New", &failing),
            monitor("kept", "Kept, renamed", &url)
        ),
    );
    let (status, body) = app.post_json("/-/reload").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "status": "applied",
            "added": ["new"],
            "removed": ["gone"],
            "changed": ["kept"],
            "unchanged": 0,
            "restart_required": [],
        })
    );
    assert_eq!(listed(&app).await, vec!["new", "kept"]);
    let (status, _) = app.get_json("/api/v1/monitors/gone").await;
    assert_eq!(status, 404, "a removed monitor is gone from the API");

    // The changed monitor kept its state: up since the same moment, under
    // its new name.
    let kept = app.monitor("kept").await;
    assert_eq!(kept["name"], "Kept, renamed");
    assert_eq!(kept["state"], "up");
    assert_eq!(kept["since"], kept_before["since"], "{kept}");
    // The new one runs.
    app.wait_for_state("new", "down").await;

    // Reloading the same file again changes nothing.
    let (status, body) = app.post_json("/-/reload").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unchanged"], 2, "{body}");
    assert_eq!(body["added"], json!([]), "{body}");

    let config = app.stop().await;
    // Every state change was stored, the removed monitor's included, and
    // the kept one's only once.
    let store = open_store(&config).await;
    let changes = |id: &'static str| {
        let store = store.clone();
        async move {
            store
                .state_changes(&monitor_id(id), 10)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(changes("kept").await, 1);
    assert_eq!(changes("gone").await, 1);
    assert_eq!(changes("new").await, 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_is_rejected_with_its_errors_and_the_running_one_kept() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let url = demo.url("/health");
    let app = spawn_app(&format!("{STORAGE}{}", monitor("api", "API", &url))).await;
    app.wait_for_state("api", "up").await;

    // Two mistakes: both are reported, each with its position.
    rewrite(
        &app,
        &format!(
            r#"{STORAGE}
[[monitor]]
id = "api"
interval = "soon"
http = {{ url = "{url}" }}

[[monitor]]
id = "nightly"
schedule = "0 3 * *"
http = {{ url = "{url}" }}
"#
        ),
    );
    let (status, body) = app.post_json("/-/reload").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_config", "{body}");
    assert_eq!(
        body["error"]["message"],
        "the new configuration has 2 errors; the running one is unchanged"
    );
    let errors: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error.as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 2, "{body}");
    assert!(errors[0].contains("watchkeeper.toml:6:"), "{body}");
    assert!(
        errors[1].contains("watchkeeper.toml:11:") && errors[1].contains("`schedule`"),
        "{body}"
    );

    // The running config is untouched: the same monitor, still probed.
    assert_eq!(listed(&app).await, vec!["api"]);
    let before = app.monitor("api").await["last_result"]["started_at"].clone();
    poll_until(
        DEADLINE,
        "a new result after the rejected reload",
        || async {
            let last: Value = app.monitor("api").await["last_result"]["started_at"].clone();
            (last != before).then_some(())
        },
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_that_needs_a_restart_is_reported_not_ignored() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let url = demo.url("/health");
    let app = spawn_app(&format!("{STORAGE}{}", monitor("api", "API", &url))).await;
    rewrite(
        &app,
        &format!(
            "[server]\nlisten = \"127.0.0.1:1\"\n{STORAGE}{}",
            monitor("api", "API", &url)
        ),
    );
    let (status, body) = app.post_json("/-/reload").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["restart_required"],
        json!(["[server] listen"]),
        "{body}"
    );
    assert_eq!(body["unchanged"], 1, "{body}");
    // Still serving where it started.
    assert_eq!(listed(&app).await, vec!["api"]);
    app.stop().await;
}
