//! The binary's own health and metrics. `/health` tells the truth: `ok`
//! while the recorder and the store make progress; otherwise `degraded`
//! with its `problems`, each a sentence, and HTTP 503 once one of them is
//! serious — writes failing for longer than 30 s, results being dropped,
//! the recorder fallen behind, a task dead (`watchkeeper_engine::health`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use watchkeeper_engine::{HealthReport, StoreHealthSnapshot, TaskSnapshot, TaskState};

use crate::AppState;
use crate::error::ApiError;

#[derive(Debug, Serialize)]
pub struct HealthBody {
    /// `ok`, or `degraded` while anything is in `problems`.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_seconds: u64,
    pub region: Option<String>,
    /// What is wrong, each a short sentence; empty when `ok`.
    pub problems: Vec<String>,
    pub store: StoreHealthBody,
    pub recorder: RecorderBody,
    pub tasks: Vec<TaskBody>,
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

#[derive(Debug, Serialize)]
pub struct RecorderBody {
    /// Results (and other inputs) waiting for the recorder.
    pub waiting: usize,
    pub last_taken: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct TaskBody {
    pub name: &'static str,
    /// `running`, `restarting`, `dead` or `stopped`.
    pub state: &'static str,
    pub restarts: u32,
    pub last_error: Option<String>,
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

impl From<TaskSnapshot> for TaskBody {
    fn from(task: TaskSnapshot) -> Self {
        let TaskSnapshot {
            name,
            on_failure: _,
            state,
            restarts,
            last_error,
        } = task;
        Self {
            name,
            state: match state {
                TaskState::Running => "running",
                TaskState::Restarting => "restarting",
                TaskState::Dead => "dead",
                TaskState::Stopped => "stopped",
            },
            restarts,
            last_error,
        }
    }
}

/// The status code and `status` field for a report.
fn verdict(report: &HealthReport) -> (StatusCode, &'static str) {
    if report.is_unhealthy() {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    } else if report.problems.is_empty() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::OK, "degraded")
    }
}

pub(crate) async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthBody>) {
    let report = state.health.report();
    let (code, status) = verdict(&report);
    let HealthReport {
        store,
        recorder,
        tasks,
        problems,
    } = report;
    (
        code,
        Json(HealthBody {
            status,
            version: env!("CARGO_PKG_VERSION"),
            uptime_seconds: state.started.elapsed().as_secs(),
            region: state.region.clone(),
            problems: problems
                .into_iter()
                .map(|problem| problem.message)
                .collect(),
            store: store.into(),
            recorder: RecorderBody {
                waiting: recorder.waiting,
                last_taken: recorder.last_taken,
            },
            tasks: tasks.into_iter().map(TaskBody::from).collect(),
        }),
    )
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
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
    use watchkeeper_engine::health::RecorderReading;
    use watchkeeper_engine::{Problem, Writing};

    use super::*;

    fn report(problems: &[(bool, &str)]) -> HealthReport {
        HealthReport {
            store: StoreHealthSnapshot {
                writing: Writing::Ok,
                failing_since: None,
                last_error: None,
                buffered_results: 0,
                buffer_capacity: 1_000,
                dropped_results: 0,
                dropping: false,
            },
            recorder: RecorderReading {
                waiting: 0,
                last_taken: Timestamp::UNIX_EPOCH,
            },
            tasks: Vec::new(),
            problems: problems
                .iter()
                .map(|(unhealthy, message)| Problem {
                    unhealthy: *unhealthy,
                    message: (*message).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn only_a_serious_problem_makes_health_a_503() {
        assert_eq!(verdict(&report(&[])), (StatusCode::OK, "ok"));
        assert_eq!(
            verdict(&report(&[(
                false,
                "Writes to the store have failed for 3 s: busy."
            )])),
            (StatusCode::OK, "degraded")
        );
        assert_eq!(
            verdict(&report(&[
                (false, "Writes to the store have failed for 3 s: busy."),
                (
                    true,
                    "The recorder task died (it panicked: boom); the process is exiting."
                )
            ])),
            (StatusCode::SERVICE_UNAVAILABLE, "degraded")
        );
    }
}
