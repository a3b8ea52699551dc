//! One test body on both database engines: [`Engine`], [`TestStorage`] (a
//! fresh SQLite file or a fresh PostgreSQL database) and the
//! [`on_both_engines!`](crate::on_both_engines) macro that turns one test
//! into `<name>::sqlite` and `<name>::postgres`, so a failure says which
//! engine failed.

use std::fmt;
use std::path::{Path, PathBuf};

use watchkeeper_domain::storage::{Database, StorageConfig};

use crate::postgres;

/// A database engine the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        })
    }
}

/// A fresh database for one test: a SQLite file in a temporary directory
/// (removed when this is dropped), or a new database on the test binary's
/// PostgreSQL server ([`postgres::fresh_database`]).
#[derive(Debug)]
pub struct TestStorage {
    engine: Engine,
    /// SQLite only: owns the directory holding the file.
    _dir: Option<tempfile::TempDir>,
    config: StorageConfig,
}

/// The SQLite file name the helpers use.
pub const SQLITE_FILE_NAME: &str = "watchkeeper.db";

impl TestStorage {
    /// A fresh, empty database on `engine`.
    ///
    /// # Panics
    ///
    /// When no temporary directory or PostgreSQL database can be had.
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("watchkeeper-store-")
                    .tempdir()
                    .unwrap_or_else(|error| panic!("cannot make a temporary directory: {error}"));
                let config = StorageConfig::sqlite(dir.path().join(SQLITE_FILE_NAME));
                Self {
                    engine,
                    _dir: Some(dir),
                    config,
                }
            }
            Engine::Postgres => Self {
                engine,
                _dir: None,
                config: StorageConfig::postgres(postgres::fresh_database().await),
            },
        }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// What `Store::open` takes.
    pub fn config(&self) -> &StorageConfig {
        &self.config
    }

    /// The SQLite file, if this is SQLite.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.config.database {
            Database::Sqlite { path } => Some(path),
            Database::Postgres(_) => None,
        }
    }

    /// A `[storage]` table naming this database, for a config file.
    pub fn toml(&self) -> String {
        storage_toml(&self.config.database)
    }
}

/// A `[storage]` table naming `database`. A relative SQLite path resolves
/// against the config file's directory.
pub fn storage_toml(database: &Database) -> String {
    let url = match database {
        Database::Sqlite { path } => format!("sqlite://{}", path.display()),
        Database::Postgres(url) => postgres::connect_text(url),
    };
    format!("[storage]\nurl = {url:?}\n")
}

/// The SQLite path of `config`, if it is SQLite.
pub fn sqlite_path(config: &StorageConfig) -> Option<PathBuf> {
    match &config.database {
        Database::Sqlite { path } => Some(path.clone()),
        Database::Postgres(_) => None,
    }
}

/// Generates one test per engine from one body:
///
/// ```text
/// on_both_engines! {
///     /// What it shows.
///     async fn a_restart_keeps_the_state(engine) {
///         let storage = TestStorage::new(engine).await;
///         …
///     }
/// }
/// ```
///
/// becomes a module `a_restart_keeps_the_state` with the tests `sqlite` and
/// `postgres`, each calling the body with its [`Engine`]. The module sees
/// everything its parent imports (`use super::*`). Tests that need several
/// worker threads write `#[flavor(multi_thread)]` before `async fn`.
#[macro_export]
macro_rules! on_both_engines {
    ($($(#[doc = $doc:literal])* $(#[flavor($flavor:ident)])? async fn $name:ident($engine:ident) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn body($engine: $crate::Engine) $body

                $crate::on_both_engines!(@test sqlite, Sqlite, $($flavor)?);
                $crate::on_both_engines!(@test postgres, Postgres, $($flavor)?);
            }
        )*
    };
    (@test $test:ident, $variant:ident, multi_thread) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            body($crate::Engine::$variant).await
        }
    };
    (@test $test:ident, $variant:ident, ) => {
        #[tokio::test]
        async fn $test() {
            body($crate::Engine::$variant).await
        }
    };
}
