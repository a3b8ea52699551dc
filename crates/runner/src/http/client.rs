//! The shared `reqwest` clients, one per distinct (TLS verification,
//! redirect policy) pair, each wired to the target policy: a resolver that
//! drops refused addresses and a redirect policy that checks every hop.
//!
//! Every probe opens its own connection, like a new visitor would: name
//! resolution, TCP connect and TLS handshake are part of what is measured,
//! and a target whose listener is gone (or whose name now points elsewhere)
//! is seen at the next probe, not hidden behind a pooled connection. What is
//! shared is what is safe to share: the TLS configuration and root store,
//! and the TLS session cache, so a handshake may resume a session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use url::{Host, Url};
use watchkeeper_domain::monitor::{DEFAULT_MAX_REDIRECTS, RedactedUrl, RedirectPolicy};
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

use super::resolver::PolicyResolver;

/// What makes two clients different. Everything else is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey {
    verify_tls: bool,
    /// `None`: redirects are not followed; `Some(n)`: at most `n` hops.
    max_hops: Option<u8>,
}

pub(crate) struct HttpClients {
    policy: Arc<TargetPolicy>,
    /// Built on first use and kept, so the TLS configuration (and its
    /// session cache) is built once. The lock is only held to look up or insert, never across an
    /// `.await`.
    clients: Mutex<HashMap<ClientKey, reqwest::Client>>,
}

impl HttpClients {
    /// Builds the most common client (verify on, default redirects) right
    /// away, so a TLS backend that cannot start fails here, once.
    pub(crate) fn new(policy: Arc<TargetPolicy>) -> Result<Self, reqwest::Error> {
        let clients = Self {
            policy,
            clients: Mutex::new(HashMap::new()),
        };
        clients.client(
            true,
            RedirectPolicy::Follow {
                max_hops: DEFAULT_MAX_REDIRECTS,
            },
        )?;
        Ok(clients)
    }

    pub(crate) fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The shared client for these settings (a cheap handle).
    pub(crate) fn client(
        &self,
        verify_tls: bool,
        redirects: RedirectPolicy,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let max_hops = match redirects {
            RedirectPolicy::None => None,
            RedirectPolicy::Follow { max_hops } => Some(max_hops),
        };
        let key = ClientKey {
            verify_tls,
            max_hops,
        };
        // A poisoned map still holds valid clients.
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = build(key, self.policy.clone())?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

fn build(key: ClientKey, policy: Arc<TargetPolicy>) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(concat!("watchkeeper/", env!("CARGO_PKG_VERSION")))
        // A proxy would resolve and connect on our behalf, out of the
        // target policy's reach.
        .no_proxy()
        // A new connection per probe (see the module docs).
        .pool_max_idle_per_host(0)
        .tls_danger_accept_invalid_certs(!key.verify_tls)
        .tls_info(true)
        .redirect(redirect_policy(key.max_hops, policy.clone()))
        .dns_resolver(PolicyResolver::new(policy))
        .build()
}

fn redirect_policy(max_hops: Option<u8>, policy: Arc<TargetPolicy>) -> reqwest::redirect::Policy {
    match max_hops {
        None => reqwest::redirect::Policy::none(),
        Some(max_hops) => reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` starts with the original URL, so it holds one more
            // URL than the hops followed so far.
            if attempt.previous().len() > usize::from(max_hops) {
                return attempt.error(TooManyRedirects { max_hops });
            }
            if let Err(refused) = check_url(&policy, attempt.url()) {
                let to = RedactedUrl(attempt.url()).to_string();
                return attempt.error(RedirectRefused { to, refused });
            }
            attempt.follow()
        }),
    }
}

/// Checks a URL's host before anything is sent: names against the metadata
/// host list, IP literals (which are never resolved) against the address
/// rules. Resolved addresses are checked later by [`PolicyResolver`].
pub(crate) fn check_url(policy: &TargetPolicy, url: &Url) -> Result<(), TargetRefused> {
    match url.host() {
        Some(Host::Domain(name)) => policy.check_host(name),
        Some(Host::Ipv4(ip)) => policy.check_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => policy.check_ip(IpAddr::V6(ip)),
        None => Ok(()),
    }
}

/// A redirect chain longer than the monitor allows.
#[derive(Debug, thiserror::Error)]
#[error("too many redirects (more than {max_hops})")]
pub(crate) struct TooManyRedirects {
    pub(crate) max_hops: u8,
}

/// A redirect to a target the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("redirect to {to}: {refused}")]
pub(crate) struct RedirectRefused {
    to: String,
    refused: TargetRefused,
}
