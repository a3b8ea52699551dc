//! The audit log, from the web's side: [`Audit::record`], which every
//! handler that changes something calls with its [`Caller`], and
//! `GET /api/v1/audit` (admins), newest first, paged by id.
//!
//! Besides a token's last use, this is the only thing a handler writes:
//! `AppState` holds no `Store`, only this append-only recorder, the token
//! [`crate::auth::Authority`] and the read-only `Queries`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::{AuditEntry, NewAuditEntry, Store};

use crate::AppState;
use crate::api::extract::ApiQuery;
use crate::api::wire::time;
use crate::auth::Caller;
use crate::error::ApiError;

/// Entries per page when `limit` is not given, and the most one page holds.
pub const DEFAULT_AUDIT_PAGE: u32 = 100;
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// Appends to the audit log. Cheap to clone.
#[derive(Clone)]
pub struct Audit {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Audit {
    pub(crate) fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Writes who (`caller`: token name and role, address) did `action`
    /// (`noun.verb`, such as `silence.create`) to `target` (an id, or `-`
    /// for the whole system), with `detail`, now. Returns the entry's id.
    pub async fn record(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<i64, ApiError> {
        let remote = caller.remote.map(|address| address.to_string());
        let entry = NewAuditEntry {
            at: self.clock.now(),
            actor: caller.actor(),
            role: caller.role(),
            action,
            target,
            detail: &detail,
            remote: remote.as_deref(),
        };
        Ok(self.store.record_audit(&entry).await?)
    }

    /// [`Audit::record`] for a change that has happened already: a failed
    /// write is logged with the entry's particulars (the change stands, and
    /// is answered as it went).
    pub async fn record_or_log(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) {
        if let Err(error) = self.record(caller, action, target, detail.clone()).await {
            tracing::error!(
                error = %error,
                actor = caller.actor(),
                remote = ?caller.remote,
                action,
                target,
                detail = %detail,
                "cannot write an audit entry"
            );
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// At most this many (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Entries with an id below this (the previous page's `next_before`).
    before: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditBody>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next_before: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditBody {
    pub id: i64,
    pub at: String,
    /// A token's name, or `public`.
    pub actor: String,
    pub role: Option<&'static str>,
    pub action: String,
    pub target: String,
    pub detail: serde_json::Value,
    /// `IP:PORT` of the client.
    pub remote: Option<String>,
}

impl From<AuditEntry> for AuditBody {
    fn from(entry: AuditEntry) -> Self {
        AuditBody {
            id: entry.id,
            at: time(entry.at),
            actor: entry.actor,
            role: entry.role.map(|role| role.as_str()),
            action: entry.action,
            target: entry.target,
            detail: entry.detail,
            remote: entry.remote,
        }
    }
}

/// `GET /api/v1/audit?limit=&before=`.
#[utoipa::path(
    get, path = "/audit", tag = "audit",
    summary = "Every change made over the API, newest first",
    params(AuditQuery),
    responses((status = 200, description = "A page of the audit log", body = AuditPage))
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let AuditQuery { limit, before } = query;
    let limit = limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest {
            field: "limit".to_owned(),
            message: format!("must be from 1 to {MAX_AUDIT_PAGE}, not {limit}"),
        });
    }
    let entries = state.queries.audit(before, limit).await?;
    let full = u32::try_from(entries.len()).is_ok_and(|len| len == limit);
    let next_before = entries.last().filter(|_| full).map(|entry| entry.id);
    Ok(Json(AuditPage {
        entries: entries.into_iter().map(AuditBody::from).collect(),
        next_before,
    }))
}
