//! The control endpoints a person (or a test) uses to switch the demo's mode
//! with curl, and the plain-text index page.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::delay::{DelayError, parse_delay};
use crate::mode::{Mode, UnknownMode};
use crate::state::DemoState;

/// Why a control request was refused; answered as 400 with the message.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Mode(#[from] UnknownMode),
    #[error(transparent)]
    Delay(#[from] DelayError),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, format!("{self}\n")).into_response()
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ModeQuery {
    /// Slow-mode delay, e.g. `2500ms` or `2.5s`.
    delay: Option<String>,
}

pub(crate) const INDEX_PAGE: &str = "\
watchkeeper-demo: a pretend API that can be told to misbehave

GET  /health                   the endpoint to watch; answers according to the mode
GET  /control                  current mode, slow delay and /health request counts (JSON)
PUT  /control/mode             body: a mode name; optional ?delay=2500ms for slow
POST /control/mode/<name>      same, without a body
POST /hooks/watchkeeper        a webhook receiver for Watchkeeper's notifications: checks
                               the Standard Webhooks signature (--receiver-secret) and
                               prints one line per notification
GET  /hooks/watchkeeper        the last 50 notifications received (JSON)
GET  /                         this page

modes: ok, degraded, fail, slow, hang, garbage, huge

examples:
  curl -X POST localhost:9001/control/mode/fail
  curl -X PUT --data slow 'localhost:9001/control/mode?delay=3s'
";

pub(crate) async fn index() -> &'static str {
    INDEX_PAGE
}

pub(crate) async fn show(State(state): State<Arc<DemoState>>) -> Response {
    snapshot_response(&state)
}

pub(crate) async fn put_mode(
    State(state): State<Arc<DemoState>>,
    Query(query): Query<ModeQuery>,
    body: String,
) -> Result<Response, ControlError> {
    apply(&state, &body, query.delay.as_deref())
}

pub(crate) async fn post_mode(
    State(state): State<Arc<DemoState>>,
    Path(name): Path<String>,
    Query(query): Query<ModeQuery>,
) -> Result<Response, ControlError> {
    apply(&state, &name, query.delay.as_deref())
}

pub(crate) async fn not_found() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "not found; GET / lists the endpoints\n",
    )
}

/// Validates everything before changing anything, so a bad delay does not
/// leave the mode half-switched.
fn apply(state: &DemoState, name: &str, delay: Option<&str>) -> Result<Response, ControlError> {
    let mode: Mode = name.parse()?;
    let delay = delay.map(parse_delay).transpose()?;
    if let Some(delay) = delay {
        state.set_slow_delay(delay);
    }
    state.set_mode(mode);
    Ok(snapshot_response(state))
}

fn snapshot_response(state: &DemoState) -> Response {
    match serde_json::to_string_pretty(&state.snapshot()) {
        Ok(mut text) => {
            text.push('\n');
            ([(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render control state: {error}\n"),
        )
            .into_response(),
    }
}
