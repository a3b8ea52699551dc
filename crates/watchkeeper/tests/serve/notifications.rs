//! Notifications end to end, against webhook receivers on loopback: a
//! failing target is announced once firing and once resolved, signed; a
//! receiver that fails is retried with the same `webhook-id` until it
//! accepts; a receiver that hangs holds up neither probes nor the other
//! notifier; a restart sends nothing again; a `kill -9` in the middle of a
//! delivery loses nothing and repeats only the attempt in flight.

use std::time::Duration;

use watchkeeper_domain::clock::Clock;
use watchkeeper_engine::SystemClock;
use watchkeeper_notify::signature::SigningSecret;
use watchkeeper_testkit::{
    DemoConfig, Mode, TempConfig, on_both_engines, poll_until, spawn_demo_on_loopback,
};

use nix::sys::signal::Signal;

use crate::process::{ServeProcess, watchkeeper};
use crate::sink::{Received, WebhookSink};
use crate::support::{DEADLINE, STORAGE, quick_retries, spawn_app_in, spawn_app_with, storage};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(storage: &str, target: &str, notifiers: &[(&str, &str)]) -> String {
    let mut toml = format!(
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
expect = ['status == 200']

[[route]]
notify = [{names}]
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"
"#,
        names = notifiers
            .iter()
            .map(|(id, _)| format!("\"{id}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (id, url) in notifiers {
        toml.push_str(&format!(
            "\n[[notifier]]\nid = \"{id}\"\nwebhook = {{ url = \"{url}\", secret = \"{SECRET}\" }}\n"
        ));
    }
    toml
}

/// Checks a request's Standard Webhooks signature as a receiver would.
fn verify(received: &Received) {
    let secret = SigningSecret::parse(SECRET).unwrap();
    secret
        .verify(
            received.header("webhook-id"),
            received.header("webhook-timestamp"),
            received.header("webhook-signature"),
            &received.raw,
            SystemClock::new().wall(),
        )
        .unwrap_or_else(|error| panic!("signature does not verify: {error}: {received:?}"));
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_failing_target_is_announced_once_firing_and_once_resolved(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        let toml = config(&storage, &demo.url("/health"), &[("hook", &sink.url)]);
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;

        demo.set_mode(Mode::Fail);
        let firing = sink.wait_for(1, "the firing notification").await;
        verify(&firing[0]);
        let body = &firing[0].body;
        assert_eq!(body["type"], "alert.firing", "{body}");
        assert_eq!(body["data"]["version"], "1");
        assert_eq!(body["data"]["receiver"], "hook");
        let alert = &body["data"]["alerts"][0];
        assert_eq!(alert["rule"], "MonitorDown");
        assert_eq!(alert["status"], "firing");
        assert_eq!(alert["labels"]["monitor"], "demo");
        assert_eq!(alert["reason"], "status == 200 failed: status was 500");
        let fingerprint = alert["fingerprint"].as_str().unwrap().to_owned();
        assert!(alert["url"].as_str().unwrap().ends_with(&format!("/api/v1/alerts/{fingerprint}")));

        demo.set_mode(Mode::Ok);
        let both = sink.wait_for(2, "the resolved notification").await;
        verify(&both[1]);
        assert_eq!(both[1].body["type"], "alert.resolved", "{}", both[1].body);
        assert_eq!(both[1].body["data"]["alerts"][0]["status"], "resolved");
        assert_ne!(both[0].header("webhook-id"), both[1].header("webhook-id"));
        let config = app.stop().await;

        // A restart over the same database sends nothing again: the group
        // was finished and the cursor is past both events.
        let app = spawn_app_in(config).await;
        app.wait_for_state("demo", "up").await;
        // Several group intervals, bounded: nothing may arrive.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(sink.received().len(), 2, "{:?}", sink.received());
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_failing_receiver_is_retried_with_the_same_id_until_it_accepts(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        sink.answer(&[500, 500, 500]);
        let toml = config(&storage, &demo.url("/health"), &[("hook", &sink.url)]);
        let app = spawn_app_with(
            TempConfig::new(&toml).unwrap(),
            std::sync::Arc::new(SystemClock::new()),
            quick_retries(),
        )
        .await;
        app.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        let attempts = sink.wait_for(4, "three failures and a success").await;
        let answered: Vec<u16> = attempts.iter().map(|r| r.answered).collect();
        assert_eq!(answered, [500, 500, 500, 204]);
        let id = attempts[0].header("webhook-id");
        assert!(attempts.iter().all(|r| r.header("webhook-id") == id), "{attempts:?}");
        for attempt in &attempts {
            verify(attempt);
        }
        // each attempt is signed at its own time, the body unchanged
        assert!(attempts.iter().all(|r| r.raw == attempts[0].raw));
        let metrics = app.get_text("/metrics").await;
        poll_until(DEADLINE, "the attempts in /metrics", || async {
            let metrics = app.get_text("/metrics").await;
            metrics
                .contains(r#"watchkeeper_notification_attempts_total{notifier="hook",result="delivered"} 1"#)
                .then_some(())
        })
        .await;
        assert!(
            metrics.contains(r#"watchkeeper_notification_attempts_total{notifier="hook",result="retry"} 3"#),
            "{metrics}"
        );
        // the outbox as the API shows it
        let (status, list) = app.get_json("/api/v1/deliveries?notifier=hook").await;
        assert_eq!(status, 200, "{list}");
        let delivery = &list["deliveries"][0];
        assert_eq!(delivery["id"], id);
        assert_eq!(delivery["status"], "delivered", "{list}");
        assert_eq!(delivery["attempts"], 4);
        assert_eq!(delivery["kind"], "alert.firing");
        assert_eq!(delivery["alerts"][0]["rule"], "MonitorDown");
        let (status, detail) = app.get_json(&format!("/api/v1/deliveries/{id}")).await;
        assert_eq!(status, 200, "{detail}");
        let outcomes: Vec<&str> = detail["attempt_log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["HTTP 500", "HTTP 500", "HTTP 500", "HTTP 204"]);
        assert!(detail["attempt_log"][0]["decision"].as_str().unwrap().starts_with("retry at "));
        let (status, error) = app.get_json("/api/v1/deliveries?limit=lots").await;
        assert_eq!(status, 400);
        assert_eq!(error["error"]["code"], "bad_request");
        assert!(error["error"]["message"].as_str().unwrap().contains("`limit`"), "{error}");
        let (status, _) = app.get_json("/api/v1/deliveries/msg_nothing").await;
        assert_eq!(status, 404);
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_receiver_holds_up_neither_probes_nor_the_other_notifier() {
    let storage = storage(watchkeeper_testkit::Engine::Sqlite).await;
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let hanging = WebhookSink::spawn().await;
    hanging.hang(true);
    let good = WebhookSink::spawn().await;
    let toml = config(
        &storage,
        &demo.url("/health"),
        &[("stuck", &hanging.url), ("hook", &good.url)],
    );
    let app = spawn_app_with(
        TempConfig::new(&toml).unwrap(),
        std::sync::Arc::new(SystemClock::new()),
        quick_retries(),
    )
    .await;
    app.wait_for_state("demo", "up").await;
    demo.set_mode(Mode::Fail);
    hanging.wait_for(1, "the hanging receiver's request").await;
    good.wait_for(1, "the other receiver's notification").await;
    // probes go on while the attempt hangs: the recovery is seen and sent
    demo.set_mode(Mode::Ok);
    let received = good.wait_for(2, "the resolution, past the hang").await;
    assert_eq!(received[1].body["type"], "alert.resolved");
    app.stop().await;
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_kill_during_delivery_loses_nothing_and_repeats_only_the_attempt_in_flight(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let sink = WebhookSink::spawn().await;
        sink.hang(true);
        let config = TempConfig::new(&config(&storage, &demo.url("/health"), &[("hook", &sink.url)]))
            .unwrap();
        let serve = ServeProcess::start(config.path(), &[]).await;
        serve.wait_for_state("demo", "up").await;
        demo.set_mode(Mode::Fail);
        // the firing notification is in flight (the receiver is hanging)
        let in_flight = sink.wait_for(1, "the attempt in flight").await;
        let id = in_flight[0].header("webhook-id").to_owned();
        let killed = serve.stop_with(Signal::SIGKILL).await;
        assert!(!killed.status.success());

        sink.hang(false);
        let serve = ServeProcess::start(config.path(), &[]).await;
        let again = sink.wait_for(2, "the attempt made again after the restart").await;
        assert_eq!(again[1].header("webhook-id"), id, "the same delivery, not a new one");
        assert_eq!(again[1].raw, again[0].raw, "the same notification");
        assert_eq!(again[1].answered, 204);
        verify(&again[1]);

        demo.set_mode(Mode::Ok);
        let all = sink.wait_for(3, "the resolution").await;
        assert_eq!(all[2].body["type"], "alert.resolved");
        let firing: Vec<&str> = all
            .iter()
            .filter(|r| r.body["type"] == "alert.firing")
            .map(|r| r.header("webhook-id"))
            .collect();
        assert_eq!(firing, [id.as_str(), id.as_str()], "nothing sent twice but the attempt in flight");
        let stopped = serve.stop_with(Signal::SIGTERM).await;
        assert!(stopped.status.success(), "{}", stopped.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_test_sends_one_signed_message_and_prints_the_answer() {
    let sink = WebhookSink::spawn().await;
    let toml = config(STORAGE, "http://127.0.0.1:9/health", &[("hook", &sink.url)]);
    let config = TempConfig::new(&toml).unwrap();
    let output = watchkeeper(config.path(), &["notify", "test", "hook"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("answer: HTTP 204"), "{stdout}");
    assert!(stdout.contains("result: delivered"), "{stdout}");
    let received = sink.received();
    assert_eq!(received.len(), 1);
    verify(&received[0]);
    assert_eq!(
        received[0].body["data"]["alerts"][0]["rule"],
        "WatchkeeperTest"
    );
    assert!(
        stdout.contains(received[0].header("webhook-id")),
        "{stdout}"
    );

    // a receiver that refuses: exit 1, and what the outbox would do
    sink.answer(&[410]);
    let output = watchkeeper(config.path(), &["notify", "test", "hook"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("answer: HTTP 410"), "{stdout}");
    assert!(stdout.contains("410 Gone"), "{stdout}");

    // a typo: exit 2 with the closest id
    let output = watchkeeper(config.path(), &["notify", "test", "hok"])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown notifier `hok` (did you mean `hook`?)"),
        "{stderr}"
    );
    assert_eq!(sink.received().len(), 2, "nothing sent for the typo");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_that_answers_garbage_is_a_failed_attempt_with_a_reason_retried() {
    let storage = storage(watchkeeper_testkit::Engine::Sqlite).await;
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let garbage = crate::support::ReplyingGarbage::spawn(b"SSH-2.0-OpenSSH_9.6\r\n").await;
    let url = format!("http://{}/hook", garbage.addr);
    let toml = config(&storage, &demo.url("/health"), &[("hook", &url)]);
    let app = spawn_app_with(
        TempConfig::new(&toml).unwrap(),
        std::sync::Arc::new(SystemClock::new()),
        quick_retries(),
    )
    .await;
    app.wait_for_state("demo", "up").await;
    demo.set_mode(Mode::Fail);
    let delivery = poll_until(DEADLINE, "two failed attempts", || async {
        let (_, list) = app.get_json("/api/v1/deliveries").await;
        let delivery = list["deliveries"][0].clone();
        (delivery["attempts"].as_u64() >= Some(2)).then_some(delivery)
    })
    .await;
    assert_eq!(delivery["status"], "pending", "{delivery}");
    let outcome = delivery["last_outcome"].as_str().unwrap();
    assert!(
        outcome.starts_with(&format!("POST http://{}", garbage.addr)),
        "{outcome}"
    );
    assert!(
        !outcome.contains("/hook"),
        "the URL's path is not shown: {outcome}"
    );
    app.stop().await;
}
