//! JSON errors. Every failure, from any router, answers one shape:
//!
//! ```json
//! {"error": {"code": "not_found", "message": "no monitor with id `api`"}}
//! ```
//!
//! `code` is stable and meant for programs; `message` is for people. An
//! internal failure (the store could not answer) never puts its own text
//! in the answer: it is logged with an id, and the answer is `internal`
//! with that id, so an operator can find the log line a user reports.

use std::hash::{BuildHasher, RandomState};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::OriginalUri;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no monitor with id `{0}`")]
    UnknownMonitor(String),
    #[error("no alert with fingerprint `{0}`")]
    UnknownAlert(String),
    #[error("no delivery with id `{0}`")]
    UnknownDelivery(String),
    #[error("no silence with id `{0}`")]
    UnknownSilence(String),
    #[error("no on-call schedule with id `{0}`")]
    UnknownSchedule(String),
    #[error("no current override with id `{0}` on this schedule")]
    UnknownOverride(String),
    #[error("no incident with id `{0}`")]
    UnknownIncident(String),
    #[error("no subscriber with id `{0}`")]
    UnknownSubscriber(i64),
    /// What was asked clashes with what is stored (an override that
    /// overlaps another), said how.
    #[error("{0}")]
    Conflict(String),
    /// A request's parameter or body field is wrong: `field` names it.
    #[error("`{field}`: {message}")]
    BadRequest { field: String, message: String },
    #[error("no route for {0}")]
    NoRoute(String),
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: Method, path: String },
    #[error("the database could not answer: {0}")]
    Store(#[from] watchkeeper_store::StoreError),
    /// Something the binary itself failed at (encoding metrics, applying
    /// a reload).
    #[error("{0}")]
    Internal(String),
    /// A new configuration was refused; each error is `FILE:LINE:COL:
    /// message`, in `details`.
    #[error("the new configuration has {} error{}; the running one is unchanged", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    InvalidConfig(Vec<String>),
    /// This server does not offer what was asked.
    #[error("{0}")]
    Unavailable(&'static str),
    /// No token, or one that lets nobody in (answered with
    /// `WWW-Authenticate: Bearer`).
    #[error("{}", .0.message())]
    Unauthorized(crate::auth::Unauthorized),
    /// A token whose role is too weak for what was asked.
    #[error("this needs a token with the {needed} role; this one is {role}")]
    Forbidden {
        needed: watchkeeper_domain::access::Role,
        role: watchkeeper_domain::access::Role,
    },
    /// Over a rate limit (`what`: requests, failed authentications);
    /// answered with `Retry-After`.
    #[error("too many {what} from this address; try again in {} s", retry_seconds(*.retry_after))]
    TooManyRequests {
        what: &'static str,
        retry_after: std::time::Duration,
    },
    /// A request body over the API's limit (bytes).
    #[error("the body is larger than the {0} bytes the API takes")]
    TooLarge(usize),
    /// The handler did not answer within the server's request timeout.
    #[error("no answer within {} s", .0.as_secs_f64())]
    TooSlow(std::time::Duration),
}

/// `Retry-After` in whole seconds, at least one.
pub(crate) fn retry_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `not_found`, `method_not_allowed`, `internal`,
    /// `timeout`, `invalid_config`, `unavailable`, `unauthorized`,
    /// `forbidden`, `bad_request`, `conflict`, `rate_limited`,
    /// `payload_too_large`.
    pub code: &'static str,
    /// For people; never carries an internal error's text.
    pub message: String,
    /// Each problem, when there are several (a config's errors); absent
    /// otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl ApiError {
    /// A 400 naming the parameter or body field at fault.
    pub(crate) fn bad(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::UnknownMonitor(_)
            | ApiError::UnknownAlert(_)
            | ApiError::UnknownDelivery(_)
            | ApiError::UnknownSilence(_)
            | ApiError::UnknownSubscriber(_)
            | ApiError::UnknownSchedule(_)
            | ApiError::UnknownOverride(_)
            | ApiError::UnknownIncident(_)
            | ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            ApiError::Store(_) | ApiError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            ApiError::TooSlow(_) => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::InvalidConfig(_) => (StatusCode::BAD_REQUEST, "invalid_config"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        }
    }

    /// What the client is told: the error itself, or for an internal one
    /// only the id of the log line that holds it.
    fn public_message(&self) -> String {
        match self {
            ApiError::Store(_) | ApiError::Internal(_) => {
                let id = next_error_id();
                tracing::error!(error_id = %id, error = %self, "internal error while answering a request");
                format!("internal error {id}; the server's log has the details under this id")
            }
            ApiError::TooSlow(limit) => {
                tracing::warn!(limit = ?limit, "a request took longer than the request timeout");
                self.to_string()
            }
            _ => self.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.public_message();
        // RFC 6750: a 401 names the scheme the client should use.
        let challenge = matches!(self, ApiError::Unauthorized(_));
        let retry_after = match &self {
            ApiError::TooManyRequests { retry_after, .. } => Some(retry_seconds(*retry_after)),
            _ => None,
        };
        let details = match self {
            ApiError::InvalidConfig(errors) => errors,
            _ => Vec::new(),
        };
        let mut response = (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code,
                    message,
                    details,
                },
            }),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if challenge {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"watchkeeper\""),
            );
        }
        response
    }
}

/// An id for one internal error: a per-process random prefix and a
/// counter, so ids from two processes (or two runs) do not collide and a
/// log search for one finds exactly one line.
fn next_error_id() -> String {
    static PREFIX: LazyLock<u32> = LazyLock::new(|| RandomState::new().hash_one(0u8) as u32);
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("E{:08x}-{n}", *PREFIX)
}

/// The path as the client sent it: inside a nested router (`/api/v1`) the
/// request's own URI has lost the prefix.
pub(crate) async fn not_found(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NoRoute(uri.path().to_owned())
}

pub(crate) async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_ids_are_distinct_and_share_the_process_prefix() {
        let a = next_error_id();
        let b = next_error_id();
        assert_ne!(a, b);
        assert_eq!(a.split('-').next(), b.split('-').next());
        assert!(a.starts_with('E') && a.len() >= 11, "{a}");
    }

    #[test]
    fn an_internal_error_never_shows_its_text() {
        let error = ApiError::Internal("SELECT secret FROM table failed".into());
        let message = error.public_message();
        assert!(!message.contains("SELECT"), "{message}");
        assert!(message.starts_with("internal error E"), "{message}");
    }
}
