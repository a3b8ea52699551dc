//! [`WriteLock`]: another connection holding a database's write lock, as
//! another process would (a backup, a migration, an operator's `sqlite3` or
//! `psql` shell in the middle of a transaction), on either engine.

use std::path::Path;

use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};
use watchkeeper_domain::storage::Database;

use crate::postgres;

/// The tables a batch of results writes on PostgreSQL (results and their
/// state changes, in one transaction): what [`WriteLock`] locks there.
pub const POSTGRES_BATCH_TABLES: [&str; 2] = ["results", "state_changes"];

/// Holds the write lock of one database from its own connection until
/// [`WriteLock::release`]: every other writer waits; readers go on.
///
/// - SQLite: an immediate transaction, which takes the database's one
///   write lock; a writer waits up to its busy timeout, then fails with
///   "database is locked".
/// - PostgreSQL: a transaction holding [`POSTGRES_BATCH_TABLES`] in
///   `EXCLUSIVE` mode, the strongest lock that still lets plain reads
///   through (as SQLite's write lock does): an `INSERT` into either table
///   waits until the lock goes, for as long as it is held.
#[derive(Debug)]
pub struct WriteLock {
    connection: Held,
}

#[derive(Debug)]
enum Held {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl WriteLock {
    /// Takes the write lock of `database`, which must exist (and, on
    /// PostgreSQL, have been migrated: the store opened it once).
    pub async fn hold(database: &Database) -> Result<Self, sqlx::Error> {
        match database {
            Database::Sqlite { path } => Self::hold_sqlite(path).await,
            Database::Postgres(url) => {
                let mut connection = PgConnection::connect(&postgres::connect_text(url)).await?;
                // Fixed names of our own tables: nothing from outside.
                let lock = format!(
                    "BEGIN; LOCK TABLE {} IN EXCLUSIVE MODE",
                    POSTGRES_BATCH_TABLES.join(", ")
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(lock))
                    .execute(&mut connection)
                    .await?;
                Ok(Self {
                    connection: Held::Postgres(connection),
                })
            }
        }
    }

    /// Opens the SQLite file at `path` and starts an immediate transaction,
    /// which takes the write lock at once.
    pub async fn hold_sqlite(path: &Path) -> Result<Self, sqlx::Error> {
        let mut connection = SqliteConnectOptions::new().filename(path).connect().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut connection)
            .await?;
        Ok(Self {
            connection: Held::Sqlite(connection),
        })
    }

    /// Ends the transaction (writing nothing) and closes the connection.
    pub async fn release(self) -> Result<(), sqlx::Error> {
        match self.connection {
            Held::Sqlite(mut connection) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut connection).await?;
                connection.close().await
            }
            Held::Postgres(mut connection) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut connection).await?;
                connection.close().await
            }
        }
    }
}
