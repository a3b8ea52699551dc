//! The dns probe's table: the name, the record type and an optional server.

use std::net::SocketAddr;

use watchkeeper_domain::monitor::{DnsRecordType, DnsSpec};

use super::{Problems, required};
use crate::raw::RawDns;
use crate::source::Loc;

pub(super) fn validate_dns(raw: RawDns, at: &Loc, problems: &mut Problems<'_>) -> Option<DnsSpec> {
    let RawDns {
        name,
        record_type,
        server,
    } = raw;
    let before = problems.count();
    let name = required(name, "dns", "name", at, problems).and_then(|name| {
        if name.value.trim().is_empty() || name.value.chars().any(char::is_whitespace) {
            problems.at(&name.at, format!("invalid DNS name {:?}", name.value));
            None
        } else {
            Some(name.value)
        }
    });
    let record = match record_type {
        None => Some(DnsRecordType::A),
        Some(raw) => {
            let record = DnsRecordType::parse(&raw.value);
            if record.is_none() {
                problems.at(
                    &raw.at,
                    format!(
                        "unknown DNS record type {:?}; expected one of A, AAAA, CNAME, MX, TXT",
                        raw.value
                    ),
                );
            }
            record
        }
    };
    let server = server.and_then(|raw| match raw.value.parse::<SocketAddr>() {
        Ok(server) => Some(server),
        Err(_) => {
            problems.at(
                &raw.at,
                format!(
                    "invalid DNS server {:?}: expected IP:PORT, like \"127.0.0.1:53\"",
                    raw.value
                ),
            );
            None
        }
    });
    if problems.count() > before {
        return None;
    }
    Some(DnsSpec {
        name: name?,
        record: record?,
        server,
    })
}
