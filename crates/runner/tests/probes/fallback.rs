//! `Prober::check` on http monitors with a fallback URL: both probed,
//! judged alike, compared for parity, and combined into one health.

use watchkeeper_domain::monitor::{Parity, ProbeSpec};
use watchkeeper_domain::{FallbackResult, Health};

use crate::support::{closed_port, http_spec, monitor, prober, spawn_target, start_time};

const EXPECT: &[&str] = &["status == 200", r#"json.status == "ok""#];

fn fallback_monitor(
    primary: &str,
    fallback: &str,
    parity: Parity,
) -> watchkeeper_domain::monitor::MonitorSpec {
    let mut spec = http_spec(primary);
    spec.fallback_url = Some(fallback.parse().unwrap());
    spec.parity = parity;
    monitor(ProbeSpec::Http(spec), EXPECT, &[])
}

fn json_fields(paths: &[&str]) -> Parity {
    Parity::JsonFields(paths.iter().map(|path| (*path).to_owned()).collect())
}

#[tokio::test]
async fn a_plain_check_records_times_and_health() {
    let target = spawn_target(r#"{"status":"ok"}"#).await;
    let check = monitor(
        ProbeSpec::Http(http_spec(&target.url("/health"))),
        EXPECT,
        &[],
    );
    let due_at = start_time() - jiff::SignedDuration::from_secs(2);
    let result = prober().check(&check, due_at).await;
    assert_eq!(result.monitor.as_str(), "api");
    assert_eq!(result.due_at, due_at);
    assert_eq!(result.started_at, start_time());
    assert_eq!((result.health, result.reason), (Health::Up, None));
    assert_eq!(result.fallback, None);
}

#[tokio::test]
async fn a_probe_failure_is_down_with_its_message() {
    let address = closed_port().await;
    let check = monitor(
        ProbeSpec::Http(http_spec(&format!("http://{address}/health"))),
        EXPECT,
        &[],
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Down);
    assert_eq!(
        result.reason.as_deref(),
        Some(format!("GET http://{address}/health: connect: connection refused").as_str())
    );
}

#[tokio::test]
async fn degraded_if_makes_a_working_answer_degraded() {
    let target = spawn_target(r#"{"status":"ok","queue":900}"#).await;
    let check = monitor(
        ProbeSpec::Http(http_spec(&target.url("/health"))),
        EXPECT,
        &["json.queue > 500"],
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Degraded);
    assert!(
        result
            .reason
            .unwrap()
            .starts_with("json.queue > 500 matched")
    );
}

#[tokio::test]
async fn same_body_on_both_is_up() {
    let primary = spawn_target(r#"{"status":"ok","version":"1.2"}"#).await;
    let fallback = spawn_target(r#"{"status":"ok","version":"1.2"}"#).await;
    let check = fallback_monitor(
        &primary.url("/health"),
        &fallback.url("/health"),
        Parity::Body,
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!((result.health, result.reason), (Health::Up, None));
    let recorded = result.fallback.unwrap();
    assert_eq!((recorded.health, recorded.reason), (Health::Up, None));
    assert_eq!((primary.requests(), fallback.requests()), (1, 1));
}

#[tokio::test]
async fn a_differing_json_field_is_degraded_and_named() {
    let primary = spawn_target(r#"{"status":"ok","region":"eu"}"#).await;
    let fallback = spawn_target(r#"{"status":"ok","region":"us"}"#).await;
    let check = fallback_monitor(
        &primary.url("/health"),
        &fallback.url("/health"),
        json_fields(&["status", "region"]),
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Degraded);
    assert_eq!(
        result.reason.as_deref(),
        Some(r#"parity: json.region differs: primary "eu", fallback "us""#)
    );
    assert_eq!(
        result.fallback.map(|fallback| fallback.health),
        Some(Health::Up)
    );
}

#[tokio::test]
async fn a_differing_body_is_degraded_with_sizes() {
    let primary = spawn_target(r#"{"status":"ok"}"#).await;
    let fallback = spawn_target(r#"{"status":"ok","extra":1}"#).await;
    let check = fallback_monitor(
        &primary.url("/health"),
        &fallback.url("/health"),
        Parity::Body,
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Degraded);
    assert!(
        result
            .reason
            .as_deref()
            .unwrap()
            .starts_with("parity: bodies differ (primary 15 bytes, fallback 25 bytes"),
        "{:?}",
        result.reason
    );
}

#[tokio::test]
async fn ignored_fields_may_differ() {
    let primary = spawn_target(r#"{"status":"ok","time":1}"#).await;
    let fallback = spawn_target(r#"{"status":"ok","time":2}"#).await;
    let check = fallback_monitor(
        &primary.url("/health"),
        &fallback.url("/health"),
        json_fields(&["status"]),
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!((result.health, result.reason), (Health::Up, None));
}

#[tokio::test]
async fn a_down_fallback_degrades_a_working_primary() {
    let primary = spawn_target(r#"{"status":"ok"}"#).await;
    let dead = closed_port().await;
    let fallback_url = format!("http://{dead}/health");
    let check = fallback_monitor(&primary.url("/health"), &fallback_url, Parity::Body);
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Degraded);
    let failure = format!("GET {fallback_url}: connect: connection refused");
    assert_eq!(
        result.reason.as_deref(),
        Some(format!("fallback {fallback_url}: {failure}").as_str())
    );
    let FallbackResult { health, reason, .. } = result.fallback.unwrap();
    assert_eq!((health, reason), (Health::Down, Some(failure)));
}

#[tokio::test]
async fn a_down_primary_stays_down_whatever_the_fallback_says() {
    let primary = spawn_target(r#"{"status":"degraded"}"#).await;
    let fallback = spawn_target(r#"{"status":"ok"}"#).await;
    let check = fallback_monitor(
        &primary.url("/health"),
        &fallback.url("/health"),
        Parity::Body,
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Down);
    let reason = result.reason.unwrap();
    assert!(
        reason.starts_with(r#"json.status == "ok" failed"#),
        "{reason}"
    );
    assert!(
        reason.ends_with(&format!("; fallback {} is up", fallback.url("/health"))),
        "{reason}"
    );
    assert_eq!(
        result.fallback.map(|fallback| fallback.health),
        Some(Health::Up)
    );
}

#[tokio::test]
async fn a_fallback_url_password_is_never_shown() {
    let target = spawn_target(r#"{"status":"ok"}"#).await;
    let closed = closed_port().await;
    let check = fallback_monitor(
        &target
            .url("/health")
            .replacen("http://", "http://ci:primary-s3cret@", 1),
        &format!("http://ci:fallback-s3cret@{closed}/health"),
        Parity::Off,
    );
    let result = prober().check(&check, start_time()).await;
    assert_eq!(result.health, Health::Degraded);
    assert_eq!(
        result.reason.as_deref(),
        Some(
            format!(
                "fallback http://ci:***@{closed}/health: GET http://ci:***@{closed}/health: connect: connection refused"
            )
            .as_str()
        )
    );
}
