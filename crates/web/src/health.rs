//! The binary's own health and metrics. `/health` says whether the store is
//! taking writes: `degraded` while writes fail (results wait in the write
//! buffer), and HTTP 503 once results are being dropped, so a load balancer
//! or an outside monitor sees data being lost.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use watchkeeper_engine::{StoreHealthSnapshot, Writing};

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
pub struct HealthBody {
    /// `ok`, or `degraded` while writes to the store fail.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub region: Option<String>,
    pub store: StoreHealthBody,
}

/// How writing to the store goes; see `watchkeeper_engine::StoreHealthSnapshot`.
#[derive(Debug, Serialize)]
pub struct StoreHealthBody {
    /// `ok` or `failing`.
    pub writing: &'static str,
    pub failing_since: Option<Timestamp>,
    /// The last failed write's error; the store's errors name the operation
    /// and SQLite's reason, never a secret.
    pub last_error: Option<String>,
    pub buffered_results: usize,
    pub buffer_capacity: usize,
    pub dropped_results: u64,
    /// Results are being dropped now (the answer is then a 503).
    pub dropping: bool,
}

impl From<StoreHealthSnapshot> for StoreHealthBody {
    fn from(snapshot: StoreHealthSnapshot) -> Self {
        let StoreHealthSnapshot {
            writing,
            failing_since,
            last_error,
            buffered_results,
            buffer_capacity,
            dropped_results,
            dropping,
        } = snapshot;
        Self {
            writing: writing.as_str(),
            failing_since,
            last_error,
            buffered_results,
            buffer_capacity,
            dropped_results,
            dropping,
        }
    }
}

/// The status code and `status` field for a store's health.
fn verdict(store: &StoreHealthSnapshot) -> (StatusCode, &'static str) {
    match (store.writing, store.dropping) {
        (Writing::Ok, _) => (StatusCode::OK, "ok"),
        (Writing::Failing, false) => (StatusCode::OK, "degraded"),
        (Writing::Failing, true) => (StatusCode::SERVICE_UNAVAILABLE, "degraded"),
    }
}

pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthBody>) {
    let store = state.store_health.snapshot();
    let (code, status) = verdict(&store);
    (
        code,
        Json(HealthBody {
            status,
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: state.started.elapsed().as_secs(),
            region: state.region.clone(),
            store: store.into(),
        }),
    )
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => ApiError::Internal(format!("cannot encode metrics: {error}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(writing: Writing, dropping: bool) -> StoreHealthSnapshot {
        StoreHealthSnapshot {
            writing,
            failing_since: None,
            last_error: None,
            buffered_results: 0,
            buffer_capacity: 1_000,
            dropped_results: u64::from(dropping),
            dropping,
        }
    }

    #[test]
    fn only_losing_data_makes_health_a_503() {
        assert_eq!(
            verdict(&snapshot(Writing::Ok, false)),
            (StatusCode::OK, "ok")
        );
        assert_eq!(
            verdict(&snapshot(Writing::Failing, false)),
            (StatusCode::OK, "degraded")
        );
        assert_eq!(
            verdict(&snapshot(Writing::Failing, true)),
            (StatusCode::SERVICE_UNAVAILABLE, "degraded")
        );
    }
}
