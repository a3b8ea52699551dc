//! https targets with certificates made at test time (rcgen): each way a
//! certificate can be wrong fails with the reason docs/probes.md promises;
//! with verification off the certificate is still observed, its expiry
//! included. The prober trusts the test CA (testkit's `TestCa`) through
//! `with_extra_roots`; the binary's tests trust it through `SSL_CERT_FILE`.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use watchkeeper_domain::ManualClock;
use watchkeeper_domain::monitor::ProbeSpec;
use watchkeeper_domain::observation::{FailureKind, ObservationDetail, ProbeFailure};
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_runner::Prober;
use watchkeeper_testkit::{Served, spawn_tls_target};

use crate::support::{http_spec, prober, start_time};

/// Leaf parameters: for `names`, a server certificate valid 2020–2035.
fn leaf_params(names: &[&str]) -> CertificateParams {
    watchkeeper_testkit::leaf_params(names).unwrap()
}

/// A test certificate authority, trusted by [`trusting_prober`].
struct TestCa(watchkeeper_testkit::TestCa);

impl TestCa {
    fn new() -> Self {
        TestCa(watchkeeper_testkit::TestCa::new("Watchkeeper Test CA").unwrap())
    }

    /// A leaf signed by this CA, served with the CA's certificate after it.
    fn issue(&self, params: CertificateParams) -> Served {
        self.0.issue(params).unwrap()
    }
}

/// A prober on the test clock that trusts `ca` besides the system's roots.
fn trusting_prober(ca: &TestCa) -> Prober {
    Prober::with_extra_roots(
        TargetPolicy::default(),
        Arc::new(ManualClock::new(start_time())),
        vec![ca.0.der().to_vec()],
    )
    .unwrap()
}

fn self_signed(not_after: (i32, u8, u8)) -> Served {
    Served::self_signed_localhost(not_after).unwrap()
}

async fn spawn_tls(served: Served) -> std::net::SocketAddr {
    spawn_tls_target(served).await.unwrap()
}

/// Probes `https://localhost:PORT/health` and expects a failure.
async fn failure(prober: &Prober, address: std::net::SocketAddr) -> (String, ProbeFailure) {
    let url = format!("https://localhost:{}/health", address.port());
    let failure = prober
        .probe(&ProbeSpec::Http(http_spec(&url)), Duration::from_secs(5))
        .await
        .unwrap_err();
    (url, failure)
}

/// The failure is a `tls` one whose message is `GET URL: tls: REASON`.
async fn assert_tls_reason(prober: &Prober, served: Served, reason: &str) {
    let address = spawn_tls(served).await;
    let (url, failure) = failure(prober, address).await;
    assert_eq!(failure.kind, FailureKind::Tls, "{failure:?}");
    assert_eq!(failure.message, format!("GET {url}: tls: {reason}"));
}

#[tokio::test]
async fn a_self_signed_certificate_fails_verification() {
    assert_tls_reason(
        &prober(),
        self_signed((2035, 1, 1)),
        "certificate is not trusted (unknown issuer; self-signed?)",
    )
    .await;
}

/// The control for the tests below: the test CA's certificates are good.
#[tokio::test]
async fn a_certificate_from_the_trusted_test_ca_is_accepted() {
    let ca = TestCa::new();
    let address = spawn_tls(ca.issue(leaf_params(&["localhost"]))).await;
    let url = format!("https://localhost:{}/health", address.port());
    let observation = trusting_prober(&ca)
        .probe(&ProbeSpec::Http(http_spec(&url)), Duration::from_secs(5))
        .await
        .unwrap();
    let ObservationDetail::Http(http) = observation.detail else {
        panic!("not http");
    };
    assert_eq!(http.status, 200);
}

/// The same CA's certificate, to a prober that was not given the CA (and
/// whose system trust store does not hold it): not trusted, in words.
#[tokio::test]
async fn a_certificate_from_a_ca_the_prober_was_not_given_is_not_trusted() {
    let ca = TestCa::new();
    assert_tls_reason(
        &prober(),
        ca.issue(leaf_params(&["localhost"])),
        "certificate is not trusted (unknown issuer; self-signed?)",
    )
    .await;
}

