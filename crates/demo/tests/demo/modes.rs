//! Each mode of `/health`, observed by a real HTTP client.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use watchkeeper_demo::{GARBAGE_BODY, HUGE_BODY_BYTES, Mode};

use crate::{TEST_SLOW_DELAY, client, start, wait_for};

#[tokio::test]
async fn ok_answers_the_runbook_shaped_json() {
    let demo = start(Mode::Ok).await;
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "version": "1.4.2", "region": "test-region"})
    );
    assert_eq!(demo.health_requests(), 1);
    demo.shutdown().await;
}

#[tokio::test]
async fn degraded_is_a_200_that_says_degraded() {
    let demo = start(Mode::Degraded).await;
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["region"], "test-region");
    demo.shutdown().await;
}

#[tokio::test]
async fn fail_is_a_500_naming_the_database() {
    let demo = start(Mode::Fail).await;
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "error", "error": "database unavailable"})
    );
    demo.shutdown().await;
}

#[tokio::test]
async fn slow_answers_correctly_after_the_delay() {
    let demo = start(Mode::Slow).await;
    let started = Instant::now();
    let response = client().get(demo.url("/health")).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(
        started.elapsed() >= TEST_SLOW_DELAY,
        "answered after {:?}, before the {TEST_SLOW_DELAY:?} delay",
        started.elapsed()
    );
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    demo.shutdown().await;
}

#[tokio::test]
async fn slow_delay_can_be_changed_through_the_handle() {
    let demo = start(Mode::Slow).await;
    let longer = Duration::from_millis(400);
    demo.set_slow_delay(longer);
    let started = Instant::now();
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= longer, "took {:?}", started.elapsed());
    demo.shutdown().await;
}

#[tokio::test]
async fn hang_never_answers_and_shutdown_still_completes() {
    let demo = start(Mode::Hang).await;
    let outcome = client()
        .get(demo.url("/health"))
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    let error = outcome.expect_err("a hanging /health must not answer");
    assert!(error.is_timeout(), "expected a timeout, got {error:?}");
    assert_eq!(demo.control().health_requests.by_mode.hang, 1);

    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(2), demo.shutdown())
        .await
        .expect("shutdown must not wait for a hanging request");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn hang_keeps_the_connection_open_until_shutdown_drops_it() {
    let demo = start(Mode::Hang).await;
    let mut stream = TcpStream::connect(demo.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: demo\r\n\r\n")
        .await
        .unwrap();
    wait_for(
        Duration::from_secs(5),
        "the hanging request to arrive",
        || {
            let arrived = demo.health_requests() == 1;
            async move { arrived }
        },
    )
    .await;

    let mut buffer = [0_u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buffer)).await;
    assert!(early.is_err(), "hang answered or closed early: {early:?}");

    tokio::time::timeout(Duration::from_secs(2), demo.shutdown())
        .await
        .expect("shutdown must not wait for a hanging request");
    let after = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer))
        .await
        .expect("the connection must be closed by shutdown");
    match after {
        Ok(read) => assert_eq!(read, 0, "expected EOF, got {:?}", &buffer[..read]),
        Err(error) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
    }
}

#[tokio::test]
async fn garbage_is_neither_utf8_nor_json() {
    let demo = start(Mode::Garbage).await;
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert_eq!(&body[..], GARBAGE_BODY);
    assert!(std::str::from_utf8(&body).is_err());
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    demo.shutdown().await;
}

#[tokio::test]
async fn huge_streams_exactly_ten_mebibytes() {
    let demo = start(Mode::Huge).await;
    let response = client().get(demo.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.content_length(),
        None,
        "huge must stream without announcing its size"
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len() as u64, HUGE_BODY_BYTES);
    assert_eq!(HUGE_BODY_BYTES, 10 * 1024 * 1024);
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["status"], "ok");
    demo.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_the_listener() {
    let demo = start(Mode::Ok).await;
    let addr = demo.addr;
    demo.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}
