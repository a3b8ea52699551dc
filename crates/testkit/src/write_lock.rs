//! [`WriteLock`]: another connection holding a SQLite database's write lock,
//! as another process would (a backup, a migration, an operator's `sqlite3`
//! shell in the middle of a transaction).

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

/// Holds the write lock of one database from its own connection until
/// [`WriteLock::release`]: every other writer waits (up to its busy
/// timeout, then fails with "database is locked"); readers go on.
#[derive(Debug)]
pub struct WriteLock {
    connection: SqliteConnection,
}

impl WriteLock {
    /// Opens `path` (which must exist) and starts an immediate transaction,
    /// which takes the write lock at once.
    pub async fn hold(path: &Path) -> Result<Self, sqlx::Error> {
        let mut connection = SqliteConnectOptions::new().filename(path).connect().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE")
            .execute(&mut connection)
            .await?;
        Ok(Self { connection })
    }

    /// Ends the transaction (writing nothing) and closes the connection.
    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut self.connection)
            .await?;
        self.connection.close().await
    }
}
