//! The whole path to the reference receivers, through a real `serve`: a
//! webhook receiver that verifies every signature with the PyPI
//! `standardwebhooks` library, an aiosmtpd SMTP server, and a command that
//! writes what it is given. A failing target is announced once firing and
//! once resolved to each.

use std::time::Duration;

use watchkeeper_testkit::{
    DemoConfig, Mode, PySink, TempConfig, on_both_engines, spawn_demo_on_loopback,
};

use crate::support::{quick_retries, spawn_app_with, storage};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SINK_DEADLINE: Duration = Duration::from_secs(30);

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_failing_target_reaches_the_reference_webhook_receiver_an_smtp_server_and_a_command(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let mut webhook = PySink::webhook(&["--secret", SECRET]).await.unwrap();
        let mut smtp = PySink::smtp(&[]).await.unwrap();
        let out = tempfile::tempdir().unwrap();
        let events = out.path().join("events.jsonl");
        let toml = format!(
            r#"
{storage}
[alerting]
failure_threshold = 2
success_threshold = 2

[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}

[[route]]
notify = ["hook", "mail", "script"]
group_wait = "1s"
group_interval = "1s"

[[notifier]]
id = "hook"
webhook = {{ url = "{hook}", secret = "{SECRET}" }}

[[notifier]]
id = "mail"
email = {{ smtp = "smtp://127.0.0.1:{smtp_port}", tls = "none", from = "Watchkeeper <wk@example.com>", to = ["oncall@example.com"] }}

[[notifier]]
id = "script"
command = {{ argv = ["/bin/sh", "-c", "cat >> \"$0\"; echo >> \"$0\"", "{events}"] }}
"#,
            target = demo.url("/health"),
            hook = webhook.url("/hook"),
            smtp_port = smtp.addr().port(),
            events = events.display(),
        );
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(watchkeeper_engine::SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let firing = webhook.wait_for(1, SINK_DEADLINE).await;
        assert_eq!(firing[0]["verified"], true, "the reference library verifies it: {firing:?}");
        assert_eq!(firing[0]["body"]["type"], "alert.firing");
        let mail = smtp.wait_for(1, SINK_DEADLINE).await;
        assert_eq!(mail[0]["rcpt_tos"], serde_json::json!(["oncall@example.com"]));
        assert!(mail[0]["subject"].as_str().unwrap().starts_with("[FIRING:1]"), "{mail:?}");
        assert!(mail[0]["text"].as_str().unwrap().contains("MonitorDown"), "{mail:?}");

        demo.set_mode(Mode::Ok);
        let both = webhook.wait_for(2, SINK_DEADLINE).await;
        assert_eq!(both[1]["verified"], true);
        assert_eq!(both[1]["body"]["type"], "alert.resolved");
        let mails = smtp.wait_for(2, SINK_DEADLINE).await;
        assert!(mails[1]["subject"].as_str().unwrap().starts_with("[RESOLVED"), "{mails:?}");
        let lines = watchkeeper_testkit::poll_until(SINK_DEADLINE, "two events written by the command", || async {
            let text = std::fs::read_to_string(&events).unwrap_or_default();
            let lines: Vec<serde_json::Value> = text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| serde_json::from_str(line).unwrap())
                .collect();
            (lines.len() >= 2).then_some(lines)
        })
        .await;
        assert_eq!(lines[0]["type"], "alert.firing");
        assert_eq!(lines[1]["type"], "alert.resolved");
        app.stop().await;
        assert_eq!(webhook.received().len(), 2, "nothing more after the resolution");
    }
}
