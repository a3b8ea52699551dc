//! Quieting end to end: a silence made over the API, a maintenance window
//! in config and a dependency each keep an alert from being sent while it
//! is recorded and listed with the reason; expiring the silence sends it.

use serde_json::{Value, json};
use watchkeeper_engine::SystemClock;
use watchkeeper_testkit::{
    DemoConfig, Mode, TempConfig, on_both_engines, poll_until, spawn_demo_on_loopback,
};

use crate::sink::WebhookSink;
use crate::support::{DEADLINE, TestApp, quick_retries, spawn_app_with, storage};

fn config(storage: &str, parent: &str, child: &str, other: &str, sink: &str) -> String {
    format!(
        r#"
{storage}
[alerting]
failure_threshold = 1
success_threshold = 1

[[monitor]]
id = "gateway"
interval = "1s"
timeout = "900ms"
http = {{ url = "{parent}" }}

[[monitor]]
id = "checkout"
interval = "1s"
timeout = "900ms"
http = {{ url = "{child}" }}
depends_on = ["gateway"]

[[monitor]]
id = "db"
interval = "1s"
timeout = "900ms"
http = {{ url = "{other}" }}

[[monitor]]
id = "search"
interval = "1s"
timeout = "900ms"
http = {{ url = "{other}" }}

[[maintenance]]
id = "db-upgrade"
title = "Database upgrade"
monitors = ["db"]
start = "2020-01-01T00:00:00Z"
end = "2099-01-01T00:00:00Z"

[[route]]
notify = ["hook"]
group_by = ["monitor"]
group_wait = "1s"
group_interval = "1s"

[[notifier]]
id = "hook"
webhook = {{ url = "{sink}" }}
"#
    )
}

async fn firing(app: &TestApp) -> Vec<Value> {
    let (_, body) = app.get_json("/api/v1/alerts").await;
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .cloned()
        .collect()
}

