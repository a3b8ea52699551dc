//! `POST /-/reload` (Prometheus's path, for operators who can reach the
//! port) and `POST /api/v1/reload` (an admin token, audited): re-read the
//! config and apply it to the running engine, through the [`Reloader`] the
//! binary gives, the same path `SIGHUP` takes. Answers 200 with what changed; otherwise the
//! one error shape: 400 `invalid_config` with every error of the config in
//! `details` (the running one is untouched), 500 `internal` when the engine
//! could not apply a valid one, 503 `unavailable` when this server does not
//! reload.

use std::future::Future;
use std::pin::Pin;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use watchkeeper_domain::access::Role;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Reloads the config; implemented by the binary, which knows the file.
pub trait Reloader: Send + Sync + 'static {
    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>>;
}

/// How a reload went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    Applied(ReloadApplied),
    /// The config is invalid: each error as `FILE:LINE:COL: message`.
    Rejected {
        errors: Vec<String>,
    },
    /// Valid, but the engine could not apply it.
    Failed {
        error: String,
    },
}

/// What a reload changed (monitor ids), and which changed settings wait
/// for a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReloadApplied {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    /// Settings that differ from the running ones but apply only after a
    /// restart, such as `[server] listen`.
    pub restart_required: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum ReloadBody {
    Applied(ReloadApplied),
}

pub(crate) async fn reload(State(state): State<AppState>) -> Result<Json<ReloadBody>, ApiError> {
    let Some(reloader) = state.reloader.clone() else {
        return Err(unavailable());
    };
    answer(reloader.reload().await)
}

/// `POST /api/v1/reload`: the same reload, for an admin token from
/// anywhere, written to the audit log (`config.reload`) with its outcome,
/// whatever it was. A refused token never reaches the reloader.
#[utoipa::path(
    post, path = "/reload", tag = "config",
    summary = "Read the config file again and apply it",
    responses((status = 200, description = "Applied", body = ReloadBody))
)]
pub(crate) async fn api_reload(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ReloadBody>, ApiError> {
    caller.require(Role::Admin)?;
    let Some(reloader) = state.reloader.clone() else {
        return Err(unavailable());
    };
    let outcome = reloader.reload().await;
    let detail = match &outcome {
        ReloadOutcome::Applied(applied) => serde_json::json!({
            "outcome": "applied",
            "added": applied.added,
            "removed": applied.removed,
            "changed": applied.changed,
            "restart_required": applied.restart_required,
        }),
        ReloadOutcome::Rejected { errors } => {
            serde_json::json!({ "outcome": "rejected", "errors": errors.len() })
        }
        ReloadOutcome::Failed { .. } => serde_json::json!({ "outcome": "failed" }),
    };
    // The reload happened whatever the log says.
    state
        .audit
        .record_or_log(&caller, "config.reload", "-", detail)
        .await;
    answer(outcome)
}

fn unavailable() -> ApiError {
    ApiError::Unavailable("this server cannot reload its configuration")
}

fn answer(outcome: ReloadOutcome) -> Result<Json<ReloadBody>, ApiError> {
    match outcome {
        ReloadOutcome::Applied(applied) => Ok(Json(ReloadBody::Applied(applied))),
        ReloadOutcome::Rejected { errors } => Err(ApiError::InvalidConfig(errors)),
        ReloadOutcome::Failed { error } => Err(ApiError::Internal(format!(
            "a valid configuration could not be applied: {error}"
        ))),
    }
}
