//! https targets with a self-signed certificate made at test time: refused
//! when verification is on, observed with its expiry when it is off.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use watchkeeper_domain::ManualClock;
use watchkeeper_domain::monitor::ProbeSpec;
use watchkeeper_domain::observation::{FailureKind, ObservationDetail};
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_runner::Prober;

use crate::support::{http_spec, prober};

/// A self-signed certificate for `localhost`, valid until `not_after`.
fn certificate(not_after: (i32, u8, u8)) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let cert = params.self_signed(&key).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key)
}

/// Serves `ok` over TLS to every connection, speaking just enough HTTP/1.1.
async fn spawn_tls(not_after: (i32, u8, u8)) -> std::net::SocketAddr {
    let (cert, key) = certificate(not_after);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n")
                    && request.len() < 65536
                {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    address
}

#[tokio::test]
async fn a_self_signed_certificate_fails_verification() {
    let address = spawn_tls((2035, 1, 1)).await;
    let url = format!("https://localhost:{}/health", address.port());
    let failure = prober()
        .probe(&ProbeSpec::Http(http_spec(&url)), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Tls, "{failure:?}");
    assert_eq!(
        failure.message,
        format!("GET {url}: tls: certificate is not trusted (unknown issuer; self-signed?)")
    );
}

#[tokio::test]
async fn with_verification_off_the_certificate_expiry_is_observed() {
    let address = spawn_tls((2030, 1, 31)).await;
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
    let address = spawn_tls((2021, 1, 1)).await;
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
