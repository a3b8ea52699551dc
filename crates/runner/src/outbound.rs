//! Requests Watchkeeper sends that are not probes: notifications to
//! webhooks and chat services. They go through the same target policy as
//! probes (the URL's host checked before anything is sent, every resolved
//! address checked by the resolver the client connects through), never
//! through a proxy, and never follow a redirect (a notifier URL that
//! redirects is a misconfiguration, and following it would send the
//! message, and its signature, somewhere else). Errors come back in the
//! same words as a probe's (`POST https://hooks.example/…: connect:
//! connection refused`).

use std::sync::Arc;
use std::time::Duration;

use url::Url;
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

use crate::http::{ClientError, check_url, describe_failure, resolver::PolicyResolver, tls};

/// A client for outbound messages: TLS verified against the system's trust
/// store (and `extra_roots`), connections kept alive between messages,
/// each request bounded by `timeout` from connect to the last body byte.
pub fn outbound_client(
    policy: Arc<TargetPolicy>,
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
    timeout: Duration,
) -> Result<reqwest::Client, ClientError> {
    let tls = tls::client_config(true, extra_roots).map_err(ClientError::Tls)?;
    reqwest::Client::builder()
        .user_agent(concat!("watchkeeper/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .dns_resolver(PolicyResolver::new(policy))
        .build()
        .map_err(ClientError::Http)
}

/// Checks an outbound URL's host before anything is sent (an IP literal
/// never reaches the resolver).
pub fn check_outbound_url(policy: &TargetPolicy, url: &Url) -> Result<(), TargetRefused> {
    check_url(policy, url)
}

/// A failed request in words, after `target` (`POST https://host/…`,
/// password already hidden).
pub fn describe_outbound_error(target: &str, error: reqwest::Error) -> String {
    describe_failure(target, error).message
}

/// A client for Watchkeeper's own CLI talking to a Watchkeeper server the
/// operator names (`--server`): TLS verified against the system's trust
/// store, no proxy, no redirect, `timeout` per request. No target policy:
/// the operator chose the address.
pub fn api_client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    let tls = tls::client_config(true, &[]).map_err(ClientError::Tls)?;
    reqwest::Client::builder()
        .user_agent(concat!("watchkeeper/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(ClientError::Http)
}
