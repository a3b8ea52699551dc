//! The `[server]` rules: where the HTTP server listens, the region recorded
//! with results, and the limits that keep slow or numerous clients from
//! holding the server's connections.

use std::time::Duration;

use crate::model::{
    DEFAULT_AUTH_FAILURES_PER_MINUTE, DEFAULT_HEADER_TIMEOUT, DEFAULT_LISTEN,
    DEFAULT_REQUESTS_PER_SECOND, MAX_CONNECTIONS, MAX_HEADER_TIMEOUT, MIN_HEADER_TIMEOUT,
    ServerConfig,
};
use crate::quantity::parse_duration;
use crate::raw::RawServer;
use crate::raw_table::Text;
use crate::source::Located;

use super::{Problems, humanize, non_empty};

pub(super) fn validate_server(raw: RawServer, problems: &mut Problems<'_>) -> ServerConfig {
    let RawServer {
        listen,
        region,
        header_timeout,
        max_connections,
        requests_per_second,
        auth_failures_per_minute,
    } = raw;
    let listen = match listen {
        None => DEFAULT_LISTEN,
        Some(listen) => listen.value.parse().unwrap_or_else(|_| {
            problems.at(
                &listen.at,
                format!(
                    "invalid listen address {:?}: expected IP:PORT, like \"127.0.0.1:8080\" or \"[::1]:8080\"",
                    listen.value
                ),
            );
            DEFAULT_LISTEN
        }),
    };
    ServerConfig {
        listen,
        region: non_empty(region, "`region`", problems),
        header_timeout: validate_header_timeout(header_timeout, problems),
        max_connections: max_connections.and_then(|raw| validate_max_connections(raw, problems)),
        requests_per_second: rate(
            requests_per_second,
            "requests_per_second",
            DEFAULT_REQUESTS_PER_SECOND,
            problems,
        ),
        auth_failures_per_minute: rate(
            auth_failures_per_minute,
            "auth_failures_per_minute",
            DEFAULT_AUTH_FAILURES_PER_MINUTE,
            problems,
        ),
    }
}

/// A rate: a whole number from 0 (no limit) to a million.
fn rate(raw: Option<Located<i64>>, key: &str, default: u32, problems: &mut Problems<'_>) -> u32 {
    let Some(raw) = raw else { return default };
    match u32::try_from(raw.value) {
        Ok(value) if value <= 1_000_000 => value,
        _ => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be a whole number from 0 (no limit) to 1000000, not {}",
                    raw.value
                ),
            );
            default
        }
    }
}

fn validate_header_timeout(raw: Text, problems: &mut Problems<'_>) -> Duration {
    let Some(raw) = raw else {
        return DEFAULT_HEADER_TIMEOUT;
    };
    match parse_duration(&raw.value) {
        Ok(timeout) if (MIN_HEADER_TIMEOUT..=MAX_HEADER_TIMEOUT).contains(&timeout) => timeout,
        Ok(_) => {
            problems.at(
                &raw.at,
                format!(
                    "`header_timeout` must be between {} and {}, not {:?}",
                    humanize(MIN_HEADER_TIMEOUT),
                    humanize(MAX_HEADER_TIMEOUT),
                    raw.value
                ),
            );
            DEFAULT_HEADER_TIMEOUT
        }
        Err(message) => {
            problems.at(&raw.at, message);
            DEFAULT_HEADER_TIMEOUT
        }
    }
}

fn validate_max_connections(raw: Located<i64>, problems: &mut Problems<'_>) -> Option<usize> {
    match usize::try_from(raw.value) {
        Ok(value) if (1..=MAX_CONNECTIONS).contains(&value) => Some(value),
        Ok(value) if value > MAX_CONNECTIONS => {
            problems.at(
                &raw.at,
                format!("`max_connections` must be at most {MAX_CONNECTIONS}, not {value}"),
            );
            None
        }
        _ => {
            problems.at(
                &raw.at,
                format!(
                    "`max_connections` must be a positive number, not {}",
                    raw.value
                ),
            );
            None
        }
    }
}
