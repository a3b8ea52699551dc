//! Which addresses a probe may connect to. Link-local ranges and cloud
//! metadata endpoints are refused by default (a monitor must not become a way
//! to read instance credentials); loopback is allowed by default because
//! tests and sidecars need it, and can be denied. The runner applies this to
//! the *resolved* address at connect time, so DNS cannot be used to sneak
//! past it.

use std::net::IpAddr;

use ipnet::IpNet;

/// Host names of cloud metadata services, refused before any lookup.
const METADATA_HOSTS: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.com",
    "instance-data",
    "instance-data.ec2.internal",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_loopback: bool,
    /// Networks allowed even though they would be refused otherwise.
    pub allow: Vec<IpNet>,
}

impl Default for TargetPolicy {
    fn default() -> Self {
        Self {
            allow_loopback: true,
            allow: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{target} is refused by the target policy: {why} (allow it with [probes] allow = [\"…\"])")]
pub struct TargetRefused {
    pub target: String,
    pub why: &'static str,
}

impl TargetPolicy {
    pub fn check_host(&self, host: &str) -> Result<(), TargetRefused> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if METADATA_HOSTS.contains(&host.as_str()) && self.allow.is_empty() {
            return Err(TargetRefused {
                target: host,
                why: "cloud metadata host name",
            });
        }
        Ok(())
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetRefused> {
        let ip = canonical(ip);
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        let refused = |why| {
            Err(TargetRefused {
                target: ip.to_string(),
                why,
            })
        };
        match ip {
            IpAddr::V4(v4) => {
                if v4.is_link_local() {
                    return refused("link-local address (169.254.0.0/16, cloud metadata)");
                }
                // Alibaba Cloud's metadata service.
                if v4.octets() == [100, 100, 100, 200] {
                    return refused("cloud metadata address");
                }
            }
            IpAddr::V6(v6) => {
                if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                    return refused("link-local address (fe80::/10)");
                }
                // AWS's IPv6 metadata endpoint, fd00:ec2::254.
                if v6.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
                    return refused("cloud metadata address");
                }
            }
        }
        if !self.allow_loopback && (ip.is_loopback() || ip.is_unspecified()) {
            return refused("loopback address, denied by [probes] allow_loopback = false");
        }
        Ok(())
    }
}

/// Treats `::ffff:a.b.c.d` as `a.b.c.d`, so an IPv4-mapped address cannot
/// slip past the IPv4 rules.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn refuses_link_local_and_metadata_by_default() {
        let policy = TargetPolicy::default();
        for refused in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "100.100.100.200",
        ] {
            assert!(
                policy.check_ip(ip(refused)).is_err(),
                "{refused} should be refused"
            );
        }
        assert!(policy.check_host("metadata.google.internal").is_err());
        assert!(policy.check_host("Metadata.Google.Internal.").is_err());
    }

    #[test]
    fn allows_loopback_and_ordinary_addresses_by_default() {
        let policy = TargetPolicy::default();
        for allowed in ["127.0.0.1", "::1", "192.0.2.10", "2001:db8::1"] {
            assert_eq!(policy.check_ip(ip(allowed)), Ok(()), "{allowed}");
        }
        assert_eq!(policy.check_host("api.example.com"), Ok(()));
    }

    #[test]
    fn loopback_can_be_denied_and_link_local_allowed() {
        let policy = TargetPolicy {
            allow_loopback: false,
            allow: vec!["169.254.169.254/32".parse().unwrap()],
        };
        assert!(policy.check_ip(ip("127.0.0.1")).is_err());
        assert!(policy.check_ip(ip("::ffff:127.0.0.1")).is_err());
        assert_eq!(policy.check_ip(ip("169.254.169.254")), Ok(()));
        assert!(policy.check_ip(ip("169.254.0.1")).is_err());
    }

    #[test]
    fn refusal_says_what_and_how_to_allow() {
        let error = TargetPolicy::default()
            .check_ip(ip("169.254.169.254"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "169.254.169.254 is refused by the target policy: link-local address (169.254.0.0/16, cloud metadata) (allow it with [probes] allow = [\"…\"])"
        );
    }
}
