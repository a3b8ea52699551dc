//! The tokens and audit aggregate: API tokens by name (their role, the
//! SHA-256 of the token, never the token; created, last used, revoked) and
//! the audit log of every change made over the API, in commit order. Here:
//! the row encoding and decoding and the facade's methods; the SQL is in
//! `sqlite/tokens.rs` and `postgres/tokens.rs`.
//!
//! A token is never deleted: revoking stamps `revoked_at`, and its name
//! stays taken, so the audit log's actor names one token for ever.

use jiff::Timestamp;
use watchkeeper_domain::access::{Role, TokenHash, TokenName};

use crate::Store;
use crate::column::{millis, timestamp_from_millis};
use crate::error::StoreError;

/// One token as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub name: TokenName,
    pub role: Role,
    pub created_at: Timestamp,
    /// Recorded at most once a minute
    /// (`watchkeeper_domain::access::last_use_is_stale`).
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// What revoking a token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now.
    Now,
    /// It had been revoked already, at this instant; nothing changed.
    Already(Timestamp),
    /// No token has this name.
    Unknown,
}

/// One audit entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry<'a> {
    pub at: Timestamp,
    /// A token's name, or `public`.
    pub actor: &'a str,
    /// The caller's role; `None` for a caller without a token.
    pub role: Option<Role>,
    /// What was done, `noun.verb`: `config.reload`, `silence.create`.
    pub action: &'a str,
    /// What it was done to: an id, a name, `-` for the whole system.
    pub target: &'a str,
    /// A JSON document with the particulars.
    pub detail: &'a serde_json::Value,
    /// The client's address, when the request came over a connection.
    pub remote: Option<&'a str>,
}

