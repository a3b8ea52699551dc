//! The control endpoints: switching modes with curl-shaped requests, counting
//! `/health` requests, and the index page.

use serde_json::Value;
use watchkeeper_demo::{ControlSnapshot, Mode};

use crate::{client, start};

async fn health_status(url: &str) -> u16 {
    client().get(url).send().await.unwrap().status().as_u16()
}

async fn health_body_status(url: &str) -> String {
    let body: Value = client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn post_and_put_switch_modes_and_requests_are_counted() {
    let demo = start(Mode::Ok).await;
    let health = demo.url("/health");
    assert_eq!(health_status(&health).await, 200);

    let response = client()
        .post(demo.url("/control/mode/fail"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let shown: ControlSnapshot = response.json().await.unwrap();
    assert_eq!(shown.mode, Mode::Fail);
    assert_eq!(demo.mode(), Mode::Fail);
    assert_eq!(health_status(&health).await, 500);
    assert_eq!(health_status(&health).await, 500);

    let response = client()
        .put(demo.url("/control/mode"))
        .body("degraded\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(health_body_status(&health).await, "degraded");

    let shown: ControlSnapshot = client()
        .get(demo.url("/control"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown.mode, Mode::Degraded);
    assert_eq!(shown.region, "test-region");
    assert_eq!(shown.health_requests.total, 4);
    assert_eq!(shown.health_requests.by_mode.ok, 1);
    assert_eq!(shown.health_requests.by_mode.fail, 2);
    assert_eq!(shown.health_requests.by_mode.degraded, 1);
    assert_eq!(shown.health_requests.by_mode.slow, 0);
    assert_eq!(demo.health_requests(), 4);
    demo.shutdown().await;
}

#[tokio::test]
async fn put_slow_with_a_delay_sets_the_delay() {
    let demo = start(Mode::Ok).await;
    let response = client()
        .put(demo.url("/control/mode?delay=2500ms"))
        .body("slow")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let shown: ControlSnapshot = response.json().await.unwrap();
    assert_eq!(shown.mode, Mode::Slow);
    assert_eq!(shown.slow_delay_ms, 2500);

    let response = client()
        .post(demo.url("/control/mode/slow?delay=0.3s"))
        .send()
        .await
        .unwrap();
    let shown: ControlSnapshot = response.json().await.unwrap();
    assert_eq!(shown.slow_delay_ms, 300);
    demo.shutdown().await;
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let demo = start(Mode::Ok).await;
    let response = client()
        .put(demo.url("/control/mode"))
        .body("sideways")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("sideways"));

    let response = client()
        .post(demo.url("/control/mode/slow?delay=soon"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        demo.mode(),
        Mode::Ok,
        "a bad delay must not switch the mode"
    );
    assert_eq!(demo.control().slow_delay_ms, 200);
    demo.shutdown().await;
}

#[tokio::test]
async fn handle_set_mode_is_seen_over_http() {
    let demo = start(Mode::Ok).await;
    demo.set_mode(Mode::Fail);
    assert_eq!(health_status(&demo.url("health")).await, 500);
    demo.set_mode(Mode::Ok);
    assert_eq!(health_status(&demo.url("/health")).await, 200);
    assert_eq!(demo.health_requests(), 2);
    demo.shutdown().await;
}

#[tokio::test]
async fn index_lists_the_endpoints_and_unknown_paths_are_404() {
    let demo = start(Mode::Ok).await;
    let page = client()
        .get(demo.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for endpoint in ["/health", "/control", "/control/mode"] {
        assert!(page.contains(endpoint), "index lacks {endpoint}: {page}");
    }
    let response = client().get(demo.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(demo.health_requests(), 0, "only /health is counted");
    demo.shutdown().await;
}
