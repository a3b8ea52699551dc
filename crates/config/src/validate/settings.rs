//! `[storage]` and `[probes]`: the database (a SQLite path or a PostgreSQL
//! URL with its password) and retentions, and the
//! target policy's networks and concurrency. (`[server]` is in `server`.)

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use watchkeeper_domain::monitor::RedactedUrlText;
use watchkeeper_domain::target_policy::TargetPolicy;

use super::Problems;
use crate::model::{
    DEFAULT_DATABASE_FILE, DEFAULT_RAW_RETENTION, DEFAULT_ROLLUP_RETENTION, Database,
    MAX_CONCURRENCY, MIN_RAW_RETENTION, MIN_ROLLUP_RETENTION, PostgresUrl, ProbesConfig,
    StorageConfig,
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
        password,
        raw_retention,
        rollup_retention,
    } = raw;
    let default = || Database::Sqlite {
        path: dir.join(DEFAULT_DATABASE_FILE),
    };
    let sqlite_password = |password: &Option<Located<String>>, problems: &mut Problems<'_>| {
        if let Some(password) = password {
            problems.at(
                &password.at,
                "a password applies to a PostgreSQL database only; this storage is SQLite",
            );
        }
    };
    let database = match url {
        None => {
            sqlite_password(&password, problems);
            default()
        }
        Some(url) => match storage_url(&url.value) {
            Ok(StorageUrl::Sqlite(path)) => {
                sqlite_password(&password, problems);
                Database::Sqlite {
                    path: if path.is_absolute() {
                        path
                    } else {
                        dir.join(path)
                    },
                }
            }
            Ok(StorageUrl::Postgres) => {
                let parsed = PostgresUrl::parse(&url.value).map_err(|error| (url.at, error));
                let with_password = parsed.and_then(|parsed| match password {
                    None => Ok(parsed),
                    Some(password) => {
                        let at = password.at;
                        parsed
                            .with_password(password.value)
                            .map_err(move |error| (at, error))
                    }
                });
                match with_password {
                    Ok(url) => Database::Postgres(url),
                    // No message quotes the password (PostgresUrlError).
                    Err((at, error)) => {
                        problems.at(&at, error.to_string());
                        default()
                    }
                }
            }
            Err(message) => {
                problems.at(&url.at, message);
                default()
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

/// Which engine a storage url names.
#[derive(Debug, PartialEq, Eq)]
enum StorageUrl {
    /// The SQLite file, as written (relative to the config's directory).
    Sqlite(PathBuf),
    /// `postgres://` or `postgresql://`, checked by [`PostgresUrl::parse`].
    Postgres,
}

/// `sqlite://PATH`, `sqlite:PATH`, a plain path, or a PostgreSQL URL.
fn storage_url(url: &str) -> Result<StorageUrl, String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        return Ok(StorageUrl::Postgres);
    }
    let path = if lower.starts_with("sqlite://") {
        &url["sqlite://".len()..]
    } else if lower.starts_with("sqlite:") {
        &url["sqlite:".len()..]
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(format!(
            "unsupported storage scheme `{scheme}://`; use \"sqlite://PATH\", a plain file path or \"postgres://USER@HOST:5432/DATABASE\""
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
    Ok(StorageUrl::Sqlite(PathBuf::from(path)))
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
    fn storage_url_accepts_sqlite_urls_plain_paths_and_postgres() {
        let sqlite = |path: &str| Ok(StorageUrl::Sqlite(PathBuf::from(path)));
        assert_eq!(storage_url("sqlite://wk.db"), sqlite("wk.db"));
        assert_eq!(
            storage_url("sqlite:///var/lib/wk.db"),
            sqlite("/var/lib/wk.db")
        );
        assert_eq!(storage_url("sqlite:wk.db"), sqlite("wk.db"));
        assert_eq!(storage_url("data/wk.db"), sqlite("data/wk.db"));
        assert_eq!(
            storage_url("postgres://user@localhost/wk"),
            Ok(StorageUrl::Postgres)
        );
        assert_eq!(
            storage_url("PostgreSQL://user@localhost/wk"),
            Ok(StorageUrl::Postgres)
        );
    }

    #[test]
    fn storage_url_refuses_other_schemes_and_empty_paths() {
        assert!(
            storage_url("mysql://x")
                .unwrap_err()
                .contains("unsupported storage scheme")
        );
        assert!(storage_url("sqlite://").is_err());
    }
}