#[tokio::test]
async fn an_expired_certificate_fails_with_its_end_date() {
    let ca = TestCa::new();
    let mut params = leaf_params(&["localhost"]);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    assert_tls_reason(
        &trusting_prober(&ca),
        ca.issue(params),
        "certificate has expired (not valid after 2021-01-01T00:00:00Z)",
    )
    .await;
}

#[tokio::test]
async fn a_certificate_not_valid_yet_fails_with_its_start_date() {
    let ca = TestCa::new();
    let mut params = leaf_params(&["localhost"]);
    params.not_before = rcgen::date_time_ymd(2099, 1, 1);
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    assert_tls_reason(
        &trusting_prober(&ca),
        ca.issue(params),
        "certificate is not valid yet (not valid before 2099-01-01T00:00:00Z)",
    )
    .await;
}

#[tokio::test]
async fn a_certificate_for_another_host_name_fails_and_says_which() {
    let ca = TestCa::new();
    assert_tls_reason(
        &trusting_prober(&ca),
        ca.issue(leaf_params(&["other.test"])),
        "certificate is not valid for this host name (it is for other.test)",
    )
    .await;
}

#[tokio::test]
async fn a_ca_certificate_served_as_the_server_certificate_fails() {
    let ca = TestCa::new();
    let mut params = leaf_params(&["localhost"]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    assert_tls_reason(
        &trusting_prober(&ca),
        ca.issue(params),
        "certificate is a CA certificate, not a server's (CA used as end entity)",
    )
    .await;
}

/// The leaf names the trusted CA as its issuer, but another key signed it.
#[tokio::test]
async fn a_certificate_signed_by_another_key_fails_with_a_bad_signature() {
    let trusted = TestCa::new();
    let impostor = TestCa::new();
    assert_tls_reason(
        &trusting_prober(&trusted),
        impostor.issue(leaf_params(&["localhost"])),
        "certificate has a bad signature (it was not signed by the issuer it names)",
    )
    .await;
}

#[tokio::test]
async fn a_certificate_only_for_clients_fails() {
    let ca = TestCa::new();
    let mut params = leaf_params(&["localhost"]);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    assert_tls_reason(
        &trusting_prober(&ca),
        ca.issue(params),
        "certificate is not meant for a TLS server (its extended key usage)",
    )
    .await;
}

/// A plain-HTTP server behind an https URL is a `tls` failure that says so.
#[tokio::test]
async fn a_plain_http_server_on_an_https_url_is_named() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer).await;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let (url, failure) = failure(&prober(), address).await;
    assert_eq!(failure.kind, FailureKind::Tls, "{failure:?}");
    assert!(
        failure.message.starts_with(&format!(
            "GET {url}: tls: the server's answer is not valid TLS (is it plain HTTP, or another protocol?)"
        )),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn with_verification_off_the_certificate_expiry_is_observed() {
    let address = spawn_tls(self_signed((2030, 1, 31))).await;
    let now: Timestamp = "2030-01-01T00:00:00Z".parse().unwrap();
    let prober = Prober::new(TargetPolicy::default(), Arc::new(ManualClock::new(now))).unwrap();
    let mut spec = http_spec(&format!("https://localhost:{}/health", address.port()));
    spec.verify_tls = false;
    let observation = prober
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    let ObservationDetail::Http(http) = observation.detail else {
        panic!("not http");
    };
    assert_eq!(http.status, 200);
    assert_eq!(http.body, b"ok");
    assert_eq!(
        http.cert_expires_in,
        Some(SignedDuration::from_hours(30 * 24))
    );
}

#[tokio::test]
async fn an_expired_certificate_has_a_negative_expiry() {
    let address = spawn_tls(self_signed((2021, 1, 1))).await;
    let now: Timestamp = "2021-01-02T00:00:00Z".parse().unwrap();
    let prober = Prober::new(TargetPolicy::default(), Arc::new(ManualClock::new(now))).unwrap();
    let mut spec = http_spec(&format!("https://localhost:{}/health", address.port()));
    spec.verify_tls = false;
    let observation = prober
        .probe(&ProbeSpec::Http(spec), Duration::from_secs(5))
        .await
        .unwrap();
    let ObservationDetail::Http(http) = observation.detail else {
        panic!("not http");
    };
    assert_eq!(http.cert_expires_in, Some(SignedDuration::from_hours(-24)));
}
