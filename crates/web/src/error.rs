//! JSON errors: every failure answers `{"error": "…"}` with a fitting status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no monitor with id `{0}`")]
    UnknownMonitor(String),
    #[error("the database could not answer: {0}")]
    Store(#[from] watchkeeper_store::StoreError),
    /// The handler did not answer within the server's request timeout.
    #[error("no answer within {0:?}")]
    TooSlow(std::time::Duration),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self {
            ApiError::UnknownMonitor(_) => StatusCode::NOT_FOUND,
            ApiError::Store(ref error) => {
                tracing::error!(error = %error, "store error while answering a request");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooSlow(limit) => {
                tracing::warn!(limit = ?limit, "a request took longer than the request timeout");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": format!("no route for {}", uri.path()) })),
    )
        .into_response()
}
