//! Where a probe may connect, and what went wrong when it could not: the
//! target policy applied to a host and to every address it resolves to, and
//! IO errors in words. The http, tcp and dns probes (and the command probe's
//! spawn errors) use this one module, so the policy is applied the same way
//! everywhere and no probe module imports another.

use std::net::{IpAddr, SocketAddr};

use watchkeeper_domain::observation::FailureKind;
use watchkeeper_domain::target_policy::{TargetPolicy, TargetRefused};

/// Why a host cannot be connected to: the policy refuses it (or every
/// address it resolves to), or it does not resolve.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unreachable {
    #[error(transparent)]
    Refused(#[from] TargetRefused),
    #[error("cannot resolve {host}: {reason}")]
    Unresolved { host: String, reason: String },
}

impl Unreachable {
    /// The failure kind a probe reports for it.
    pub(crate) fn kind(&self) -> FailureKind {
        match self {
            Unreachable::Refused(_) => FailureKind::Refused,
            Unreachable::Unresolved { .. } => FailureKind::Dns,
        }
    }
}

/// The addresses a probe may connect to, in resolver order.
#[derive(Debug)]
pub(crate) struct Addresses {
    pub(crate) allowed: Vec<SocketAddr>,
    /// They came from resolving a name (not from an IP literal), so a
    /// failure should say which address it was.
    pub(crate) resolved: bool,
}

/// The IP address a host is written as (`127.0.0.1`, `[::1]`, `::1`), if it
/// is one.
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Checks a host before anything is sent or looked up: an IP literal (which
/// is never resolved) against the address rules, a name against the
/// metadata host names. The addresses a name resolves to are checked by
/// [`allowed_addresses`].
pub(crate) fn check_host(policy: &TargetPolicy, host: &str) -> Result<(), TargetRefused> {
    match ip_literal(host) {
        Some(ip) => policy.check_ip(ip),
        None => policy.check_host(host),
    }
}

/// Checks an address given as an address (a DNS probe's `server`).
pub(crate) fn check_address(policy: &TargetPolicy, ip: IpAddr) -> Result<(), TargetRefused> {
    policy.check_ip(ip)
}

/// The addresses of `host:port` that the policy allows. An IP literal is
/// checked and used as it is; a name is checked, resolved with the system
/// resolver, and every address it resolves to is checked, so a DNS record
/// cannot lead a probe past the policy. When the policy allows none of them
/// the first refusal names both the host and the address
/// (`localhost (127.0.0.1) is refused …`).
pub(crate) async fn allowed_addresses(
    policy: &TargetPolicy,
    host: &str,
    port: u16,
) -> Result<Addresses, Unreachable> {
    if let Some(ip) = ip_literal(host) {
        policy.check_ip(ip)?;
        return Ok(Addresses {
            allowed: vec![SocketAddr::new(ip, port)],
            resolved: false,
        });
    }
    policy.check_host(host)?;
    let resolved = tokio::net::lookup_host((host, port))
        .await
        .map_err(|error| Unreachable::Unresolved {
            host: host.to_owned(),
            reason: io_reason(&error),
        })?;
    let allowed = filter_allowed(policy, host, resolved)?;
    Ok(Addresses {
        allowed,
        resolved: true,
    })
}

/// The resolved addresses the policy allows; if it allows none, the first
/// refusal or "no addresses".
fn filter_allowed(
    policy: &TargetPolicy,
    host: &str,
    resolved: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, Unreachable> {
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
        Some(refused) => Unreachable::Refused(refused),
        None => Unreachable::Unresolved {
            host: host.to_owned(),
            reason: "no addresses".to_owned(),
        },
    })
}

/// An IO error in words, without the `(os error N)` suffix:
/// `connection refused`, `connection reset by peer`.
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let known = match error.kind() {
        ErrorKind::ConnectionRefused => Some("connection refused"),
        ErrorKind::ConnectionReset => Some("connection reset by peer"),
        ErrorKind::ConnectionAborted => Some("connection aborted"),
        ErrorKind::TimedOut => Some("timed out"),
        ErrorKind::HostUnreachable => Some("host unreachable"),
        ErrorKind::NetworkUnreachable => Some("network unreachable"),
        ErrorKind::AddrNotAvailable => Some("address not available"),
        ErrorKind::BrokenPipe => Some("broken pipe"),
        ErrorKind::UnexpectedEof => Some("connection closed early"),
        _ => None,
    };
    match known {
        Some(reason) => reason.to_owned(),
        None => {
            let text = error.to_string();
            match text.find(" (os error ") {
                Some(cut) => text[..cut].to_owned(),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_without_os_codes() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(io_reason(&refused), "connection refused");
        let missing = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&missing), "No such file or directory");
    }

    #[test]
    fn a_refused_resolved_address_names_the_host_and_the_address() {
        let policy = TargetPolicy::default();
        let metadata: SocketAddr = "169.254.169.254:80".parse().unwrap();
        let error = filter_allowed(&policy, "sneaky.test", [metadata]).unwrap_err();
        assert_eq!(error.kind(), FailureKind::Refused);
        assert!(
            error
                .to_string()
                .starts_with("sneaky.test (169.254.169.254) is refused by the target policy"),
            "{error}"
        );
    }

    #[test]
    fn refused_addresses_are_dropped_and_allowed_ones_kept_in_order() {
        let policy = TargetPolicy::default();
        let resolved: Vec<SocketAddr> = ["169.254.169.254:80", "127.0.0.1:80", "[::1]:80"]
            .iter()
            .map(|address| address.parse().unwrap())
            .collect();
        let allowed = filter_allowed(&policy, "mixed.test", resolved.clone()).unwrap();
        assert_eq!(allowed, resolved[1..]);
    }

    #[test]
    fn a_name_without_addresses_is_unresolved() {
        let error = filter_allowed(&TargetPolicy::default(), "empty.test", []).unwrap_err();
        assert_eq!(error.kind(), FailureKind::Dns);
        assert_eq!(error.to_string(), "cannot resolve empty.test: no addresses");
    }

    #[tokio::test]
    async fn an_ip_literal_is_checked_without_a_lookup() {
        let policy = TargetPolicy::default();
        let addresses = allowed_addresses(&policy, "[::1]", 8080).await.unwrap();
        assert_eq!(addresses.allowed, ["[::1]:8080".parse().unwrap()]);
        assert!(!addresses.resolved);
        let refused = allowed_addresses(&policy, "169.254.169.254", 80)
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), FailureKind::Refused);
    }
}
