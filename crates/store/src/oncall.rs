//! The on-call aggregate: schedule overrides given at run time
//! (`schedule_overrides`), acknowledgements of an alert's firing episode
//! (`alert_acks`), each alert's escalation ladder (`escalations`) and the
//! steps it took (`escalation_steps`), the key that signs ack links (in
//! `meta`, as text) and the ack links already used (`used_links`). Here:
//! the overrides' and used links' rows, the row-level trait and the
//! facade's methods; `acks` and `escalations` hold those records and their
//! rows; the SQL is in `sqlite/oncall.rs` and `postgres/oncall.rs`.
//!
//! A firing episode is named by the alert's `fired_at` when it fired
//! (`firing_since`): an ack belongs to one episode, and the alert firing
//! again is a new episode, not acknowledged. The ladders and their steps are
//! written by the dispatcher with its commit ([`crate::DispatchCommit`]); an
//! ack stops its alert's ladder in the ack's transaction, and a dispatch
//! commit (which may have been computed before the ack) never starts a
//! stopped ladder of the same episode again, nor one of an episode that was
//! acknowledged.
//!
//! Nothing here is deleted but used links (pruned with the rollups): a
//! removed override and a cleared ack are stamped, and kept as the record of
//! who changed what.

use jiff::Timestamp;

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

mod acks;
mod escalations;

pub(crate) use acks::{AckInsert, AckRow, AckWrite, ack_columns};
pub use acks::{AckOutcome, AckVia, NewAck, StoredAck};
pub use escalations::{EscalationRecord, EscalationStep, NewEscalationStep};
pub(crate) use escalations::{EscalationRow, StepRow, escalation_columns, step_columns};

/// An override to write: `person` is on call on `schedule` in
/// `[start, end)`. The caller has checked that `start < end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOverride {
    pub schedule: String,
    pub person: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub author: String,
    /// May be empty.
    pub comment: String,
    pub created_at: Timestamp,
}

/// A stored override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOverride {
    pub id: i64,
    pub schedule: String,
    pub person: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub author: String,
    pub comment: String,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
    pub removed_by: Option<String>,
}

/// Why an override was refused: this one, not removed, overlaps it on the
/// same schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideConflict {
    pub existing: StoredOverride,
}

/// The columns of `schedule_overrides` as [`OverrideRow`] reads them.
macro_rules! override_columns {
    () => {
        "id, schedule, person, start_at, end_at, author, comment, created_at, removed_at, \
         removed_by"
    };
}
pub(crate) use override_columns;

/// Rows as the engines bind and read them.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OverrideRow {
    pub id: i64,
    pub schedule: String,
    pub person: String,
    pub start_at: i64,
    pub end_at: i64,
    pub author: String,
    pub comment: String,
    pub created_at: i64,
    pub removed_at: Option<i64>,
    pub removed_by: Option<String>,
}

#[derive(Debug)]
pub(crate) struct OverrideWrite<'a> {
    pub schedule: &'a str,
    pub person: &'a str,
    pub start_at: i64,
    pub end_at: i64,
    pub author: &'a str,
    pub comment: &'a str,
    pub created_at: i64,
}

/// What an engine's override insert did.
#[derive(Debug)]
pub(crate) enum OverrideInsert {
    Inserted(OverrideRow),
    /// The first override in the way; nothing written.
    Conflict(OverrideRow),
}

/// One row of `used_links`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UsedLinkRow {
    pub nonce: String,
    pub used_at: i64,
}

/// Milliseconds, or none, as a timestamp.
fn optional_time(what: &'static str, ms: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    ms.map(|ms| timestamp_from_millis(what, ms)).transpose()
}

impl OverrideRow {
    fn decode(self, what: &'static str) -> Result<StoredOverride, StoreError> {
        Ok(StoredOverride {
            id: self.id,
            start: timestamp_from_millis(what, self.start_at)?,
            end: timestamp_from_millis(what, self.end_at)?,
            created_at: timestamp_from_millis(what, self.created_at)?,
            removed_at: optional_time(what, self.removed_at)?,
            schedule: self.schedule,
            person: self.person,
            author: self.author,
            comment: self.comment,
            removed_by: self.removed_by,
        })
    }
}

