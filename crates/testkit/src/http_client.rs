//! reqwest clients for tests that speak plain HTTP to loopback: no proxy,
//! and a TLS configuration of their own (ring, no roots). reqwest is built
//! without a default crypto provider — the runner hands it its own — so a
//! bare `reqwest::Client::builder().build()` would panic.

use std::sync::Arc;

/// A client builder for plain-HTTP requests to loopback; add timeouts and
/// pool settings as the test needs, then `build()`.
pub fn loopback_client_builder() -> reqwest::ClientBuilder {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map(|builder| {
        builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth()
    });
    let builder = reqwest::Client::builder().no_proxy();
    match tls {
        Ok(tls) => builder.tls_backend_preconfigured(tls),
        // Cannot happen with ring's defaults; building the client reports it.
        Err(_) => builder.tls_backend_preconfigured(()),
    }
}
