//! Judging a costly answer: on a blocking thread, so the async runtime (the
//! other probes, the API, shutdown) keeps running; its time is counted in
//! the result; and a target whose answer would take a condition past its
//! runtime budget gets a down result that says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::time::Instant;
use watchkeeper_domain::Health;
use watchkeeper_domain::monitor::ProbeSpec;

use crate::support::{http_spec, monitor, prober, start_time};

/// Serves `body` as JSON at `/` on 127.0.0.1:0.
async fn serving(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/")
}

/// `[1,1,…]` with `count` elements.
fn ones(count: usize) -> String {
    format!("[{}]", vec!["1"; count].join(","))
}

#[tokio::test(flavor = "current_thread")]
async fn a_costly_judgement_leaves_the_runtime_free() {
    // 900 KB, under the 1 MiB body limit: a linear scan the load check accepts
    let url = serving(ones(450_000)).await;
    let monitor = monitor(
        ProbeSpec::Http(http_spec(&url)),
        &["json.all(x, x == 1)"],
        &[],
    );
    // one thread: any time the runtime spends judging, this task cannot run
    let done = Arc::new(AtomicBool::new(false));
    let ticker = tokio::spawn({
        let done = Arc::clone(&done);
        async move {
            let mut last = Instant::now();
            let mut longest = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                tokio::task::yield_now().await;
                let now = Instant::now();
                longest = longest.max(now - last);
                last = now;
            }
            longest
        }
    });
    let result = prober().check(&monitor, start_time()).await;
    done.store(true, Ordering::Relaxed);
    let longest_pause = ticker.await.unwrap();
    assert_eq!(result.health, Health::Up, "{:?}", result.reason);
    assert!(
        result.evaluation >= Duration::from_millis(50),
        "the judgement must be costly for this test to mean anything: {:?}",
        result.evaluation
    );
    assert!(
        longest_pause < result.evaluation / 4,
        "the runtime stood still for {longest_pause:?} of a {:?} judgement",
        result.evaluation
    );
}

#[tokio::test]
async fn an_answer_that_spends_the_budget_is_down_and_says_so() {
    // the trial's case: a loop inside a loop over the body, against a body
    // larger than the load check assumed (here the default budget stops
    // 1,200 × 1,200 iterations)
    let url = serving(ones(1200)).await;
    let monitor = monitor(
        ProbeSpec::Http(http_spec(&url)),
        &["json.all(a, json.all(b, b == a))"],
        &[],
    );
    let result = prober().check(&monitor, start_time()).await;
    assert_eq!(result.health, Health::Down);
    assert_eq!(
        result.reason.as_deref(),
        Some(
            "json.all(a, json.all(b, b == a)) was stopped: evaluating it took more than its \
             budget of 10 million steps"
        )
    );
    assert!(result.evaluation > Duration::ZERO);
}

#[tokio::test]
async fn a_cheap_judgement_is_timed_too() {
    let url = serving(r#"{"status": "ok"}"#.to_owned()).await;
    let monitor = monitor(
        ProbeSpec::Http(http_spec(&url)),
        &[r#"json.status == "ok""#],
        &[],
    );
    let result = prober().check(&monitor, start_time()).await;
    assert_eq!(result.health, Health::Up, "{:?}", result.reason);
    assert!(result.evaluation > Duration::ZERO);
}
