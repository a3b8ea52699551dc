//! The shared `reqwest` clients, one per TLS verification setting, each
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

use url::Url;
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

use super::resolver::PolicyResolver;
use crate::net;

pub(crate) struct HttpClients {
    policy: Arc<TargetPolicy>,
    /// One client per `verify_tls`, built on first use and kept, so the TLS
    /// configuration (and its session cache) is built once. The lock is
    /// only held to look up or insert, never across an `.await`.
    clients: Mutex<HashMap<bool, reqwest::Client>>,
}

impl HttpClients {
    /// Builds the most common client (verification on) right away, so a
    /// TLS backend that cannot start fails here, once.
    pub(crate) fn new(policy: Arc<TargetPolicy>) -> Result<Self, reqwest::Error> {
        let clients = Self {
            policy,
            clients: Mutex::new(HashMap::new()),
        };
        clients.client(true)?;
        Ok(clients)
    }

    pub(crate) fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The shared client for this TLS setting (a cheap handle).
    pub(crate) fn client(&self, verify_tls: bool) -> Result<reqwest::Client, reqwest::Error> {
        // A poisoned map still holds valid clients.
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(&verify_tls) {
            return Ok(client.clone());
        }
        let client = build(verify_tls, self.policy.clone())?;
        clients.insert(verify_tls, client.clone());
        Ok(client)
    }
}

fn build(verify_tls: bool, policy: Arc<TargetPolicy>) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("watchkeeper/", env!("CARGO_PKG_VERSION")))
        // A proxy would resolve and connect on our behalf, out of the
        // target policy's reach.
        .no_proxy()
        // A new connection per probe (see the module docs).
        .pool_max_idle_per_host(0)
        .tls_danger_accept_invalid_certs(!verify_tls)
        .tls_info(true)
        // Followed by `redirect`, hop by hop.
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(PolicyResolver::new(policy))
        .build()
}

/// Checks a URL's host before anything is sent (`net::check_host`):
/// resolved addresses are checked later by [`PolicyResolver`].
pub(crate) fn check_url(policy: &TargetPolicy, url: &Url) -> Result<(), TargetRefused> {
    match url.host_str() {
        Some(host) => net::check_host(policy, host),
        None => Ok(()),
    }
}