fn monitor_of(alert: &Value) -> &str {
    alert["labels"]["monitor"].as_str().unwrap()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn silences_maintenance_and_dependencies_stop_sending_not_recording(engine) {
        let storage = storage(engine).await;
        let parent = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let child = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let other = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        let toml = config(
            &storage,
            &parent.url("/health"),
            &child.url("/health"),
            &other.url("/health"),
            &sink.url,
        );
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(SystemClock::new()),
            quick_retries(),
        )
        .await;
        for id in ["gateway", "checkout", "db", "search"] {
            app.wait_for_state(id, "up").await;
        }
        // silence search before it fails
        let response = app
            .client
            .post(format!("{}/api/v1/silences", app.base))
            .json(&json!({
                "matchers": ["monitor=search"],
                "duration": "1h",
                "comment": "reindexing",
                "created_by": "alice",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let silence: Value = response.json().await.unwrap();
        let silence_id = silence["id"].as_str().unwrap().to_owned();
        assert_eq!(silence["state"], "active");
        assert_eq!(silence["matchers"], json!(["monitor=\"search\""]));

        parent.set_mode(Mode::Fail);
        child.set_mode(Mode::Fail);
        other.set_mode(Mode::Fail);
        let alerts = poll_until(DEADLINE, "four alerts firing, three of them quiet", || async {
            let alerts = firing(&app).await;
            let quiet = alerts.iter().filter(|a| a.get("quiet").is_some()).count();
            (alerts.len() == 4 && quiet == 3).then_some(alerts)
        })
        .await;
        let quiet_of = |id: &str| {
            alerts
                .iter()
                .find(|a| monitor_of(a) == id)
                .and_then(|a| a["quiet"].as_str())
                .map(str::to_owned)
        };
        assert_eq!(quiet_of("gateway"), None);
        assert_eq!(
            quiet_of("checkout").as_deref(),
            Some("suppressed: gateway, which it depends on, is down")
        );
        assert_eq!(quiet_of("db").as_deref(), Some("in maintenance window db-upgrade"));
        assert_eq!(quiet_of("search"), Some(format!("silenced by {silence_id}")));
        // only the parent is sent
        let sent = sink.wait_for(1, "the parent's notification").await;
        assert_eq!(monitor_of(&sent[0].body["data"]["alerts"][0]), "gateway");

        // expiring the silence sends search at its group's next flush
        let response = app
            .client
            .delete(format!("{}/api/v1/silences/{silence_id}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let expired: Value = response.json().await.unwrap();
        assert_eq!(expired["state"], "expired");
        let sent = sink.wait_for(2, "search, once its silence expired").await;
        assert_eq!(monitor_of(&sent[1].body["data"]["alerts"][0]), "search");
        let (_, listed) = app.get_json("/api/v1/silences").await;
        assert_eq!(listed["silences"], json!([]), "an expired silence is not listed");
        let (_, all) = app.get_json("/api/v1/silences?all=true").await;
        assert_eq!(all["silences"][0]["id"], silence_id.as_str());
        // Both changes are in the audit log, newest first.
        let (_, audit) = app.get_json("/api/v1/audit").await;
        let actions: Vec<(&str, &str)> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| (entry["action"].as_str().unwrap(), entry["target"].as_str().unwrap()))
            .collect();
        assert_eq!(
            actions[..2],
            [("silence.expire", silence_id.as_str()), ("silence.create", silence_id.as_str())],
            "{audit}"
        );

        // checkout and db were never sent
        let received = sink.received();
        let monitors: Vec<&str> = received
            .iter()
            .map(|r| monitor_of(&r.body["data"]["alerts"][0]))
            .collect();
        assert!(!monitors.contains(&"checkout") && !monitors.contains(&"db"), "{monitors:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_bad_silence_is_a_400_naming_its_field() {
    let storage = storage(watchkeeper_testkit::Engine::Sqlite).await;
    let app = crate::support::spawn_app(&storage).await;
    let response = app
        .client
        .post(format!("{}/api/v1/silences", app.base))
        .json(&json!({"matchers": ["severity=~("], "duration": "1h", "comment": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("`matchers[0]`"),
        "{body}"
    );
    let response = app
        .client
        .delete(format!("{}/api/v1/silences/sil_nothing", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_commands_list_alerts_and_add_list_and_expire_silences() {
    let storage = storage(watchkeeper_testkit::Engine::Sqlite).await;
    let app = crate::support::spawn_app(&storage).await;
    let run_as = |token: Option<String>, args: Vec<String>| {
        let config = app.config_path().to_owned();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut command = crate::process::watchkeeper(&config, &args);
            command
                .env_remove("WATCHKEEPER_SERVER")
                .env_remove("WATCHKEEPER_TOKEN");
            if let Some(token) = token {
                command.env("WATCHKEEPER_TOKEN", token);
            }
            let output = command.output().await.unwrap();
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        }
    };
    let run = |args: Vec<String>| run_as(Some(app.admin_token.clone()), args);
    let server = |args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(["--server".to_owned(), app.base.clone()]);
        all
    };
    // without a token the server says why
    let (code, _, stderr) = run_as(None, server(&["alert", "list"])).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("401"), "{stderr}");
    let (code, stdout, stderr) = run(server(&["alert", "list"])).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "no alerts\n");

    let (code, stdout, stderr) = run(server(&[
        "silence",
        "add",
        "--match",
        "severity=P2",
        "--match",
        "team=~pay.*",
        "--for",
        "2h",
        "--comment",
        "deploying payments",
    ]))
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("ID "), "{stdout}");
    let id = stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("sil_"), "{stdout}");
    assert!(stdout.contains("active"), "{stdout}");
    // the token names the silence's author
    assert!(stdout.contains("test-admin"), "{stdout}");

    let (code, stdout, _) = run(server(&["silence", "list"])).await;
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(&id) && stdout.contains("deploying payments"),
        "{stdout}"
    );

    let (code, stdout, _) = run(server(&["silence", "expire", &id])).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("expired"), "{stdout}");
    let (_, stdout, _) = run(server(&["silence", "list"])).await;
    assert_eq!(stdout, "no silences\n");
    let (_, stdout, _) = run(server(&["silence", "list", "--all", "--json"])).await;
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["silences"][0]["state"], "expired");

    // the server's refusal, in its words
    let (code, _, stderr) = run(server(&[
        "silence",
        "add",
        "--match",
        "severity=~.*",
        "--for",
        "1h",
        "--comment",
        "x",
    ]))
    .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("400") && stderr.contains("`matchers`"),
        "{stderr}"
    );
    // a server that is not there
    let (code, _, stderr) = run(vec![
        "alert".to_owned(),
        "list".to_owned(),
        "--server".to_owned(),
        "http://127.0.0.1:9".to_owned(),
    ])
    .await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot reach http://127.0.0.1:9"),
        "{stderr}"
    );
    app.stop().await;
}
