//! Where Watchkeeper keeps its data: [`StorageConfig`], which `config` builds
//! from `[storage]` and `store` opens — a SQLite file or a PostgreSQL
//! database ([`PostgresUrl`], whose password is kept apart and never shown),
//! and how long results and rollups are kept.
//!
//! It lives here, not in `config` or `store`, so that both can see it
//! without `config` depending on `store` (and on sqlx).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

/// How long raw results are kept by default.
pub const DEFAULT_RAW_RETENTION: Duration = Duration::from_secs(48 * 3600);
/// The status page's 90 days of history. Per-minute rollups cost about 62 KB
/// per monitor per day at a 10 s interval (docs/storage.md), so a year of
/// them for 10,000 monitors would be over 200 GB: longer is a choice.
pub const DEFAULT_ROLLUP_RETENTION: Duration = Duration::from_secs(90 * 86_400);

/// The `sslmode` values PostgreSQL's clients know, as libpq spells them.
pub const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The query parameters a storage URL may carry. Anything else is refused
/// when the config is loaded, so a typo (`ssl_mode`) is not silently
/// ignored, and no value of an unknown parameter reaches a log.
pub const URL_PARAMETERS: [&str; 5] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
];

/// `[storage]`: which database, and the retentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    pub database: Database,
    /// How long individual probe results are kept.
    pub raw_retention: Duration,
    /// How long per-minute rollups are kept (the status page wants 90 days).
    pub rollup_retention: Duration,
}

impl StorageConfig {
    /// `database` with the default retentions.
    pub fn new(database: Database) -> Self {
        Self {
            database,
            raw_retention: DEFAULT_RAW_RETENTION,
            rollup_retention: DEFAULT_ROLLUP_RETENTION,
        }
    }

    /// A SQLite database file, with the default retentions.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::new(Database::Sqlite { path: path.into() })
    }

    /// A PostgreSQL database, with the default retentions.
    pub fn postgres(url: PostgresUrl) -> Self {
        Self::new(Database::Postgres(url))
    }
}

/// The database engine and where its data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file (resolved against the config's directory).
    Sqlite { path: PathBuf },
    /// A PostgreSQL database that other instances may share.
    Postgres(PostgresUrl),
}

impl Database {
    /// The engine's name, as the CLI and logs say it.
    pub fn engine(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            Database::Postgres(url) => fmt::Display::fmt(url, f),
        }
    }
}

/// A `postgres://` or `postgresql://` URL whose password, if any, is held
/// apart from it: [`fmt::Display`] and [`fmt::Debug`] show `***` in its
/// place, so the URL can go into logs and errors as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// The URL without a password.
    url: Url,
    /// Percent-decoded.
    password: Option<String>,
}

/// Why a text is not a usable PostgreSQL URL. No message quotes a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostgresUrlError {
    #[error("storage url is not a valid URL: {0}")]
    Syntax(String),
    #[error("storage url must start with postgres:// or postgresql://")]
    Scheme,
    #[error("storage url names no host: write postgres://user@HOST:5432/database")]
    NoHost,
    #[error("storage url names no database: write postgres://user@host:5432/DATABASE")]
    NoDatabase,
    #[error("storage url names no user: write postgres://USER@host:5432/database")]
    NoUser,
    #[error("the password in the storage url is not UTF-8 once percent-decoded")]
    PasswordEncoding,
    #[error(
        "storage url has sslmode={0:?}; use one of disable, allow, prefer, require, verify-ca, verify-full"
    )]
    SslMode(String),
    #[error(
        "storage url has an unknown parameter `{0}`; known: sslmode, sslrootcert, sslcert, sslkey, application_name"
    )]
    Parameter(String),
    #[error(
        "give the password in the storage url's user info (postgres://user:${{PGPASSWORD}}@host/db) or in `password_file`, not as a parameter"
    )]
    PasswordParameter,
    #[error("the storage url has a password and `password_file` gives another: give one")]
    TwoPasswords,
}

