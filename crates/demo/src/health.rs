//! `GET /health`: the endpoint Watchkeeper watches, answered in the current [`Mode`].

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

use crate::mode::Mode;
use crate::server::HangSignal;
use crate::state::DemoState;

/// The version `/health` reports, like the services in our users' runbooks.
pub const VERSION: &str = "1.4.2";

/// Exact size of the body `/health` streams in [`Mode::Huge`]: 10 MiB.
pub const HUGE_BODY_BYTES: u64 = 10 * 1024 * 1024;

/// What [`Mode::Garbage`] answers: a 200 that claims to be JSON but is an
/// upstream's broken error page with bytes that are not UTF-8.
pub const GARBAGE_BODY: &[u8] =
    b"\xff\xfe<html><body>upstream sent \xc3\x28 garbage \x80\x81\xfe</body></html>\n";

const HUGE_PREFIX: &[u8] = b"{\"status\":\"ok\",\"padding\":\"";
const HUGE_SUFFIX: &[u8] = b"\"}";
const FILLER_CHUNK_BYTES: usize = 64 * 1024;
static FILLER: [u8; FILLER_CHUNK_BYTES] = [b'x'; FILLER_CHUNK_BYTES];

#[derive(Serialize)]
struct HealthBody<'a> {
    status: &'static str,
    version: &'static str,
    region: &'a str,
}

#[derive(Serialize)]
struct FailureBody {
    status: &'static str,
    error: &'static str,
}

pub(crate) async fn health(
    State(state): State<Arc<DemoState>>,
    Extension(hang): Extension<HangSignal>,
) -> Response {
    match state.admit_health_request() {
        Mode::Ok => status_json("ok", &state),
        Mode::Degraded => status_json("degraded", &state),
        Mode::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(FailureBody {
                status: "error",
                error: "database unavailable",
            }),
        )
            .into_response(),
        Mode::Slow => {
            tokio::time::sleep(state.slow_delay()).await;
            status_json("ok", &state)
        }
        Mode::Hang => {
            // Tell the connection it holds a request that will never be
            // answered, so shutdown drops it instead of waiting for ever.
            hang.mark_hanging();
            std::future::pending::<Response>().await
        }
        Mode::Garbage => (
            [(header::CONTENT_TYPE, "application/json")],
            Bytes::from_static(GARBAGE_BODY),
        )
            .into_response(),
        Mode::Huge => huge(),
    }
}

fn status_json(status: &'static str, state: &DemoState) -> Response {
    Json(HealthBody {
        status,
        version: VERSION,
        region: state.region(),
    })
    .into_response()
}

/// Streams `{"status":"ok","padding":"xxx…"}`, exactly [`HUGE_BODY_BYTES`]
/// long, in 64 KiB chunks and without a content-length, so a client only
/// learns the size by reading (or refusing to read) all of it.
fn huge() -> Response {
    let total = usize::try_from(HUGE_BODY_BYTES).unwrap_or(usize::MAX);
    let filler = total.saturating_sub(HUGE_PREFIX.len() + HUGE_SUFFIX.len());
    let full_chunks = filler / FILLER_CHUNK_BYTES;
    let last_chunk = filler % FILLER_CHUNK_BYTES;
    let chunks = std::iter::once(Bytes::from_static(HUGE_PREFIX))
        .chain(std::iter::repeat_n(
            Bytes::from_static(&FILLER),
            full_chunks,
        ))
        .chain(std::iter::once(Bytes::from_static(&FILLER[..last_chunk])))
        .chain(std::iter::once(Bytes::from_static(HUGE_SUFFIX)))
        .map(Ok::<_, Infallible>);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}