/// One audit entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Grows in commit order.
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub role: Option<Role>,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    pub remote: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub name: String,
    pub role: String,
    pub hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl TokenRow {
    fn decode(self, what: &'static str) -> Result<StoredToken, StoreError> {
        let invalid = |detail: String| StoreError::InvalidRow { what, detail };
        let at = |ms: Option<i64>| ms.map(|ms| timestamp_from_millis(what, ms)).transpose();
        Ok(StoredToken {
            role: self
                .role
                .parse()
                .map_err(|error| invalid(format!("token {}: {error}", self.name)))?,
            created_at: timestamp_from_millis(what, self.created_at)?,
            last_used_at: at(self.last_used_at)?,
            revoked_at: at(self.revoked_at)?,
            name: TokenName::parse(&self.name)
                .map_err(|error| invalid(format!("token {}: {error}", self.name)))?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub role: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub remote: Option<String>,
}

impl AuditRow {
    fn decode(self, what: &'static str) -> Result<AuditEntry, StoreError> {
        let invalid = |detail: String| StoreError::InvalidRow { what, detail };
        let role = self
            .role
            .as_deref()
            .map(str::parse::<Role>)
            .transpose()
            .map_err(|error| invalid(format!("audit entry {}: {error}", self.id)))?;
        let detail = serde_json::from_str(&self.detail)
            .map_err(|error| invalid(format!("detail of audit entry {}: {error}", self.id)))?;
        Ok(AuditEntry {
            id: self.id,
            at: timestamp_from_millis(what, self.at)?,
            actor: self.actor,
            role,
            action: self.action,
            target: self.target,
            detail,
            remote: self.remote,
        })
    }
}

/// The audit row as it is written.
#[derive(Debug)]
pub(crate) struct AuditInsert<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub role: Option<&'static str>,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: String,
    pub remote: Option<&'a str>,
}

/// What every backend does with tokens and the audit log.
pub(crate) trait TokenRows {
    /// `false` when the name is taken.
    async fn insert_token(
        &self,
        name: &str,
        role: &str,
        hash: &str,
        created_at: i64,
    ) -> Result<bool, sqlx::Error>;

    /// Every token, by name.
    async fn tokens(&self) -> Result<Vec<TokenRow>, sqlx::Error>;

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>, sqlx::Error>;

    async fn token_by_name(&self, name: &str) -> Result<Option<TokenRow>, sqlx::Error>;

    /// Stamps `revoked_at` on a token not revoked yet; `false` when there
    /// was none by that name.
    async fn revoke_token(&self, name: &str, at: i64) -> Result<bool, sqlx::Error>;

    /// Sets `last_used_at` to `at` unless it is already
    /// later than `not_before` (another request, or another instance, recorded a use
    /// in the meantime).
    async fn touch_token(&self, name: &str, at: i64, not_before: i64) -> Result<(), sqlx::Error>;

    /// Appends one entry; returns its id. Ids grow in commit order.
    async fn insert_audit(&self, row: &AuditInsert<'_>) -> Result<i64, sqlx::Error>;

    /// Up to `limit` entries with an id below `before`, newest first.
    async fn audit_before(&self, before: i64, limit: u32) -> Result<Vec<AuditRow>, sqlx::Error>;
}

impl Store {
    /// Stores a new token by the hash of its text. A name already taken,
    /// by a live or a revoked token, is [`StoreError::TokenNameTaken`].
    pub async fn create_token(
        &self,
        name: &TokenName,
        role: Role,
        hash: &TokenHash,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let inserted = backend!(self, engine => engine
            .insert_token(name.as_str(), role.as_str(), hash.as_str(), millis(at))
            .await)
        .map_err(|source| StoreError::WriteToken {
            name: name.to_string(),
            source,
        })?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::TokenNameTaken {
                name: name.to_string(),
            })
        }
    }

    /// Every token (revoked ones too), by name.
    pub async fn tokens(&self) -> Result<Vec<StoredToken>, StoreError> {
        const WHAT: &str = "tokens";
        let rows = backend!(self, engine => engine.tokens().await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }

    /// The token whose hash this is, revoked or not (the caller decides
    /// what a revoked one means).
    pub async fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<StoredToken>, StoreError> {
        const WHAT: &str = "a token";
        let row = backend!(self, engine => engine.token_by_hash(hash.as_str()).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        row.map(|row| row.decode(WHAT)).transpose()
    }

    /// Revokes the token named `name` at `at`: from then on it is refused.
    pub async fn revoke_token(
        &self,
        name: &TokenName,
        at: Timestamp,
    ) -> Result<Revoked, StoreError> {
        const WHAT: &str = "a token to revoke";
        let write_error = |source| StoreError::WriteToken {
            name: name.to_string(),
            source,
        };
        let revoked =
            backend!(self, engine => engine.revoke_token(name.as_str(), millis(at)).await)
                .map_err(write_error)?;
        if revoked {
            return Ok(Revoked::Now);
        }
        let row = backend!(self, engine => engine.token_by_name(name.as_str()).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        Ok(match row.map(|row| row.decode(WHAT)).transpose()? {
            // Only a revoked token is left unchanged by the update.
            Some(token) => Revoked::Already(token.revoked_at.unwrap_or(at)),
            None => Revoked::Unknown,
        })
    }

    /// Records a use of the token at `at`, unless a use within the last
    /// minute was recorded already.
    pub async fn touch_token(&self, name: &TokenName, at: Timestamp) -> Result<(), StoreError> {
        let not_before = at
            .checked_sub(watchkeeper_domain::access::LAST_USE_PRECISION)
            .unwrap_or(Timestamp::MIN);
        backend!(self, engine => engine
            .touch_token(name.as_str(), millis(at), millis(not_before))
            .await)
        .map_err(|source| StoreError::WriteToken {
            name: name.to_string(),
            source,
        })
    }

    /// Appends `entry` to the audit log; returns its id.
    pub async fn record_audit(&self, entry: &NewAuditEntry<'_>) -> Result<i64, StoreError> {
        let audit_error = |source| StoreError::WriteAudit {
            action: entry.action.to_owned(),
            source,
        };
        let row = AuditInsert {
            at: millis(entry.at),
            actor: entry.actor,
            role: entry.role.map(Role::as_str),
            action: entry.action,
            target: entry.target,
            detail: serde_json::to_string(entry.detail)
                .map_err(|error| audit_error(sqlx::Error::Encode(Box::new(error))))?,
            remote: entry.remote,
        };
        backend!(self, engine => engine.insert_audit(&row).await).map_err(audit_error)
    }

    /// Up to `limit` audit entries with an id below `before` (`None`: from
    /// the newest), newest first.
    pub async fn audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        const WHAT: &str = "the audit log";
        let rows = backend!(self, engine => engine
            .audit_before(before.unwrap_or(i64::MAX), limit)
            .await)
        .map_err(|source| StoreError::Read { what: WHAT, source })?;
        rows.into_iter().map(|row| row.decode(WHAT)).collect()
    }
}
