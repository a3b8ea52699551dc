//! The tcp probe's table: a `HOST:PORT` address, what to send and expect.

use std::net::Ipv6Addr;

use watchkeeper_domain::monitor::TcpSpec;

use super::{Problems, required};
use crate::raw::RawTcp;
use crate::source::Loc;

/// `host:port`, with IPv6 hosts in brackets (`[::1]:80`). The host comes
/// back without brackets.
fn host_port(raw: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = raw.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            format!("invalid address {raw:?}: missing `]` after the IPv6 address")
        })?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!(
                "invalid address {raw:?}: {host:?} is not an IPv6 address"
            ));
        }
        let port = after.strip_prefix(':').ok_or_else(|| {
            format!("invalid address {raw:?}: expected HOST:PORT, like \"[::1]:80\"")
        })?;
        (host, port)
    } else {
        let (host, port) = raw.rsplit_once(':').ok_or_else(|| {
            format!("invalid address {raw:?}: expected HOST:PORT, like \"127.0.0.1:5432\"")
        })?;
        if host.contains(':') {
            return Err(format!(
                "invalid address {raw:?}: write IPv6 addresses in brackets, like \"[::1]:80\""
            ));
        }
        if host.is_empty() || host.chars().any(char::is_whitespace) {
            return Err(format!(
                "invalid address {raw:?}: expected HOST:PORT, like \"127.0.0.1:5432\""
            ));
        }
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(port) if port > 0 => Ok((host.to_owned(), port)),
        _ => Err(format!(
            "invalid address {raw:?}: the port must be a number from 1 to 65535"
        )),
    }
}

pub(super) fn validate_tcp(raw: RawTcp, at: &Loc, problems: &mut Problems<'_>) -> Option<TcpSpec> {
    let RawTcp {
        address,
        send,
        expect,
    } = raw;
    let address = required(address, "tcp", "address", at, problems)?;
    match host_port(&address.value) {
        Ok((host, port)) => Some(TcpSpec {
            host,
            port,
            send: send.map(|send| send.value),
            expect: expect.map(|expect| expect.value),
        }),
        Err(message) => {
            problems.at(&address.at, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_accepts_names_ipv4_and_bracketed_ipv6() {
        assert_eq!(
            host_port("127.0.0.1:5432"),
            Ok(("127.0.0.1".to_owned(), 5432))
        );
        assert_eq!(
            host_port("db.internal:6379"),
            Ok(("db.internal".to_owned(), 6379))
        );
        assert_eq!(host_port("[::1]:80"), Ok(("::1".to_owned(), 80)));
    }

    #[test]
    fn host_port_rejects_malformed_addresses() {
        for bad in [
            "localhost",
            ":80",
            "::1:80",
            "[::1]80",
            "[nope]:80",
            "host:0",
            "host:70000",
            "host:http",
        ] {
            assert!(host_port(bad).is_err(), "{bad}");
        }
        assert!(host_port("::1:80").unwrap_err().contains("brackets"));
    }
}
