//! Incidents end to end, on both engines: a failing monitor's P1 alert
//! opens an incident on its component with the automatic investigating
//! update; `watchkeeper incident update` renders the seeds'
//! payment-delay template, shows it and posts it; acknowledging the alert
//! acknowledges the incident; recovery resolves it with the resolved
//! update; `incident postmortem --out` writes the Markdown measured from
//! the store. A person's incident with a promise not kept gets a reminder.

use serde_json::{Value, json};
use watchkeeper_testkit::{DemoConfig, Mode, on_both_engines, poll_until, spawn_demo_on_loopback};

use crate::process::watchkeeper;
use crate::support::{DEADLINE, TestApp, spawn_app, storage};

fn config(storage: &str, target: &str) -> String {
    format!(
        r#"
{storage}
[alerting]
failure_threshold = 1
success_threshold = 1

[incidents]
open_from = "P2"

[[incident_template]]
id = "payment-delay"
status = "identified"
body = "We've identified an issue affecting payment confirmations.{{% if message %}} {{{{ message }}}}{{% endif %}}"

[[component]]
id = "payments"
name = "Payments"

[[monitor]]
id = "demo"
name = "Payment API"
component = "payments"
severity = "P1"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 200']
"#
    )
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get_json(path).await;
    assert!(status.is_success(), "GET {path}: {status} {body}");
    body
}

