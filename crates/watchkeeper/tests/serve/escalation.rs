//! Escalation end to end, against a webhook receiver on loopback: nobody
//! acknowledges, so level 2 is paged after its delay and level 3 after its
//! own, each to whom it names (the person on call, then a person, then a
//! channel); a link preview (GET) changes nothing; the link's button (POST)
//! stops the ladder; a `kill -9` between two levels, then a restart,
//! continues at the next level with no page repeated. The seeds' ladders
//! pass `watchkeeper validate`.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use watchkeeper_testkit::{
    DemoConfig, Mode, TempConfig, on_both_engines, poll_until, spawn_demo_on_loopback,
};

use crate::process::{ServeProcess, watchkeeper};
use crate::sink::{Received, WebhookSink};
use crate::support::{DEADLINE, metric_value, quick_retries, spawn_app_with, storage};

/// A monitor that fires on its first failure, alice on call on `primary`,
/// and a ladder: the schedule, `delay` later carol, `delay` later the
/// channel itself.
fn config(storage: &str, target: &str, sink: &str, delay: &str) -> String {
    format!(
        r#"
{storage}
[alerting]
failure_threshold = 1
success_threshold = 1

[[monitor]]
id = "demo"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 200']

[[notifier]]
id = "hook"
webhook = {{ url = "{sink}" }}

[[person]]
id = "alice"
name = "Alice Example"
contact = ["hook"]

[[person]]
id = "carol"
name = "Carol Example"
contact = ["hook"]

[[schedule]]
id = "primary"
every = "1w"
handoff = "Mon 09:00"
members = ["alice"]

[[escalation]]
id = "default"
levels = [
  {{ notify = ["schedule:primary"], delay = "{delay}" }},
  {{ notify = ["person:carol"], delay = "{delay}" }},
  {{ notify = ["hook"] }},
]

[[route]]
notify = []
escalation = "default"
"#
    )
}