impl PostgresUrl {
    /// Parses and checks a `postgres://` URL: a host (TCP; a socket directory
    /// is not offered), a user and a database are named, `sslmode` is one PostgreSQL knows, and no parameter is
    /// unknown. The password, if the URL has one, is taken out of it.
    pub fn parse(text: &str) -> Result<Self, PostgresUrlError> {
        let mut url = Url::parse(text).map_err(|error| match error {
            url::ParseError::EmptyHost => PostgresUrlError::NoHost,
            other => PostgresUrlError::Syntax(other.to_string()),
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(PostgresUrlError::Scheme);
        }
        for (key, value) in url.query_pairs() {
            match &*key {
                "sslmode" if !SSL_MODES.contains(&&*value) => {
                    return Err(PostgresUrlError::SslMode(value.into_owned()));
                }
                "password" => return Err(PostgresUrlError::PasswordParameter),
                known if URL_PARAMETERS.contains(&known) => {}
                unknown => return Err(PostgresUrlError::Parameter(unknown.to_owned())),
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(PostgresUrlError::NoHost);
        }
        if url.username().is_empty() {
            return Err(PostgresUrlError::NoUser);
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(PostgresUrlError::NoDatabase);
        }
        let password = match url.password() {
            None => None,
            Some(encoded) => {
                Some(percent_decode(encoded).ok_or(PostgresUrlError::PasswordEncoding)?)
            }
        };
        // Cannot fail: a URL with a user can lose its password.
        let _ = url.set_password(None);
        Ok(Self { url, password })
    }

    /// This URL with the password read from `password_file`; an error if the
    /// URL has one already.
    pub fn with_password(mut self, password: String) -> Result<Self, PostgresUrlError> {
        if self.password.is_some() {
            return Err(PostgresUrlError::TwoPasswords);
        }
        self.password = Some(password);
        Ok(self)
    }

    /// The same server and credentials, another database (tests, `store
    /// copy`).
    pub fn with_database(&self, database: &str) -> Self {
        let mut other = self.clone();
        other.url.set_path(&format!("/{database}"));
        other
    }

    /// The URL without its password: what a driver parses, before it is
    /// given [`PostgresUrl::password`].
    pub fn without_password(&self) -> &Url {
        &self.url
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The database name, percent-decoded.
    pub fn database(&self) -> String {
        let encoded = self.url.path().trim_start_matches('/');
        percent_decode(encoded).unwrap_or_else(|| encoded.to_owned())
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.password.is_none() {
            return fmt::Display::fmt(&self.url, f);
        }
        let mut shown = self.url.clone();
        // Cannot fail: the URL has a user (checked at parse).
        let _ = shown.set_password(Some("***"));
        fmt::Display::fmt(&shown, f)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PostgresUrl")
            .field(&self.to_string())
            .finish()
    }
}

/// `%XX` sequences decoded; `None` when the bytes are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_keeps_its_password_apart_and_never_shows_it() {
        let url =
            PostgresUrl::parse("postgres://wk:s%40cret@db.internal:5433/watch?sslmode=require")
                .unwrap();
        assert_eq!(url.password(), Some("s@cret"));
        assert_eq!(
            url.to_string(),
            "postgres://wk:***@db.internal:5433/watch?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("cret"), "{url:?}");
        assert_eq!(url.without_password().password(), None);
        assert_eq!(url.database(), "watch");
        let other = url.with_database("copy");
        assert_eq!(other.database(), "copy");
        assert_eq!(other.password(), Some("s@cret"));
    }

    #[test]
    fn a_password_file_adds_a_password_unless_the_url_has_one() {
        let url = PostgresUrl::parse("postgresql://wk@localhost/watch").unwrap();
        assert_eq!(url.to_string(), "postgresql://wk@localhost/watch");
        let with = url.with_password("from-file".to_owned()).unwrap();
        assert_eq!(with.password(), Some("from-file"));
        assert_eq!(with.to_string(), "postgresql://wk:***@localhost/watch");
        assert_eq!(
            with.with_password("again".to_owned()),
            Err(PostgresUrlError::TwoPasswords)
        );
    }

    #[test]
    fn urls_that_cannot_work_are_refused_with_the_reason() {
        for (text, error) in [
            ("mysql://wk@localhost/watch", PostgresUrlError::Scheme),
            ("postgres://wk@/watch", PostgresUrlError::NoHost),
            ("postgres://localhost/watch", PostgresUrlError::NoUser),
            ("postgres://wk@localhost", PostgresUrlError::NoDatabase),
            ("postgres://wk@localhost/", PostgresUrlError::NoDatabase),
            (
                "postgres://wk@localhost/watch?sslmode=on",
                PostgresUrlError::SslMode("on".to_owned()),
            ),
            (
                "postgres://wk@localhost/watch?ssl_mode=require",
                PostgresUrlError::Parameter("ssl_mode".to_owned()),
            ),
            (
                "postgres://wk@localhost/watch?password=x",
                PostgresUrlError::PasswordParameter,
            ),
        ] {
            assert_eq!(PostgresUrl::parse(text), Err(error), "{text}");
        }
        assert_eq!(
            PostgresUrl::parse("postgres:///watch"),
            Err(PostgresUrlError::NoHost)
        );
        for mode in SSL_MODES {
            assert!(PostgresUrl::parse(&format!("postgres://wk@h/db?sslmode={mode}")).is_ok());
        }
    }

    #[test]
    fn no_error_message_quotes_the_password() {
        let error =
            PostgresUrl::parse("postgres://wk:hunter2@localhost/watch?sslmode=bogus").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}