/// Runs the CLI against the app with its admin token: (exit code, stdout, stderr).
async fn cli(app: &TestApp, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--server", app.base.as_str()]);
    let output = watchkeeper(app.config_path(), &all)
        .env("WATCHKEEPER_TOKEN", &app.admin_token)
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap().to_owned())
        .collect()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_firing_alert_opens_an_incident_that_people_update_and_recovery_resolves(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&config(&storage, &demo.url("/health"))).await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);

        let open = poll_until(DEADLINE, "the P1 alert opens an incident", || async {
            let page = get(&app, "/api/v1/incidents?status=open").await;
            let incidents = page["incidents"].as_array().unwrap().clone();
            (!incidents.is_empty()).then(|| incidents[0].clone())
        })
        .await;
        assert_eq!(open["title"], "Payments: Payment API is down");
        assert_eq!(open["severity"], "P1");
        assert_eq!(open["status"], "investigating");
        assert_eq!(open["opened_by"], "alert");
        assert_eq!(
            open["components"],
            json!([{"id": "payments", "name": "Payments", "impact": "partial_outage"}])
        );
        let id = open["id"].to_string();
        let detail = get(&app, &format!("/api/v1/incidents/{id}")).await;
        assert_eq!(kinds(&detail)[..3], ["opened", "alert_fired", "update"]);
        let first = &detail["timeline"][2];
        assert_eq!(first["status"], "investigating");
        assert!(
            first["body"].as_str().unwrap().contains("affecting Payments"),
            "{first}"
        );

        // The person's update, as the seeds post it.
        let (code, stdout, stderr) = cli(
            &app,
            &[
                "incident", "update", &id, "--template", "payment-delay",
                "--message", "Confirmations are delayed by up to 10 minutes.",
                "--next-update", "30m",
            ],
        )
        .await;
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(
            stdout.starts_with(
                "[Identified] Payments: Payment API is down\n\n\
                 We've identified an issue affecting payment confirmations. \
                 Confirmations are delayed by up to 10 minutes.\n\nPosted: "
            ),
            "{stdout}"
        );
        assert!(stdout.contains(" UTC\nNext update: 30 minutes\n"), "{stdout}");
        assert!(stdout.contains(&format!("posted to incident #{id} (now identified)")), "{stdout}");
        // A preview posts nothing.
        let (code, stdout, _) =
            cli(&app, &["incident", "update", &id, "--status", "monitoring", "--preview"]).await;
        assert_eq!(code, Some(0));
        assert!(stdout.contains("preview only"), "{stdout}");
        let updated = get(&app, &format!("/api/v1/incidents/{id}")).await;
        assert_eq!(updated["status"], "identified");
        assert!(updated["next_update_at"].is_string());

        // Acknowledging the alert acknowledges its incident.
        let fingerprint = updated["alerts"][0]["fingerprint"].as_str().unwrap().to_owned();
        let acked = app
            .client
            .post(format!("{}/api/v1/alerts/{fingerprint}/ack", app.base))
            .json(&json!({"comment": "on it"}))
            .send()
            .await
            .unwrap();
        assert!(acked.status().is_success());
        let acknowledged = get(&app, &format!("/api/v1/incidents/{id}")).await;
        assert!(acknowledged["acknowledged_at"].is_string(), "{acknowledged}");

        // Recovery resolves it, with the resolved update.
        demo.set_mode(Mode::Ok);
        let resolved = poll_until(DEADLINE, "the incident resolves with its alert", || async {
            let detail = get(&app, &format!("/api/v1/incidents/{id}")).await;
            (detail["status"] == "resolved").then_some(detail)
        })
        .await;
        assert!(resolved["resolved_at"].is_string());
        assert!(resolved["next_update_at"].is_null());
        let kinds = kinds(&resolved);
        for kind in ["acknowledged", "alert_resolved"] {
            assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
        }
        let last = resolved["timeline"].as_array().unwrap().iter().rev()
            .find(|item| item["kind"] == "update").unwrap().clone();
        assert_eq!(last["status"], "resolved");

        // The postmortem, measured from the store.
        let out = app.config_path().with_file_name("postmortem.md");
        let out_arg = out.to_str().unwrap().to_owned();
        let (code, _, stderr) =
            cli(&app, &["incident", "postmortem", &id, "--out", &out_arg]).await;
        assert_eq!(code, Some(0), "{stderr}");
        let markdown = std::fs::read_to_string(&out).unwrap();
        assert!(markdown.contains("Payments: Payment API is down"), "{markdown}");
        assert!(markdown.contains("Payment API"), "{markdown}");
        assert!(markdown.contains("We've identified an issue affecting payment confirmations."), "{markdown}");
        assert!(markdown.contains("UTC"), "{markdown}");
        let stats = get(&app, "/api/v1/incidents/stats").await;
        assert_eq!(stats["severities"]["P1"]["resolved"], 1, "{stats}");
        assert!(stats["severities"]["P1"]["mttr_seconds"].as_f64().unwrap() > 0.0);
        let (code, listed, _) = cli(&app, &["incident", "list"]).await;
        assert_eq!(code, Some(0));
        assert!(listed.contains("resolved"), "{listed}");
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_person_opens_an_incident_and_a_promise_not_kept_is_a_reminder(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&config(&storage, &demo.url("/health"))).await;
        let (code, stdout, stderr) = cli(
            &app,
            &[
                "incident", "open", "--title", "Payment Processing Delays",
                "--severity", "P1", "--component", "payments=partial_outage",
                "--next-update", "2s",
            ],
        )
        .await;
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert!(stdout.starts_with("[Investigating] Payment Processing Delays\n"), "{stdout}");
        assert!(stdout.contains("Next update: 2 seconds"), "{stdout}");
        let page = get(&app, "/api/v1/incidents").await;
        let incident = &page["incidents"][0];
        assert_eq!(incident["opened_by"], "person");
        let id = incident["id"].to_string();
        let reminded = poll_until(DEADLINE, "an overdue promise is a reminder", || async {
            let detail = get(&app, &format!("/api/v1/incidents/{id}")).await;
            detail["timeline"].as_array().unwrap().iter()
                .find(|item| item["kind"] == "reminder").cloned()
        })
        .await;
        assert!(reminded["body"].as_str().unwrap().contains("is overdue"), "{reminded}");
        // Mistakes name their field.
        let refused = app
            .client
            .post(format!("{}/api/v1/incidents/{id}/updates", app.base))
            .json(&json!({"status": "postmortem"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        let body: Value = refused.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("`status`"), "{body}");
        let (code, _, stderr) = cli(&app, &["incident", "show", "999"]).await;
        assert_ne!(code, Some(0));
        assert!(stderr.contains("no incident with id `999`"), "{stderr}");
        app.stop().await;
    }
}
