//! axum's extractors with their rejections in the API's one error shape.
//! axum answers a query string it cannot read (`?limit=x&limit=y`), a path
//! segment that is not UTF-8 or a body over the limit in plain text; these
//! answer the same `{"error": {"code": "bad_request", …}}` as every other
//! mistake, naming the part of the request at fault. The OpenAPI contract
//! test (schemathesis) found the plain-text answers.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The most a request body to `/api/v1` may hold. Every body the API takes
/// is a few hundred bytes of JSON.
pub const BODY_LIMIT: usize = 64 * 1024;

/// [`Query`], rejected as a 400 naming `query`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(query)| ApiQuery(query))
            .map_err(|rejection| ApiError::bad("query", rejection.body_text()))
    }
}

/// [`Path`], rejected as a 400 naming `path`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(path)| ApiPath(path))
            .map_err(|rejection| ApiError::bad("path", rejection.body_text()))
    }
}

/// The raw body (handlers parse their own JSON, to name the field at
/// fault), at most [`BODY_LIMIT`]: over it, a 413.
pub struct ApiBody(pub Bytes);

impl<S> FromRequest<S> for ApiBody
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(ApiBody)
            .map_err(|rejection: BytesRejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(BODY_LIMIT)
                } else {
                    ApiError::bad("body", rejection.body_text())
                }
            })
    }
}
