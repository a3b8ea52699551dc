//! The shared `reqwest` clients, one per TLS verification setting (its
//! rustls configuration made by `tls`), each
//! wired to the target policy through a resolver that drops refused
//! addresses. They never follow a redirect themselves: `redirect` does, hop
//! by hop, so it can check each hop and decide which headers go along.
//!
//! Every probe opens its own connection, like a new visitor would: name
//! resolution, TCP connect and TLS handshake are part of what is measured,
//! and a target whose listener is gone (or whose name now points elsewhere)
//! is seen at the next probe, not hidden behind a pooled connection. What is
//! shared is what is safe to share: the TLS configuration and root store,
//! and the TLS session cache, so a handshake may resume a session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::pki_types::CertificateDer;
use url::Url;
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

use super::resolver::PolicyResolver;
use super::tls;
use crate::net;

/// Why a client could not be built: Watchkeeper's own fault (its TLS
/// backend or the system's trust store), not a target's.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    #[error("{0}")]
    Http(#[source] reqwest::Error),
}

pub(crate) struct HttpClients {
    policy: Arc<TargetPolicy>,
    /// Trusted besides the system's trust store (empty but in tests, until
    /// a private CA can be configured).
    extra_roots: Vec<CertificateDer<'static>>,
    /// One client per `verify_tls`, built on first use and kept, so the TLS
    /// configuration (and its session cache) is built once. The lock is
    /// only held to look up or insert, never across an `.await`.
    clients: Mutex<HashMap<bool, reqwest::Client>>,
}

impl HttpClients {
    /// Builds the most common client (verification on) right away, so a
    /// TLS backend that cannot start fails here, once.
    pub(crate) fn new(
        policy: Arc<TargetPolicy>,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Result<Self, ClientError> {
        let clients = Self {
            policy,
            extra_roots,
            clients: Mutex::new(HashMap::new()),
        };
        clients.client(true)?;
        Ok(clients)
    }

    pub(crate) fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The shared client for this TLS setting (a cheap handle).
    pub(crate) fn client(&self, verify_tls: bool) -> Result<reqwest::Client, ClientError> {
        // A poisoned map still holds valid clients.
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(&verify_tls) {
            return Ok(client.clone());
        }
        let client = build(verify_tls, &self.extra_roots, self.policy.clone())?;
        clients.insert(verify_tls, client.clone());
        Ok(client)
    }
}

fn build(
    verify_tls: bool,
    extra_roots: &[CertificateDer<'static>],
    policy: Arc<TargetPolicy>,
) -> Result<reqwest::Client, ClientError> {
    let tls = tls::client_config(verify_tls, extra_roots).map_err(ClientError::Tls)?;
    reqwest::Client::builder()
        .user_agent(concat!("watchkeeper/", env!("CARGO_PKG_VERSION")))
        // A proxy would resolve and connect on our behalf, out of the
        // target policy's reach.
        .no_proxy()
        // A new connection per probe (see the module docs).
        .pool_max_idle_per_host(0)
        // Verification (or not) and the crypto provider are in `tls`.
        .tls_backend_preconfigured(tls)
        .tls_info(true)
        // Followed by `redirect`, hop by hop.
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(PolicyResolver::new(policy))
        .build()
        .map_err(ClientError::Http)
}

/// Checks a URL's host before anything is sent (`net::check_host`):
/// resolved addresses are checked later by [`PolicyResolver`].
pub(crate) fn check_url(policy: &TargetPolicy, url: &Url) -> Result<(), TargetRefused> {
    match url.host_str() {
        Some(host) => net::check_host(policy, host),
        None => Ok(()),
    }
}
