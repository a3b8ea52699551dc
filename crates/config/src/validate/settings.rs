//! `[storage]` and `[probes]`: the database path and retentions, and the
//! target policy's networks and concurrency. (`[server]` is in `server`.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use watchkeeper_domain::monitor::RedactedUrlText;
use watchkeeper_domain::target_policy::TargetPolicy;

use super::Problems;
use crate::model::{
    DEFAULT_DATABASE_FILE, DEFAULT_RAW_RETENTION, DEFAULT_ROLLUP_RETENTION, MAX_CONCURRENCY,
    MIN_RAW_RETENTION, MIN_ROLLUP_RETENTION, ProbesConfig, StorageConfig,
};
use crate::quantity::parse_duration;
use crate::raw::{RawProbes, RawStorage};
use crate::source::Located;

pub(super) fn validate_storage(
    raw: RawStorage,
    dir: &Path,
    problems: &mut Problems<'_>,
) -> StorageConfig {
    let RawStorage {
        url,
        raw_retention,
        rollup_retention,
    } = raw;
    let database = match url {
        None => dir.join(DEFAULT_DATABASE_FILE),
        Some(url) => match database_path(&url.value) {
            Ok(path) if path.is_absolute() => path,
            Ok(path) => dir.join(path),
            Err(message) => {
                problems.at(&url.at, message);
                dir.join(DEFAULT_DATABASE_FILE)
            }
        },
    };
    let raw_retention = retention(
        raw_retention,
        "raw_retention",
        DEFAULT_RAW_RETENTION,
        MIN_RAW_RETENTION,
        "1h",
        problems,
    );
    let rollup_retention = retention(
        rollup_retention,
        "rollup_retention",
        DEFAULT_ROLLUP_RETENTION,
        MIN_ROLLUP_RETENTION,
        "1d",
        problems,
    );
    StorageConfig {
        database,
        raw_retention,
        rollup_retention,
    }
}

/// `sqlite://PATH`, `sqlite:PATH` or a plain path.
fn database_path(url: &str) -> Result<PathBuf, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Err(
            "PostgreSQL storage is not supported yet; use url = \"sqlite://PATH\" or a plain file path"
                .to_owned(),
        );
    }
    let path = if lower.starts_with("sqlite://") {
        &url["sqlite://".len()..]
    } else if lower.starts_with("sqlite:") {
        &url["sqlite:".len()..]
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!(
            "unsupported storage scheme `{scheme}://`; use \"sqlite://PATH\" or a plain file path"
        ));
    } else {
        url
    };
    if path.trim().is_empty() {
        return Err(format!(
            "storage url {:?} names no database file",
            RedactedUrlText(url).to_string()
        ));
    }
    Ok(PathBuf::from(path))
}

fn retention(
    raw: Option<Located<String>>,
    key: &str,
    default: Duration,
    minimum: Duration,
    minimum_text: &str,
    problems: &mut Problems<'_>,
) -> Duration {
    let Some(raw) = raw else {
        return default;
    };
    match parse_duration(&raw.value) {
        Ok(duration) if duration >= minimum => duration,
        Ok(_) => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be at least {minimum_text}, not {:?}",
                    raw.value
                ),
            );
            default
        }
        Err(message) => {
            problems.at(&raw.at, message);
            default
        }
    }
}

pub(super) fn validate_probes(raw: RawProbes, problems: &mut Problems<'_>) -> ProbesConfig {
    let RawProbes {
        concurrency,
        allow_loopback,
        allow,
    } = raw;
    let concurrency = concurrency.and_then(|raw| match usize::try_from(raw.value) {
        Ok(value) if (1..=MAX_CONCURRENCY).contains(&value) => Some(value),
        Ok(value) if value > MAX_CONCURRENCY => {
            problems.at(
                &raw.at,
                format!("`concurrency` must be at most {MAX_CONCURRENCY}, not {value}"),
            );
            None
        }
        _ => {
            problems.at(
                &raw.at,
                format!("`concurrency` must be a positive number, not {}", raw.value),
            );
            None
        }
    });
    let allow = allow
        .into_iter()
        .filter_map(|network| {
            let parsed = network
                .value
                .parse::<IpNet>()
                .ok()
                .or_else(|| network.value.parse::<std::net::IpAddr>().ok().map(IpNet::from));
            if parsed.is_none() {
                problems.at(
                    &network.at,
                    format!(
                        "invalid network {:?} in `allow`: expected an address or CIDR, like \"169.254.169.254/32\"",
                        network.value
                    ),
                );
            }
            parsed
        })
        .collect();
    ProbesConfig {
        policy: TargetPolicy {
            allow_loopback: allow_loopback.is_none_or(|flag| flag.value),
            allow,
        },
        concurrency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_path_accepts_sqlite_urls_and_plain_paths() {
        assert_eq!(database_path("sqlite://wk.db"), Ok(PathBuf::from("wk.db")));
        assert_eq!(
            database_path("sqlite:///var/lib/wk.db"),
            Ok(PathBuf::from("/var/lib/wk.db"))
        );
        assert_eq!(database_path("sqlite:wk.db"), Ok(PathBuf::from("wk.db")));
        assert_eq!(database_path("data/wk.db"), Ok(PathBuf::from("data/wk.db")));
    }

    #[test]
    fn database_path_says_postgres_is_not_supported_yet() {
        let error = database_path("postgres://user@localhost/wk").unwrap_err();
        assert!(
            error.contains("PostgreSQL storage is not supported yet"),
            "{error}"
        );
        assert!(
            database_path("mysql://x")
                .unwrap_err()
                .contains("unsupported storage scheme")
        );
        assert!(database_path("sqlite://").is_err());
    }
}
