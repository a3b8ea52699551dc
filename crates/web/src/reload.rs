//! `POST /-/reload` (Prometheus's path): re-reads the config and applies it
//! to the running engine, through the [`Reloader`] the binary gives, the
//! same path `SIGHUP` takes. Answers 200 with what changed, 400 with every
//! error of an invalid config (the running one is untouched), 500 when the
//! engine could not apply a valid one.

use std::future::Future;
use std::pin::Pin;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::AppState;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReloadApplied {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
    /// Settings that differ from the running ones but apply only after a
    /// restart, such as `[server] listen`.
    pub restart_required: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub(crate) enum ReloadBody {
    Applied(ReloadApplied),
    Rejected { errors: Vec<String> },
    Failed { error: String },
    Unavailable { error: &'static str },
}

pub(crate) async fn reload(State(state): State<AppState>) -> (StatusCode, Json<ReloadBody>) {
    let Some(reloader) = state.reloader.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ReloadBody::Unavailable {
                error: "this server cannot reload its configuration",
            }),
        );
    };
    match reloader.reload().await {
        ReloadOutcome::Applied(applied) => (StatusCode::OK, Json(ReloadBody::Applied(applied))),
        ReloadOutcome::Rejected { errors } => (
            StatusCode::BAD_REQUEST,
            Json(ReloadBody::Rejected { errors }),
        ),
        ReloadOutcome::Failed { error } => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(ReloadBody::Failed { error }),
        ),
    }
}
