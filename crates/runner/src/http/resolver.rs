//! The HTTP clients' DNS resolver: resolves and drops every address the
//! target policy refuses (`net::allowed_addresses`), so the policy applies
//! to the address actually connected to.

use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::net;

pub(crate) struct PolicyResolver {
    policy: Arc<TargetPolicy>,
}

impl PolicyResolver {
    pub(crate) fn new(policy: Arc<TargetPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The error travels boxed through reqwest; `failure` finds it
            // again among the causes as a `net::Unreachable`.
            let addresses = net::allowed_addresses(&policy, &host, 0).await?;
            Ok(Box::new(addresses.allowed.into_iter()) as Addrs)
        })
    }
}
