//! The http probe against real loopback targets: good answers, errors,
//! stalls, garbage, huge bodies, odd bodies and redirects.

use std::time::{Duration, Instant};

use watchkeeper_domain::Health;
use watchkeeper_domain::condition::judge;
use watchkeeper_domain::monitor::{ProbeKind, ProbeSpec, RedirectHeaders, RedirectPolicy, Secret};
use watchkeeper_domain::observation::{FailureKind, HttpObservation, ObservationDetail};

use crate::support::{
    closed_port, conditions, http_spec, prober, spawn_replying, spawn_silent, spawn_target,
};

const OK_JSON: &str = r#"{"status":"ok"}"#;

fn http(observation: &watchkeeper_domain::observation::Observation) -> &HttpObservation {
    match &observation.detail {
        ObservationDetail::Http(http) => http,
        other => panic!("expected an http observation, got {other:?}"),
    }
}

#[tokio::test]
async fn a_json_200_is_observed_and_judged_up() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/health")));
    let observation = prober().probe(&spec, Duration::from_secs(5)).await.unwrap();
    let answer = http(&observation);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, OK_JSON.as_bytes());
    assert_eq!(answer.final_url, target.url("/health"));
    assert_eq!(answer.cert_expires_in, None);
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, value)| name == "content-type" && value == "application/json"),
        "{:?}",
        answer.headers
    );
    let expect = conditions(
        ProbeKind::Http,
        &["status == 200", r#"json.status == "ok""#],
    );
    assert_eq!(judge(&expect, &[], &observation).health, Health::Up);
}

#[tokio::test]
async fn a_500_is_an_observation_that_fails_the_status_condition() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/fail")));
    let observation = prober().probe(&spec, Duration::from_secs(5)).await.unwrap();
    assert_eq!(http(&observation).status, 500);
    let verdict = judge(
        &conditions(ProbeKind::Http, &["status == 200"]),
        &[],
        &observation,
    );
    assert_eq!(verdict.health, Health::Down);
    let reason = verdict.reason.unwrap();
    assert!(
        reason.contains("status == 200 failed") && reason.contains("500"),
        "{reason}"
    );
}

#[tokio::test]
async fn headers_are_sent_with_their_secret_values() {
    let target = spawn_target(OK_JSON).await;
    let mut spec = http_spec(&target.url("/echo-header"));
    spec.headers
        .push(("X-Token".to_owned(), Secret("s3cret".to_owned())));
    let observation = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(http(&observation).body, b"s3cret");
}

#[tokio::test]
async fn a_slow_response_times_out_and_the_probe_returns_promptly() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/slow")));
    let started = Instant::now();
    let failure = prober()
        .probe(&spec, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(
        failure.message,
        format!("GET {}: timed out after 300ms", target.url("/slow"))
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let address = spawn_silent().await;
    let spec = ProbeSpec::Http(http_spec(&format!("http://{address}/health")));
    let started = Instant::now();
    let failure = prober()
        .probe(&spec, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
}

#[tokio::test]
async fn garbage_instead_of_http_is_a_protocol_failure() {
    let address = spawn_replying(b"SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n").await;
    let spec = ProbeSpec::Http(http_spec(&format!("http://{address}/health")));
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Protocol, "{failure:?}");
    assert!(
        failure.message.starts_with(&format!(
            "GET http://{address}/health: invalid HTTP response"
        )),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_failure() {
    let address = closed_port().await;
    let spec = ProbeSpec::Http(http_spec(&format!("http://{address}/health")));
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Connect);
    assert_eq!(
        failure.message,
        format!("GET http://{address}/health: connect: connection refused")
    );
}

#[tokio::test]
async fn a_10_mb_streamed_body_is_cut_off_at_the_limit() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/big")));
    let failure = prober()
        .probe(&spec, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::BodyTooLarge);
    assert_eq!(
        failure.message,
        format!(
            "GET {}: response body exceeds the 1 MiB limit (body_limit)",
            target.url("/big")
        )
    );
}

#[tokio::test]
async fn an_announced_10_mb_body_is_refused_before_reading() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/big-announced")));
    let failure = prober()
        .probe(&spec, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::BodyTooLarge);
}

