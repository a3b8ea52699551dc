//! The HTTP clients' DNS resolver: resolves with the system resolver, then
//! drops every address the target policy refuses, so the policy applies to
//! the address actually connected to.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

pub(crate) struct PolicyResolver {
    policy: Arc<TargetPolicy>,
}

impl PolicyResolver {
    pub(crate) fn new(policy: Arc<TargetPolicy>) -> Self {
        Self { policy }
    }
}

/// A name that could not be resolved.
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve {host}: {reason}")]
pub(crate) struct ResolveFailure {
    host: String,
    reason: String,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            policy.check_host(&host)?;
            let resolved = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|error| ResolveFailure {
                    host: host.clone(),
                    reason: crate::tcp::io_reason(&error),
                })?;
            let allowed = allowed_addresses(&policy, &host, resolved)?;
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The resolved addresses the policy allows; if it allows none, the first
/// refusal (naming the host and the address) or "no addresses".
pub(crate) fn allowed_addresses(
    policy: &TargetPolicy,
    host: &str,
    resolved: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let mut allowed = Vec::new();
    let mut first_refusal: Option<TargetRefused> = None;
    for address in resolved {
        match policy.check_ip(address.ip()) {
            Ok(()) => allowed.push(address),
            Err(refused) => {
                first_refusal.get_or_insert(TargetRefused {
                    target: format!("{host} ({})", refused.target),
                    why: refused.why,
                });
            }
        }
    }
    if !allowed.is_empty() {
        return Ok(allowed);
    }
    Err(match first_refusal {
        Some(refused) => Box::new(refused),
        None => Box::new(ResolveFailure {
            host: host.to_owned(),
            reason: "no addresses".to_owned(),
        }),
    })
}
