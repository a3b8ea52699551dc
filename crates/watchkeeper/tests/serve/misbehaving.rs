//! Targets that stall, answer garbage, refuse connections or send too much
//! are recorded as failed results that say why, while a healthy monitor
//! beside them keeps to its schedule.

use watchkeeper_testkit::{
    DemoConfig, Mode, RawBehaviour, RawTarget, closed_port, poll_until, spawn_demo_on_loopback,
};

use watchkeeper_testkit::on_both_engines;

use crate::support::{DEADLINE, ReplyingGarbage, TestApp, spawn_app, storage};

/// Every monitor here is probed every second.
const INTERVAL_MS: f64 = 1_000.0;

fn monitor(id: &str, url: &str, expect: &str) -> String {
    format!(
        r#"
[[monitor]]
id = "{id}"
interval = "1s"
timeout = "500ms"
http = {{ url = "{url}" }}
expect = {expect}
"#
    )
}

/// Waits for `count` up results of `id` in its detail and checks that they
/// took consecutive slots of its schedule: each was due exactly one
/// interval after the one before. A scheduler held up by another monitor
/// (a stalled target, a costly judgement) starts a probe too late for its
/// slot and skips the next, which shows here whatever the machine's load;
/// a lag under one interval is all a loaded machine may add.
async fn on_schedule(app: &TestApp, id: &str, count: usize) {
    let detail = poll_until(
        DEADLINE,
        &format!("{count} up results of `{id}`"),
        || async {
            let detail = app.monitor(id).await;
            let ups = detail["recent_results"]
                .as_array()?
                .iter()
                .take_while(|result| result["health"] == "up")
                .count();
            (ups >= count).then_some(detail)
        },
    )
    .await;
    let results = &detail["recent_results"].as_array().unwrap()[..count];
    let due: Vec<f64> = results
        .iter()
        .map(|result| {
            let started: jiff::Timestamp = result["started_at"].as_str().unwrap().parse().unwrap();
            let lag = result["lag_ms"].as_f64().unwrap();
            assert!(lag < INTERVAL_MS, "`{id}` started {lag} ms late: {detail}");
            started.as_millisecond() as f64 - lag
        })
        .collect();
    for pair in due.windows(2) {
        let apart = pair[0] - pair[1];
        assert!(
            (apart - INTERVAL_MS).abs() < 2.0,
            "`{id}`: consecutive results were due {apart} ms apart, not one interval: {detail}"
        );
    }
}

async fn down_with_reason(app: &TestApp, id: &str, fragments: &[&str]) {
    let detail = app.wait_for_state(id, "down").await;
    let reason = detail["reason"].as_str().unwrap_or_default().to_owned();
    for fragment in fragments {
        assert!(
            reason.contains(fragment),
            "monitor `{id}`: reason {reason:?} does not mention {fragment:?}"
        );
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn misbehaving_targets_fail_with_clear_reasons_and_healthy_ones_stay_on_time(engine) {
        let storage = storage(engine).await;
        let stall = RawTarget::spawn(RawBehaviour::AcceptAndStall)
            .await
            .unwrap();
        let speaks_first = RawTarget::spawn(RawBehaviour::SendGarbage(
            b"SSH-2.0-OpenSSH_9.6 not http\r\n\r\n".to_vec(),
        ))
        .await
        .unwrap();
        let garbage = ReplyingGarbage::spawn(b"this is not an HTTP response\r\n\r\n").await;
        let refused = closed_port();
        let huge = spawn_demo_on_loopback(DemoConfig {
            initial_mode: Mode::Huge,
            ..DemoConfig::default()
        })
        .await
        .unwrap();
        let not_json = spawn_demo_on_loopback(DemoConfig {
            initial_mode: Mode::Garbage,
            ..DemoConfig::default()
        })
        .await
        .unwrap();
        let healthy = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();

        let any_answer = "[]";
        let config = [
            storage.clone(),
            monitor("stall", &format!("http://{}/", stall.addr()), any_answer),
            monitor(
                "speaks-first",
                &format!("http://{}/", speaks_first.addr()),
                any_answer,
            ),
            monitor("garbage", &format!("http://{}/", garbage.addr), any_answer),
            monitor("refused", &format!("http://{refused}/"), any_answer),
            monitor("huge", &huge.url("/health"), any_answer),
            monitor(
                "not-json",
                &not_json.url("/health"),
                r#"['json.status == "ok"']"#,
            ),
            monitor(
                "healthy",
                &healthy.url("/health"),
                r#"['status == 200', 'json.status == "ok"']"#,
            ),
        ]
        .concat();
        let app = spawn_app(&config).await;

        down_with_reason(&app, "stall", &["timed out"]).await;
        down_with_reason(&app, "garbage", &["invalid HTTP response"]).await;
        // Garbage sent before the request races it; whichever way hyper
        // reports the race, the reason must say the peer is not speaking HTTP.
        let detail = app.wait_for_state("speaks-first", "down").await;
        let reason = detail["reason"].as_str().unwrap();
        assert!(
            reason.starts_with(&format!(
                "GET http://{}/: invalid HTTP response",
                speaks_first.addr()
            )),
            "{reason}"
        );
        down_with_reason(&app, "refused", &["connection refused"]).await;
        down_with_reason(&app, "huge", &["exceeds", "body_limit"]).await;
        down_with_reason(&app, "not-json", &["not JSON"]).await;
        app.wait_for_state("healthy", "up").await;
        assert!(stall.connections() >= 1);

        // The healthy monitor keeps producing results, each in its own slot.
        on_schedule(&app, "healthy", 3).await;
        assert_eq!(app.monitor("healthy").await["state"], "up");

        app.stop().await;
    }
}

/// Serves `[1,1,…]` of 450,000 elements (900 KB, under the 1 MiB body
/// limit) at `/` on 127.0.0.1:0.
async fn serving_a_long_json_array() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let body = format!("[{}]", vec!["1"; 450_000].join(","));
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, server)
}

on_both_engines! {
    /// The whole daemon beside a monitor whose every answer costs about half a
    /// second to judge: its result shows the time judging took, the healthy
    /// monitor beside it keeps to its schedule, and shutdown is clean. (That the
    /// judgement runs off the async runtime is proven in the runner's tests.)
    async fn a_costly_judgement_holds_up_no_other_monitor_and_no_shutdown(engine) {
        let storage = storage(engine).await;
        let (long, _server) = serving_a_long_json_array().await;
        let healthy = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let config = [
            storage.clone(),
            monitor("long", &long, "['json.all(x, x == 1)']"),
            monitor(
                "healthy",
                &healthy.url("/health"),
                r#"['status == 200', 'json.status == "ok"']"#,
            ),
        ]
        .concat();
        let app = spawn_app(&config).await;
        let detail = app.wait_for_state("long", "up").await;
        let evaluation = detail["last_result"]["evaluation_ms"].as_f64().unwrap();
        assert!(
            evaluation >= 20.0,
            "the judgement must be costly for this test to mean anything: {detail}"
        );
        on_schedule(&app, "healthy", 3).await;
        app.stop().await;
    }
}