/// What every backend does for on-call, in SQL only. The escalations and
/// their steps are written by each engine's `commit_dispatch`.
pub(crate) trait OnCallRows {
    /// In one transaction (on PostgreSQL under an advisory lock on the
    /// schedule): the first override of the schedule, not removed, that
    /// overlaps `[start_at, end_at)`, else the new one inserted.
    async fn insert_override(&self, row: &OverrideWrite<'_>)
    -> Result<OverrideInsert, sqlx::Error>;

    /// Overrides not removed that end after `ending_after` (ms), of one
    /// schedule or all, by start then id.
    async fn overrides(
        &self,
        schedule: Option<&str>,
        ending_after: i64,
    ) -> Result<Vec<OverrideRow>, sqlx::Error>;

    /// Stamps a standing override removed; the row after, if it was one.
    async fn remove_override(
        &self,
        id: i64,
        by: &str,
        at: i64,
    ) -> Result<Option<OverrideRow>, sqlx::Error>;

    /// In one transaction: the alert read, its episode's standing ack
    /// looked for, the ack inserted and the alert's escalation stopped.
    async fn acknowledge(&self, row: &AckWrite<'_>) -> Result<AckInsert, sqlx::Error>;

    /// Stamps the standing ack of the alert's current episode cleared; the
    /// row after, if there was one.
    async fn unacknowledge(
        &self,
        fingerprint: &str,
        by: &str,
        at: i64,
    ) -> Result<Option<AckRow>, sqlx::Error>;

    /// Standing acks of their alert's current episode, of one alert or all,
    /// by id.
    async fn current_acks(&self, fingerprint: Option<&str>) -> Result<Vec<AckRow>, sqlx::Error>;

    /// Acks made at or after `after` (ms), cleared ones too, by id.
    async fn acks_since(&self, after: i64) -> Result<Vec<AckRow>, sqlx::Error>;

    /// Every ladder, or one alert's, by fingerprint.
    async fn escalations(
        &self,
        fingerprint: Option<&str>,
    ) -> Result<Vec<EscalationRow>, sqlx::Error>;

    /// Up to `limit` steps of one alert, newest first.
    async fn escalation_steps(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<StepRow>, sqlx::Error>;

    /// The stored link key (text), `fresh` stored first if there was none.
    async fn link_key(&self, fresh: &str) -> Result<Option<String>, sqlx::Error>;

    /// Marks `nonce` used at `at`; `false` when it was already.
    async fn use_link(&self, nonce: &str, at: i64) -> Result<bool, sqlx::Error>;

    /// Deletes the used links used before `before` (ms); how many.
    async fn prune_used_links(&self, before: i64) -> Result<u64, sqlx::Error>;
}

fn write_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::OnCall { what, source }
}

fn read_error(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Read { what, source }
}

/// 64 lowercase hex digits.
fn hex_key(key: &[u8; 32]) -> String {
    key.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn key_from_hex(what: &'static str, text: &str) -> Result<[u8; 32], StoreError> {
    let invalid = || StoreError::InvalidRow {
        what,
        detail: format!(
            "the link key is not 64 hex digits ({} characters)",
            text.len()
        ),
    };
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return Err(invalid());
    }
    let mut key = [0; 32];
    for (byte, pair) in key.iter_mut().zip(digits.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(key)
}

impl Store {
    /// Stores an override unless one of the same schedule, not removed,
    /// overlaps it (touching ends do not overlap); then nothing is written
    /// and the answer names that one. Two adds at once never both succeed.
    pub async fn add_override(
        &self,
        new: &NewOverride,
    ) -> Result<Result<StoredOverride, OverrideConflict>, StoreError> {
        const WHAT: &str = "a schedule override";
        let row = OverrideWrite {
            schedule: &new.schedule,
            person: &new.person,
            start_at: millis(new.start),
            end_at: millis(new.end),
            author: &new.author,
            comment: &new.comment,
            created_at: millis(new.created_at),
        };
        let inserted = backend!(self, engine => engine.insert_override(&row).await)
            .map_err(write_error(WHAT))?;
        Ok(match inserted {
            OverrideInsert::Inserted(row) => Ok(row.decode(WHAT)?),
            OverrideInsert::Conflict(row) => Err(OverrideConflict {
                existing: row.decode(WHAT)?,
            }),
        })
    }

    /// Overrides not removed that end after `ending_after`, of one schedule
    /// or all, by start then id.
    pub async fn overrides(
        &self,
        schedule: Option<&str>,
        ending_after: Timestamp,
    ) -> Result<Vec<StoredOverride>, StoreError> {
        const WHAT: &str = "schedule overrides";
        let rows = backend!(self, engine => engine.overrides(schedule, millis(ending_after)).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Removes an override; the removed row, `None` when there is no such
    /// override or it was removed already.
    pub async fn remove_override(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
    ) -> Result<Option<StoredOverride>, StoreError> {
        const WHAT: &str = "a schedule override to remove";
        let row = backend!(self, engine => engine.remove_override(id, by, millis(at)).await)
            .map_err(write_error(WHAT))?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// Acknowledges the episode of an alert that fired at
    /// `ack.firing_since`, in one transaction: nothing when the alert is
    /// not firing in that episode or the episode has a standing ack;
    /// otherwise the ack, and the alert's escalation (if it has one)
    /// stopped.
    pub async fn acknowledge(&self, ack: &NewAck) -> Result<AckOutcome, StoreError> {
        const WHAT: &str = "an acknowledgement";
        let row = AckWrite {
            fingerprint: &ack.fingerprint,
            firing_since: millis(ack.firing_since),
            acked_at: millis(ack.at),
            actor: &ack.actor,
            via: ack.via.as_str(),
            comment: &ack.comment,
        };
        let done =
            backend!(self, engine => engine.acknowledge(&row).await).map_err(write_error(WHAT))?;
        Ok(match done {
            AckInsert::Inserted(row) => AckOutcome::Acknowledged(row.decode(WHAT)?),
            AckInsert::Already(row) => AckOutcome::AlreadyAcknowledged(row.decode(WHAT)?),
            AckInsert::NotFiring => AckOutcome::NotFiring,
        })
    }

    /// Takes back the standing ack of the alert's current episode; the
    /// cleared ack, `None` when there was none. The escalation stays
    /// stopped.
    pub async fn unacknowledge(
        &self,
        fingerprint: &str,
        by: &str,
        at: Timestamp,
    ) -> Result<Option<StoredAck>, StoreError> {
        const WHAT: &str = "an acknowledgement to clear";
        let row = backend!(self, engine => engine.unacknowledge(fingerprint, by, millis(at)).await)
            .map_err(write_error(WHAT))?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// The standing ack of the alert's current episode (the one that fired
    /// at its `fired_at`), if any.
    pub async fn current_ack(&self, fingerprint: &str) -> Result<Option<StoredAck>, StoreError> {
        const WHAT: &str = "the current acknowledgement";
        let rows = backend!(self, engine => engine.current_acks(Some(fingerprint)).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter()
            .next()
            .map(|row| row.decode(WHAT))
            .transpose()
    }

    /// Every alert's standing ack of its current episode, by id: an older
    /// episode's ack, never cleared, is not among them.
    pub async fn current_acks(&self) -> Result<Vec<StoredAck>, StoreError> {
        const WHAT: &str = "current acknowledgements";
        let rows =
            backend!(self, engine => engine.current_acks(None).await).map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Every ack made at or after `after`, cleared ones too, by id.
    pub async fn acks_since(&self, after: Timestamp) -> Result<Vec<StoredAck>, StoreError> {
        const WHAT: &str = "acknowledgements";
        let rows = backend!(self, engine => engine.acks_since(millis(after)).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// Every alert's escalation ladder, by fingerprint.
    pub async fn escalations(&self) -> Result<Vec<EscalationRecord>, StoreError> {
        const WHAT: &str = "escalations";
        let rows =
            backend!(self, engine => engine.escalations(None).await).map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    pub async fn escalation(
        &self,
        fingerprint: &str,
    ) -> Result<Option<EscalationRecord>, StoreError> {
        const WHAT: &str = "an escalation";
        let rows = backend!(self, engine => engine.escalations(Some(fingerprint)).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter()
            .next()
            .map(|row| row.decode(WHAT))
            .transpose()
    }

    /// Up to `limit` steps of one alert's escalations, newest first.
    pub async fn escalation_steps(
        &self,
        fingerprint: &str,
        limit: u32,
    ) -> Result<Vec<EscalationStep>, StoreError> {
        const WHAT: &str = "escalation steps";
        let rows = backend!(self, engine => engine.escalation_steps(fingerprint, limit).await)
            .map_err(read_error(WHAT))?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// The key that signs ack links: the stored one, or `fresh` stored
    /// first when there is none, so every instance sharing the database
    /// signs with the same key.
    pub async fn link_key(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        const WHAT: &str = "the ack link key";
        let stored = backend!(self, engine => engine.link_key(&hex_key(&fresh)).await)
            .map_err(write_error(WHAT))?;
        match stored {
            Some(text) => key_from_hex(WHAT, &text),
            None => Err(StoreError::InvalidRow {
                what: WHAT,
                detail: "meta holds no text under ack_link_key".to_owned(),
            }),
        }
    }

    /// Marks an ack link's nonce used: `true` the first time, `false`
    /// after.
    pub async fn use_link(&self, nonce: &str, at: Timestamp) -> Result<bool, StoreError> {
        backend!(self, engine => engine.use_link(nonce, millis(at)).await)
            .map_err(write_error("a used ack link"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_key_reads_back_from_its_hex_and_a_damaged_one_is_an_error() {
        let key: [u8; 32] = std::array::from_fn(|n| u8::try_from(n * 7).unwrap_or(0));
        let text = hex_key(&key);
        assert_eq!(text.len(), 64);
        assert!(matches!(key_from_hex("k", &text), Ok(read) if read == key));
        assert!(key_from_hex("k", &text[..62]).is_err());
        assert!(key_from_hex("k", &format!("{}zz", &text[..62])).is_err());
        assert!(key_from_hex("k", &format!("{}é", &text[..62])).is_err());
    }
}
