//! The `[server]` rules: where the HTTP server listens and the region
//! recorded with results.

use crate::model::{DEFAULT_LISTEN, ServerConfig};
use crate::raw::RawServer;

use super::{Problems, non_empty};

pub(super) fn validate_server(raw: RawServer, problems: &mut Problems<'_>) -> ServerConfig {
    let RawServer { listen, region } = raw;
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
    }
}
