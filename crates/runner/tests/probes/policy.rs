//! The target policy as the probes apply it: IP literals before sending,
//! resolved addresses at connect time, every redirect hop, tcp targets.

use std::time::{Duration, Instant};

use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};
use watchkeeper_domain::observation::FailureKind;
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::support::{http_spec, prober, prober_with, spawn_target};

fn no_loopback() -> TargetPolicy {
    TargetPolicy {
        allow_loopback: false,
        allow: Vec::new(),
    }
}

#[tokio::test]
async fn the_metadata_address_is_refused_before_any_traffic() {
    let spec = ProbeSpec::Http(http_spec("http://169.254.169.254/latest/meta-data/"));
    let started = Instant::now();
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    // Refused at once: no connection attempt, which would take until the
    // timeout on a machine without a metadata service.
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(failure.kind, FailureKind::Refused);
    assert_eq!(
        failure.message,
        "GET http://169.254.169.254/latest/meta-data/: 169.254.169.254 is refused by the target policy: \
         link-local address (169.254.0.0/16, cloud metadata) (allow it with [probes] allow = [\"…\"])"
    );
}

#[tokio::test]
async fn a_metadata_host_name_is_refused() {
    let spec = ProbeSpec::Http(http_spec(
        "http://metadata.google.internal/computeMetadata/v1/",
    ));
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused);
    assert!(
        failure.message.contains("cloud metadata host name"),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn loopback_can_be_denied_for_literals_and_resolved_names() {
    let target = spawn_target("{}").await;
    let prober = prober_with(no_loopback());

    let literal = ProbeSpec::Http(http_spec(&target.url("/health")));
    let failure = prober
        .probe(&literal, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused, "{failure:?}");
    assert!(
        failure.message.contains("127.0.0.1 is refused"),
        "{}",
        failure.message
    );

    let by_name = format!("http://localhost:{}/health", target.address.port());
    let failure = prober
        .probe(
            &ProbeSpec::Http(http_spec(&by_name)),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused, "{failure:?}");
    assert!(
        failure.message.contains("localhost (127.0.0.1) is refused")
            || failure.message.contains("localhost (::1) is refused"),
        "{}",
        failure.message
    );
    assert_eq!(
        target.requests(),
        0,
        "no request may reach a refused target"
    );
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused() {
    let target = spawn_target("{}").await;
    let spec = ProbeSpec::Http(http_spec(&target.url("/redirect-to-metadata")));
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused, "{failure:?}");
    assert!(
        failure.message.contains(
            "redirect to http://169.254.169.254/latest/meta-data/: 169.254.169.254 is refused"
        ),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn tcp_targets_obey_the_policy_too() {
    let spec = ProbeSpec::Tcp(TcpSpec {
        host: "localhost".to_owned(),
        port: 6379,
        send: None,
        expect: None,
    });
    let failure = prober_with(no_loopback())
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused, "{failure:?}");
    let spec = ProbeSpec::Tcp(TcpSpec {
        host: "169.254.169.254".to_owned(),
        port: 80,
        send: None,
        expect: None,
    });
    let failure = prober()
        .probe(&spec, Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Refused);
}
