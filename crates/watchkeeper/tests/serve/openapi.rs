//! The OpenAPI contract, on both engines: `/api/openapi.json` is served to
//! anyone, and schemathesis (PyPI; `scripts/test` installs it) drives
//! every operation it documents against a running Watchkeeper with an
//! admin token, with live data (a firing alert, an incident, a schedule),
//! and fails on any 5xx, an answer that does not match its schema, an
//! undocumented status code, content type or header.
//!
//! The run is bounded: a fixed seed (so a failure reproduces; set
//! `WATCHKEEPER_SCHEMATHESIS_SEED` to explore others), at most
//! [`EXAMPLES`] cases per operation and phase, one worker, and
//! [`RUN_DEADLINE`] overall.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use watchkeeper_testkit::{DemoConfig, Mode, on_both_engines, poll_until, spawn_demo_on_loopback};

use crate::support::{DEADLINE, spawn_app, storage};

/// Cases per operation and phase.
const EXAMPLES: &str = "25";
const SEED: &str = "20261202";
const RUN_DEADLINE: Duration = Duration::from_secs(300);
/// What schemathesis checks: the issue's "any 5xx, schema mismatch or
/// crash", and that every status, content type and header is documented.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance";

fn config(storage: &str, target: &str) -> String {
    format!(
        r#"
{storage}
[server]
requests_per_second = 0

[alerting]
failure_threshold = 1

[incidents]
open_from = "P2"

[[incident_template]]
id = "payment-delay"
status = "identified"
body = "We've identified an issue affecting payment confirmations."

[[component]]
id = "payments"
name = "Payments"

[[monitor]]
id = "payments-api"
name = "Payment API"
component = "payments"
severity = "P1"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 200']

[[person]]
id = "alice"
name = "Alice"
email = "alice@example.com"

[[schedule]]
id = "primary"
every = "1w"
handoff = "Mon 09:00"
members = ["alice"]
"#
    )
}

async fn schemathesis_available() -> bool {
    tokio::process::Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success())
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn schemathesis_finds_no_answer_that_breaks_the_openapi_document(engine) {
        assert!(
            schemathesis_available().await,
            "schemathesis is missing: ./scripts/test installs it (pip install schemathesis)"
        );
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&config(&storage, &demo.url("/health"))).await;
        app.wait_for_state("payments-api", "up").await;

        // The document is public and is OpenAPI 3.1.
        let anonymous = watchkeeper_testkit::loopback_client_builder().build().unwrap();
        let document: Value = anonymous
            .get(format!("{}/api/openapi.json", app.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["openapi"], "3.1.0");
        assert!(document["paths"]["/api/v1/incidents/{incident}/updates"]["post"].is_object());

        // Live data: a firing alert (and the incident it opens).
        demo.set_mode(Mode::Fail);
        let fingerprint = poll_until(DEADLINE, "the alert to fire", || async {
            let (_, alerts) = app.get_json("/api/v1/alerts").await;
            alerts["alerts"]
                .as_array()?
                .iter()
                .find(|alert| alert["state"] == "firing")
                .and_then(|alert| alert["fingerprint"].as_str().map(str::to_owned))
        })
        .await;
        poll_until(DEADLINE, "the alert to open an incident", || async {
            let (_, page) = app.get_json("/api/v1/incidents?status=open").await;
            (!page["incidents"].as_array()?.is_empty()).then_some(())
        })
        .await;

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("schemathesis.toml"),
            format!(
                "[parameters]\n\
                 schedule = \"primary\"\n\
                 file = \"primary.ics\"\n\
                 fingerprint = \"{fingerprint}\"\n\
                 id = \"payments-api\"\n\
                 incident = \"1\"\n"
            ),
        )
        .unwrap();
        let seed = std::env::var("WATCHKEEPER_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());
        let run = tokio::process::Command::new("schemathesis")
            .current_dir(dir.path())
            .args(["--no-color", "run", &format!("{}/api/openapi.json", app.base)])
            .args(["--header", &format!("Authorization: Bearer {}", app.admin_token)])
            .args(["--checks", CHECKS])
            .args(["--max-examples", EXAMPLES, "--seed", &seed, "--workers", "1"])
            .args(["--request-timeout", "10"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(RUN_DEADLINE, run)
            .await
            .expect("schemathesis ran past its deadline")
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "schemathesis failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        // It tested every documented operation.
        let operations = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| item.as_object().unwrap().len())
            .sum::<usize>();
        assert!(
            stdout.contains(&format!("Tested: {operations}")),
            "not every operation was tested ({operations} documented):\n{stdout}"
        );
        // The run left the server healthy.
        let (status, health) = app.get_json("/health").await;
        assert!(status.is_success(), "{health}");
        app.stop().await;
    }
}