/// An endless body can only end in `BodyTooLarge` if the reader stops at
/// the limit instead of buffering everything (which would time out).
#[tokio::test]
async fn an_endless_body_stops_at_the_limit_not_at_the_timeout() {
    let target = spawn_target(OK_JSON).await;
    let mut spec = http_spec(&target.url("/endless"));
    spec.body_limit = 64 * 1024;
    let started = Instant::now();
    let failure = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(20))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::BodyTooLarge);
    assert!(
        failure.message.contains("the 64 KiB limit"),
        "{}",
        failure.message
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_invalid_utf8_body_is_observed_and_conditions_see_it_lossily() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/invalid-utf8")));
    let observation = prober().probe(&spec, Duration::from_secs(5)).await.unwrap();
    assert_eq!(http(&observation).body, [0xff, 0xfe, b'o', b'k']);
    let holds = conditions(ProbeKind::Http, &[r#"body.endsWith("ok")"#]);
    assert_eq!(judge(&holds, &[], &observation).health, Health::Up);
    let fails = conditions(ProbeKind::Http, &[r#"body == "ok""#]);
    assert_eq!(judge(&fails, &[], &observation).health, Health::Down);
}

#[tokio::test]
async fn malformed_json_makes_json_null_and_the_condition_explains() {
    let target = spawn_target(OK_JSON).await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/malformed-json")));
    let observation = prober().probe(&spec, Duration::from_secs(5)).await.unwrap();
    let verdict = judge(
        &conditions(ProbeKind::Http, &[r#"json.status == "ok""#]),
        &[],
        &observation,
    );
    assert_eq!(verdict.health, Health::Down);
    let reason = verdict.reason.unwrap();
    assert!(reason.starts_with(r#"json.status == "ok""#), "{reason}");
    let is_null = conditions(ProbeKind::Http, &["json == null"]);
    assert_eq!(judge(&is_null, &[], &observation).health, Health::Up);
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit() {
    let target = spawn_target(OK_JSON).await;
    let mut spec = http_spec(&target.url("/redirect/3"));
    spec.redirects = RedirectPolicy::Follow {
        max_hops: 3,
        headers: RedirectHeaders::SameOrigin,
    };
    let observation = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    let answer = http(&observation);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, b"arrived");
    assert_eq!(answer.final_url, target.url("/redirect/0"));
}

#[tokio::test]
async fn redirects_are_not_followed_when_off() {
    let target = spawn_target(OK_JSON).await;
    let mut spec = http_spec(&target.url("/redirect/1"));
    spec.redirects = RedirectPolicy::None;
    let observation = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    let answer = http(&observation);
    assert_eq!(answer.status, 307);
    assert_eq!(answer.final_url, target.url("/redirect/1"));
    assert!(
        answer
            .headers
            .iter()
            .any(|(name, value)| name == "location" && value == "/redirect/0")
    );
}

#[tokio::test]
async fn too_many_redirects_is_a_protocol_failure() {
    let target = spawn_target(OK_JSON).await;
    let mut spec = http_spec(&target.url("/redirect/3"));
    spec.redirects = RedirectPolicy::Follow {
        max_hops: 2,
        headers: RedirectHeaders::SameOrigin,
    };
    let failure = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Protocol);
    assert_eq!(
        failure.message,
        format!(
            "GET {}: too many redirects (more than 2)",
            target.url("/redirect/3")
        )
    );
}

/// Thousands of probes share one prober; many at once to one target must
/// all succeed without waiting on each other.
#[tokio::test]
async fn many_concurrent_probes_share_one_prober() {
    let target = spawn_target(OK_JSON).await;
    let prober = std::sync::Arc::new(prober());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let prober = prober.clone();
        let url = target.url("/health");
        tasks.push(tokio::spawn(async move {
            prober
                .probe(&ProbeSpec::Http(http_spec(&url)), Duration::from_secs(10))
                .await
                .map(|observation| http(&observation).status)
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(200));
    }
    assert_eq!(target.requests(), 100);
}

/// A target that would keep connections alive: it answers each request on a
/// connection and then waits for the next one. It records, per accepted
/// connection, the `Connection` header of each request it read.
async fn spawn_keep_alive_target() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let connection = {
                let mut seen = record.lock().unwrap();
                seen.push(Vec::new());
                seen.len() - 1
            };
            let record = record.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let mut header = String::from("(none)");
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(value) = line
                        .to_ascii_lowercase()
                        .strip_prefix("connection:")
                        .map(|v| v.trim().to_owned())
                    {
                        header = value;
                    }
                    if line.is_empty() {
                        record.lock().unwrap()[connection].push(header.clone());
                        header = String::from("(none)");
                        let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (address, seen)
}

/// Each probe is a new visitor: its own connection, and it tells the target
/// not to keep it open.
#[tokio::test]
async fn every_probe_opens_its_own_connection_and_asks_the_target_to_close_it() {
    let (address, seen) = spawn_keep_alive_target().await;
    let prober = prober();
    let spec = ProbeSpec::Http(http_spec(&format!("http://{address}/health")));
    for _ in 0..3 {
        let observation = prober.probe(&spec, Duration::from_secs(5)).await.unwrap();
        assert_eq!(http(&observation).status, 200);
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![vec!["close".to_owned()]; 3],
        "one request per connection, each with `Connection: close`"
    );
}

/// A monitor that sets its own `Connection` header keeps it.
#[tokio::test]
async fn a_connection_header_set_by_the_monitor_is_sent_as_is() {
    let (address, seen) = spawn_keep_alive_target().await;
    let mut spec = http_spec(&format!("http://{address}/health"));
    spec.headers
        .push(("Connection".to_owned(), Secret("keep-alive".to_owned())));
    let observation = prober()
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(http(&observation).status, 200);
    assert_eq!(seen.lock().unwrap()[0], vec!["keep-alive".to_owned()]);
}

/// A URL with a password in its userinfo, e.g. `http://ci:s3cret@127.0.0.1:PORT/health`.
fn with_password(url: &str) -> String {
    url.replacen("http://", "http://ci:s3cret@", 1)
}

#[tokio::test]
async fn a_url_password_is_sent_but_never_shown() {
    let target = spawn_target(OK_JSON).await;

    // reqwest moves the userinfo into an Authorization header, so `url`
    // (which conditions see and explanations show) does not carry it.
    let observation = prober()
        .probe(
            &ProbeSpec::Http(http_spec(&with_password(&target.url("/health")))),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(http(&observation).final_url, target.url("/health"));

    // Nor does a failure's reason: a timeout…
    let failure = prober()
        .probe(
            &ProbeSpec::Http(http_spec(&with_password(&target.url("/slow")))),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(
        failure.message,
        format!(
            "GET http://ci:***@{}/slow: timed out after 300ms",
            target.address
        )
    );
    // …or a failure to connect.
    let closed = closed_port().await;
    let failure = prober()
        .probe(
            &ProbeSpec::Http(http_spec(&format!("http://ci:s3cret@{closed}/health"))),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(
        failure.message,
        format!("GET http://ci:***@{closed}/health: connect: connection refused")
    );
}
