//! The pools' check of a connection on its way back, so that a failed
//! write never poisons a connection.
//!
//! When a statement or `COMMIT` fails with `SQLITE_FULL` (or `SQLITE_IOERR`,
//! `SQLITE_NOMEM`), SQLite rolls the transaction back by itself. sqlx counts
//! transactions per connection and lowers the count only when its own
//! `COMMIT` or `ROLLBACK` succeeds, so the `ROLLBACK` it sends when the
//! transaction is dropped fails ("cannot rollback - no transaction is
//! active"), the count stays at one, and every later `begin_with` on that
//! connection fails ("attempted to call begin_with at non-zero transaction
//! depth"): with one writer connection, every write until a restart.
//! [`release_outside_a_transaction`] closes such a connection as it is
//! released, and the pool opens a fresh one for the next caller. One check
//! for every write path, and for a caller whose future is dropped in the
//! middle of a transaction.

use futures_util::future::BoxFuture;
use sqlx::Connection as _;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::SqliteConnection;

/// The pools' check of a connection on its way back (`after_release`):
/// `Ok(false)` closes it instead, and the pool opens a new one when next
/// asked. A transaction dropped without a commit has queued its `ROLLBACK`
/// on the connection's worker; the ping runs after it, so what sqlx counts
/// then is what the rollback left. Still in a transaction means the rollback
/// failed — SQLite had already rolled back by itself (see the module docs) —
/// and sqlx would refuse every later transaction on this connection.
pub(super) fn release_outside_a_transaction(
    connection: &mut SqliteConnection,
    _metadata: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if !connection.is_in_transaction() {
            return Ok(true);
        }
        connection.ping().await?;
        if connection.is_in_transaction() {
            // Debug: the caller reports the failed write itself, and on a
            // full disk this happens at every retry.
            tracing::debug!(
                "a failed transaction left its connection unusable; \
                 closing it so the store opens a fresh one"
            );
            return Ok(false);
        }
        Ok(true)
    })
}