/// (level, person id or "") of each page received.
fn pages(received: &[Received]) -> Vec<(u64, String)> {
    received
        .iter()
        .map(|one| {
            let page = &one.body["data"]["page"];
            (
                page["level"].as_u64().unwrap_or(0),
                page["person"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn ack_url(page: &Received) -> String {
    page.body["data"]["alerts"][0]["ack_url"]
        .as_str()
        .unwrap_or_else(|| panic!("a page without an ack link: {}", page.body))
        .to_owned()
}

fn plain_client() -> reqwest::Client {
    watchkeeper_testkit::loopback_client_builder()
        .build()
        .unwrap()
}

async fn alert_of(client: &reqwest::Client, base: &str) -> Value {
    let list: Value = client
        .get(format!("{base}/api/v1/alerts"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fingerprint = list["alerts"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    client
        .get(format!("{base}/api/v1/alerts/{fingerprint}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn nobody_acknowledges_so_each_level_is_paged_after_its_delay_and_a_preview_changes_nothing(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        let toml = config(&storage, &demo.url("/health"), &sink.url, "3s");
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(watchkeeper_engine::SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let first = sink.wait_for(1, "level 1's page").await;
        let level_one_at = Instant::now();
        assert_eq!(pages(&first), [(1, "alice".to_owned())], "{}", first[0].body);
        assert_eq!(first[0].body["data"]["page"]["target"], "schedule:primary");

        // A chat app fetching the link to preview it changes nothing.
        let link = ack_url(&first[0]);
        let preview = plain_client().get(&link).send().await.unwrap();
        assert_eq!(preview.status(), 200);
        assert!(preview.text().await.unwrap().contains("<form method=\"post\">"));
        assert!(alert_of(&app.client, &app.base).await.get("acknowledgement").is_none());

        let second = sink.wait_for(2, "level 2's page").await;
        assert!(level_one_at.elapsed() >= Duration::from_millis(2_500), "level 2 waited its delay");
        assert_eq!(pages(&second)[1], (2, "carol".to_owned()));
        let third = sink.wait_for(3, "level 3's page").await;
        assert_eq!(pages(&third)[2], (3, String::new()), "the channel itself");
        assert_eq!(third[2].body["data"]["page"]["target"], "hook");
        let ids: std::collections::BTreeSet<&str> =
            third.iter().map(|one| one.header("webhook-id")).collect();
        assert_eq!(ids.len(), 3, "three pages, three deliveries");

        // The alert's timeline says whom each level reached, and when.
        let alert = alert_of(&app.client, &app.base).await;
        let steps = alert["escalation"].as_array().unwrap();
        let reached: Vec<(u64, &str)> = steps
            .iter()
            .rev()
            .map(|step| (step["level"].as_u64().unwrap(), step["target"].as_str().unwrap()))
            .collect();
        assert_eq!(reached, [(1, "schedule:primary"), (2, "person:carol"), (3, "hook")], "{alert}");
        assert!(alert["ack_target"]["within_seconds"].as_u64().is_some(), "{alert}");
        // The ladder has ended: nothing more comes.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(sink.received().len(), 3);
        app.stop().await;
    }

    #[flavor(multi_thread)]
    async fn the_links_button_acknowledges_and_stops_the_ladder(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        let toml = config(&storage, &demo.url("/health"), &sink.url, "4s");
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(watchkeeper_engine::SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let first = sink.wait_for(1, "level 1's page").await;
        let pressed = plain_client().post(ack_url(&first[0])).send().await.unwrap();
        assert_eq!(pressed.status(), 200);
        assert!(pressed.text().await.unwrap().contains("Acknowledged as Alice Example"));
        let alert = alert_of(&app.client, &app.base).await;
        assert_eq!(alert["acknowledgement"]["by"], "alice", "{alert}");
        assert_eq!(alert["acknowledgement"]["via"], "link");
        // Past level 2's delay, with room: nobody else is paged.
        tokio::time::sleep(Duration::from_secs(6)).await;
        assert_eq!(pages(&sink.received()), [(1, "alice".to_owned())]);
        // Used once, the link says so.
        let again = plain_client().post(ack_url(&first[0])).send().await.unwrap();
        assert_eq!(again.status(), 410);
        // MTTA and pages in /metrics.
        let exposition = app.get_text("/metrics").await;
        assert_eq!(
            metric_value(&exposition, "watchkeeper_alert_ack_seconds_count{severity=\"P2\"}"),
            Some(1.0),
            "{exposition}"
        );
        assert_eq!(
            metric_value(&exposition, "watchkeeper_escalation_pages_total{policy=\"default\",level=\"1\"}"),
            Some(1.0),
            "{exposition}"
        );
        app.stop().await;
    }

    #[flavor(multi_thread)]
    async fn a_kill_9_between_levels_continues_at_the_next_level_with_no_page_repeated(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        let toml = config(&storage, &demo.url("/health"), &sink.url, "5s");
        let config = TempConfig::new(&toml).unwrap();
        let serve = ServeProcess::start(config.path(), &[]).await;
        serve.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let first = sink.wait_for(1, "level 1's page").await;
        assert_eq!(pages(&first), [(1, "alice".to_owned())]);
        // Between two levels: level 1's delivery is recorded as delivered
        // (one killed in flight is sent again with the same webhook-id,
        // which `notifications` tests), level 2 not yet due.
        poll_until(DEADLINE, "level 1's delivery to be recorded", || async {
            let list = serve.get_json("/api/v1/deliveries").await?;
            (list["deliveries"][0]["status"] == "delivered").then_some(())
        })
        .await;
        let stopped = serve.stop_with(Signal::SIGKILL).await;
        assert!(!stopped.status.success());

        let serve = ServeProcess::start(config.path(), &[]).await;
        let second = sink.wait_for(2, "level 2's page after the restart").await;
        assert_eq!(
            pages(&second),
            [(1, "alice".to_owned()), (2, "carol".to_owned())],
            "level 1 is not paged again, level 2 comes at its time"
        );
        poll_until(DEADLINE * 2, "level 3's page", || async {
            let received = sink.received();
            (received.len() >= 3).then_some(())
        })
        .await;
        assert_eq!(pages(&sink.received())[2], (3, String::new()));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(sink.received().len(), 3, "{:?}", pages(&sink.received()));
        serve.stop_with(Signal::SIGTERM).await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_breached_ack_target_brings_the_next_level_forward(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        // Level 1 waits a minute, but a P2 must be acknowledged within 2 s.
        let toml = config(&storage, &demo.url("/health"), &sink.url, "60s")
            .replace("[alerting]", "[oncall]\nack_targets = { P2 = \"2s\" }\n\n[alerting]")
            .replace("id = \"default\"\n", "id = \"default\"\nescalate_on_breach = true\n");
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(watchkeeper_engine::SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let first = sink.wait_for(1, "level 1's page").await;
        let paged_at = Instant::now();
        assert_eq!(pages(&first), [(1, "alice".to_owned())]);
        let second = sink.wait_for(2, "level 2, brought forward by the breach").await;
        assert!(paged_at.elapsed() < Duration::from_secs(30), "not the minute's delay");
        assert_eq!(pages(&second)[1], (2, "carol".to_owned()));
        let alert = alert_of(&app.client, &app.base).await;
        assert_eq!(alert["ack_target"]["breached"], true, "{alert}");
        let early = alert["escalation"][0]["note"].as_str().unwrap();
        assert!(early.starts_with("paged early"), "{alert}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_seeds_ladders_pass_validate() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/oncall");
    for name in [
        "seed-000-l1-l4.toml",
        "seed-001-l1-l3.toml",
        "seed-003-p0-p3.toml",
    ] {
        let path = examples.join(name);
        let output = watchkeeper(&path, &["validate"]).output().await.unwrap();
        assert!(
            output.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            String::from_utf8_lossy(&output.stdout).contains(": ok ("),
            "{name}"
        );
    }
}
