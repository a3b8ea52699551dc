//! [`StoreError`]: what went wrong in the store, and in which operation.

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::rollup::RollupError;

/// Every error says which operation failed; the source is the engine's own
/// error (or the reason a stored row could not be read back).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `database` is a SQLite path or a PostgreSQL URL, password masked.
    #[error("cannot open database {database}: {source}")]
    Open {
        database: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate database {database}: {source}")]
    Migrate {
        database: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot register monitors: {source}")]
    Register {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot write results: monitor {monitor} is not registered")]
    UnregisteredMonitor { monitor: MonitorId },
    #[error(
        "cannot write result of monitor {monitor} started at {started_at}: every millisecond of the following second already holds a result"
    )]
    NoFreeMillisecond {
        monitor: MonitorId,
        started_at: Timestamp,
    },
    #[error("cannot write a batch of {results} results and {changes} state changes: {source}")]
    Write {
        results: usize,
        changes: usize,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot save recent results: {source}")]
    SaveRecent {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot read {what}: {source}")]
    Read {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot read {what}: a stored row is invalid: {detail}")]
    InvalidRow { what: &'static str, detail: String },
    #[error("cannot roll up results: {source}")]
    RollUp {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot roll up the minute starting at {minute}: {source}")]
    RollUpHistogram {
        minute: Timestamp,
        #[source]
        source: RollupError,
    },
    #[error("cannot prune old rows: {source}")]
    Prune {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot write the notification outbox: {source}")]
    Outbox {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot write subscribers: {source}")]
    Subscribers {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot write silences: {source}")]
    Silences {
        #[source]
        source: sqlx::Error,
    },
    /// `what`: `a schedule override`, `an acknowledgement`, ….
    #[error("cannot write {what}: {source}")]
    OnCall {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    /// `what`: `incidents`, `a change to an incident`.
    #[error("cannot write {what}: {source}")]
    Incidents {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot change incident {id}: there is no such incident")]
    UnknownIncident { id: i64 },
    #[error("cannot measure the database size: {source}")]
    Size {
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot write token {name}: {source}")]
    WriteToken {
        name: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "a token named {name} exists already (revoked tokens keep their names); choose another name"
    )]
    TokenNameTaken { name: String },
    #[error("cannot write the audit entry for {action}: {source}")]
    WriteAudit {
        action: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot copy a {from} store into a {to} one: copy goes from SQLite to PostgreSQL")]
    CopyEngines {
        from: &'static str,
        to: &'static str,
    },
    #[error(
        "the target database is not empty (table {table} has rows): copy only into an empty database"
    )]
    CopyTargetNotEmpty { table: &'static str },
    #[error("cannot copy {table}: {source}")]
    Copy {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
}
