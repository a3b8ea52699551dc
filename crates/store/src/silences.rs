//! The silences aggregate: each silence with its matchers (stored as
//! written, parsed again when read), start, end, author and comment.
//! Expiring a silence ends it now; none is deleted.

use jiff::Timestamp;
use watchkeeper_domain::alert::matcher::Matcher;
use watchkeeper_domain::alert::silence::Silence;

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SilenceRow {
    pub id: String,
    pub matchers: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub comment: String,
    pub created_at: i64,
}

/// A stored silence and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSilence {
    pub silence: Silence,
    pub created_at: Timestamp,
}

impl SilenceRow {
    fn decode(self, what: &'static str) -> Result<StoredSilence, StoreError> {
        let invalid = |detail: String| StoreError::InvalidRow { what, detail };
        let texts: Vec<String> = serde_json::from_str(&self.matchers)
            .map_err(|error| invalid(format!("matchers of silence {}: {error}", self.id)))?;
        let matchers = texts
            .iter()
            .map(|text| {
                Matcher::parse(text).map_err(|error| {
                    invalid(format!("matcher {text:?} of silence {}: {error}", self.id))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StoredSilence {
            silence: Silence {
                matchers,
                starts_at: timestamp_from_millis(what, self.starts_at)?,
                ends_at: timestamp_from_millis(what, self.ends_at)?,
                id: self.id,
                created_by: self.created_by,
                comment: self.comment,
            },
            created_at: timestamp_from_millis(what, self.created_at)?,
        })
    }

    fn encode(silence: &Silence, created_at: Timestamp) -> Result<SilenceRow, StoreError> {
        let texts: Vec<String> = silence.matchers.iter().map(ToString::to_string).collect();
        let matchers = serde_json::to_string(&texts).map_err(|error| StoreError::InvalidRow {
            what: "a silence to write",
            detail: error.to_string(),
        })?;
        Ok(SilenceRow {
            id: silence.id.clone(),
            matchers,
            starts_at: millis(silence.starts_at),
            ends_at: millis(silence.ends_at),
            created_by: silence.created_by.clone(),
            comment: silence.comment.clone(),
            created_at: millis(created_at),
        })
    }
}

pub(crate) trait SilenceRows {
    async fn insert_silence(&self, row: &SilenceRow) -> Result<(), sqlx::Error>;
    /// Silences that end after `after` (ms), by start.
    async fn silences_ending_after(&self, after: i64) -> Result<Vec<SilenceRow>, sqlx::Error>;
    async fn silence(&self, id: &str) -> Result<Option<SilenceRow>, sqlx::Error>;
    /// Ends the silence at `at` if it ends later; whether it did.
    async fn expire_silence(&self, id: &str, at: i64) -> Result<bool, sqlx::Error>;
}

fn write_error(source: sqlx::Error) -> StoreError {
    StoreError::Silences { source }
}

impl Store {
    /// Stores a new silence (validated by the caller).
    pub async fn add_silence(
        &self,
        silence: &Silence,
        created_at: Timestamp,
    ) -> Result<(), StoreError> {
        let row = SilenceRow::encode(silence, created_at)?;
        backend!(self, engine => engine.insert_silence(&row).await).map_err(write_error)
    }

    /// Every silence that ends after `after`: in effect or still to come
    /// (`Timestamp::MIN`: all of them, expired too). By start.
    pub async fn silences(&self, after: Timestamp) -> Result<Vec<StoredSilence>, StoreError> {
        const WHAT: &str = "silences";
        let after = if after == Timestamp::MIN {
            i64::MIN
        } else {
            millis(after)
        };
        let rows = backend!(self, engine => engine.silences_ending_after(after).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    pub async fn silence(&self, id: &str) -> Result<Option<StoredSilence>, StoreError> {
        const WHAT: &str = "a silence";
        let row = backend!(self, engine => engine.silence(id).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// Ends a silence at `at`. `false` when there is no such silence or it
    /// had already ended.
    pub async fn expire_silence(&self, id: &str, at: Timestamp) -> Result<bool, StoreError> {
        backend!(self, engine => engine.expire_silence(id, millis(at)).await).map_err(write_error)
    }
}
