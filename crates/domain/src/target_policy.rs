//! Which addresses a probe may connect to. Link-local ranges and cloud
//! metadata endpoints are refused by default (a monitor must not become a way
//! to read instance credentials); loopback is allowed by default because
//! tests and sidecars need it, and can be denied. The runner applies this to
//! the *resolved* address at connect time, so DNS cannot be used to sneak
//! past it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// AWS, Google Cloud and Azure serve instance metadata here.
const LINK_LOCAL_METADATA: IpAddr = IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254));
/// AWS's IPv6 metadata endpoint.
const AWS_IPV6_METADATA: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254));

/// Host names of cloud metadata services, refused before any lookup, with
/// the addresses each one stands for: a name is let through only when
/// `allow` covers one of its addresses (its resolved address is still
/// checked at connect time).
const METADATA_HOSTS: &[(&str, &[IpAddr])] = &[
    ("metadata", &[LINK_LOCAL_METADATA]),
    ("metadata.google.internal", &[LINK_LOCAL_METADATA]),
    ("metadata.goog", &[LINK_LOCAL_METADATA]),
    ("metadata.azure.com", &[LINK_LOCAL_METADATA]),
    ("instance-data", &[LINK_LOCAL_METADATA, AWS_IPV6_METADATA]),
    (
        "instance-data.ec2.internal",
        &[LINK_LOCAL_METADATA, AWS_IPV6_METADATA],
    ),
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
    /// Refuses a cloud metadata host name unless `allow` covers the
    /// metadata address that name stands for: allowing some other network
    /// must not open the metadata service.
    pub fn check_host(&self, host: &str) -> Result<(), TargetRefused> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let Some((_, addresses)) = METADATA_HOSTS.iter().find(|(name, _)| *name == host) else {
            return Ok(());
        };
        let allowed = addresses
            .iter()
            .any(|address| self.allow.iter().any(|net| net.contains(address)));
        if allowed {
            Ok(())
        } else {
            Err(TargetRefused {
                target: host,
                why: "cloud metadata host name",
            })
        }
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
                if IpAddr::V6(v6) == AWS_IPV6_METADATA {
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

    fn allowing(networks: &[&str]) -> TargetPolicy {
        TargetPolicy {
            allow_loopback: true,
            allow: networks.iter().map(|net| net.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn an_unrelated_allowed_network_keeps_metadata_names_refused() {
        let policy = allowing(&["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        for host in [
            "metadata",
            "metadata.google.internal",
            "metadata.goog",
            "metadata.azure.com",
            "instance-data",
            "instance-data.ec2.internal.",
        ] {
            let refused = policy.check_host(host).unwrap_err();
            assert_eq!(refused.why, "cloud metadata host name", "{host}");
        }
        assert_eq!(policy.check_host("api.example.com"), Ok(()));
    }

    #[test]
    fn allowing_the_metadata_address_lets_its_names_through() {
        let policy = allowing(&["169.254.169.254/32"]);
        for host in [
            "metadata",
            "Metadata.Google.Internal.",
            "metadata.goog",
            "metadata.azure.com",
            "instance-data",
            "instance-data.ec2.internal",
        ] {
            assert_eq!(policy.check_host(host), Ok(()), "{host}");
        }
        // The whole link-local range covers it too.
        assert_eq!(
            allowing(&["169.254.0.0/16"]).check_host("metadata.google.internal"),
            Ok(())
        );
    }

    #[test]
    fn the_aws_ipv6_endpoint_lifts_only_the_aws_names() {
        let policy = allowing(&["fd00:ec2::254/128"]);
        assert_eq!(policy.check_host("instance-data"), Ok(()));
        assert_eq!(policy.check_host("instance-data.ec2.internal"), Ok(()));
        assert!(policy.check_host("metadata.google.internal").is_err());
        assert!(policy.check_host("metadata.azure.com").is_err());
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
