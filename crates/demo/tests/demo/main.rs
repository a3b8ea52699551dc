//! Integration tests of the demo service: every mode over real HTTP on
//! 127.0.0.1:0, the control endpoints, the webhook receiver, and the binary.

// Helpers here are test code too: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod control;
mod modes;
mod receiver;

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use watchkeeper_demo::{DemoConfig, DemoHandle, Mode, spawn};

/// The delay tests give slow mode: long enough to measure, short enough to wait.
const TEST_SLOW_DELAY: Duration = Duration::from_millis(200);

async fn start(mode: Mode) -> DemoHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn(
        listener,
        DemoConfig {
            region: "test-region".to_owned(),
            initial_mode: mode,
            slow_delay: TEST_SLOW_DELAY,
            receiver_secret: None,
            print_received: false,
        },
    )
    .await
    .unwrap()
}

/// reqwest is built without a default crypto provider (the runner hands
/// it its own), so even a plain-HTTP client is given a TLS configuration.
fn client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls `check` every 20 ms until it holds; panics with `what` after `deadline`.
/// (The testkit has the general version, but it depends on this crate.)
async fn wait_for<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < deadline,
            "timed out after {:?} waiting for {what}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
