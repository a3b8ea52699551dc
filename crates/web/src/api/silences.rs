//! `/api/v1/silences`: list, create and expire silences, as Alertmanager's
//! API does. A silence mutes the alerts its matchers select between its
//! start and end: they are still recorded and listed, only not sent. The
//! store is written through the [`SilenceWriter`] the binary gives (which
//! also tells the dispatcher), never by the handler itself.
//!
//! `POST` takes `{"matchers": ["severity=P2", …], "comment": "…",
//! "created_by": "…", "starts_at": "RFC 3339" (default now), and
//! "ends_at": "RFC 3339" or "duration": "2h"}`; every mistake is a 400
//! that names its field.

use std::future::Future;
use std::pin::Pin;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use watchkeeper_domain::alert::matcher::Matcher;
use watchkeeper_domain::alert::silence::Silence;
use watchkeeper_store::StoredSilence;

use crate::AppState;
use crate::api::extract::{ApiBody, ApiPath, ApiQuery};
use crate::api::wire::{parse_time, time};
use crate::auth::Caller;
use crate::error::ApiError;
use watchkeeper_domain::access::Role;

/// Writes silences; implemented by the binary over the store.
pub trait SilenceWriter: Send + Sync + 'static {
    fn add(
        &self,
        silence: Silence,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    /// Ends the silence now; `false` when there is none or it had ended.
    fn expire(&self, id: String)
    -> Pin<Box<dyn Future<Output = Result<bool, String>> + Send + '_>>;
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SilenceQuery {
    /// `true`: expired silences too.
    #[param(schema_with = crate::api::openapi::schema::true_or_false)]
    all: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SilenceList {
    pub silences: Vec<SilenceBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SilenceBody {
    pub id: String,
    pub matchers: Vec<String>,
    pub starts_at: String,
    pub ends_at: String,
    pub created_by: String,
    pub comment: String,
    pub created_at: String,
    /// `pending` (starts later), `active` or `expired`.
    pub state: &'static str,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewSilence {
    /// Alertmanager's matchers, all of which an alert must match.
    #[schema(schema_with = crate::api::openapi::schema::matchers)]
    matchers: Vec<String>,
    /// Why (required).
    #[schema(schema_with = crate::api::openapi::schema::some_text)]
    comment: Option<String>,
    /// Who, on a server without tokens (a token names its holder).
    created_by: Option<String>,
    /// Default: now.
    #[schema(format = DateTime)]
    starts_at: Option<String>,
    /// `ends_at` or `duration`.
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    /// `"2h"`, from `starts_at`.
    #[schema(schema_with = crate::api::openapi::schema::duration)]
    duration: Option<String>,
}

fn body(stored: StoredSilence, now: Timestamp) -> SilenceBody {
    let silence = stored.silence;
    let state = if silence.ends_at <= now {
        "expired"
    } else if silence.starts_at > now {
        "pending"
    } else {
        "active"
    };
    SilenceBody {
        matchers: silence.matchers.iter().map(ToString::to_string).collect(),
        starts_at: time(silence.starts_at),
        ends_at: time(silence.ends_at),
        created_at: time(stored.created_at),
        id: silence.id,
        created_by: silence.created_by,
        comment: silence.comment,
        state,
    }
}

/// A new silence's id: `sil_` and 16 hex digits of its content, the
/// instant it was made and a per-process random key (two equal silences
/// made at the same instant get two ids).
fn silence_id(silence: &Silence, now: Timestamp) -> String {
    use std::hash::BuildHasher;
    let salt = std::collections::hash_map::RandomState::new().hash_one(now.as_nanosecond());
    let mut hasher = Sha256::new();
    hasher.update(salt.to_be_bytes());
    for matcher in &silence.matchers {
        hasher.update(matcher.to_string().as_bytes());
        hasher.update([0]);
    }
    hasher.update(silence.comment.as_bytes());
    hasher.update(now.as_nanosecond().to_be_bytes());
    let digest = hasher.finalize();
    let mut id = String::from("sil_");
    for byte in &digest[..8] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

/// Checks a request's body and makes the silence it asks for.
fn parse_new(raw: &[u8], now: Timestamp, author: Option<&str>) -> Result<Silence, ApiError> {
    let new: NewSilence =
        serde_json::from_slice(raw).map_err(|error| ApiError::bad("body", error.to_string()))?;
    if new.matchers.is_empty() {
        return Err(ApiError::bad(
            "matchers",
            "at least one matcher is needed, e.g. \"severity=P2\"",
        ));
    }
    let matchers = new
        .matchers
        .iter()
        .enumerate()
        .map(|(index, text)| {
            Matcher::parse(text)
                .map_err(|error| ApiError::bad(&format!("matchers[{index}]"), error.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let comment = new
        .comment
        .map(|comment| comment.trim().to_owned())
        .filter(|comment| !comment.is_empty())
        .ok_or_else(|| ApiError::bad("comment", "say why the alerts are silenced"))?;
    let starts_at = match &new.starts_at {
        Some(text) => parse_time("starts_at", text)?,
        None => now,
    };
    let ends_at = match (&new.ends_at, &new.duration) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "duration",
                "give `ends_at` or `duration`, not both",
            ));
        }
        (Some(text), None) => parse_time("ends_at", text)?,
        (None, Some(text)) => {
            let duration: SignedDuration = text.parse().map_err(|error| {
                ApiError::bad(
                    "duration",
                    format!("not a duration such as \"2h\" ({text:?}): {error}"),
                )
            })?;
            if duration <= SignedDuration::ZERO {
                return Err(ApiError::bad("duration", "must be more than zero"));
            }
            starts_at
                .checked_add(duration)
                .map_err(|error| ApiError::bad("duration", error.to_string()))?
        }
        (None, None) => return Err(ApiError::bad("ends_at", "give `ends_at` or `duration`")),
    };
    let created_by = author
        .map(str::to_owned)
        .or(new.created_by)
        .unwrap_or_else(|| "api".to_owned());
    let mut silence = Silence {
        id: String::new(),
        matchers,
        starts_at,
        ends_at,
        created_by,
        comment,
    };
    silence.validate().map_err(|error| {
        let field = match error {
            watchkeeper_domain::alert::silence::SilenceError::Inverted { .. } => "ends_at",
            _ => "matchers",
        };
        ApiError::bad(field, error.to_string())
    })?;
    if silence.ends_at <= now {
        return Err(ApiError::bad(
            "ends_at",
            "the silence would already have ended",
        ));
    }
    silence.id = silence_id(&silence, now);
    Ok(silence)
}

#[utoipa::path(
    get, path = "/silences", tag = "silences",
    summary = "Active and pending silences (all with `all=true`)",
    params(SilenceQuery),
    responses((status = 200, description = "The silences", body = SilenceList))
)]
pub(crate) async fn list_silences(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SilenceQuery>,
) -> Result<Json<SilenceList>, ApiError> {
    let now = state.clock.wall();
    let all = match query.all.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "all",
                format!("must be true or false, not {other:?}"),
            ));
        }
    };
    let silences = state
        .queries
        .silences(if all { Timestamp::MIN } else { now })
        .await?;
    Ok(Json(SilenceList {
        silences: silences.into_iter().map(|s| body(s, now)).collect(),
    }))
}

#[utoipa::path(
    get, path = "/silences/{silence}", tag = "silences",
    summary = "One silence",
    params(("silence" = String, Path, description = "The silence's id")),
    responses((status = 200, description = "The silence", body = SilenceBody))
)]
pub(crate) async fn get_silence(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SilenceBody>, ApiError> {
    let now = state.clock.wall();
    let silence = state
        .queries
        .silence(&id)
        .await?
        .ok_or(ApiError::UnknownSilence(id))?;
    Ok(Json(body(silence, now)))
}

#[utoipa::path(
    post, path = "/silences", tag = "silences",
    summary = "Silence the alerts that match, for a while",
    request_body(content = NewSilence),
    responses((status = 201, description = "The silence", body = SilenceBody))
)]
pub(crate) async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    ApiBody(raw): ApiBody,
) -> Result<(StatusCode, Json<SilenceBody>), ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.silences.clone() else {
        return Err(ApiError::Unavailable("this server does not take silences"));
    };
    let now = state.clock.wall();
    // A token names its holder; without one (an open server) the body may.
    let author = caller.role().map(|_| caller.actor().to_owned());
    let silence = parse_new(&raw, now, author.as_deref())?;
    let id = silence.id.clone();
    let detail = serde_json::json!({
        "matchers": silence.matchers.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "starts_at": time(silence.starts_at),
        "ends_at": time(silence.ends_at),
        "comment": silence.comment,
    });
    writer.add(silence).await.map_err(ApiError::Internal)?;
    state
        .audit
        .record_or_log(&caller, "silence.create", &id, detail)
        .await;
    let stored = state.queries.silence(&id).await?.ok_or_else(|| {
        ApiError::Internal(format!("silence {id} was written but cannot be read"))
    })?;
    Ok((StatusCode::CREATED, Json(body(stored, now))))
}

#[utoipa::path(
    delete, path = "/silences/{silence}", tag = "silences",
    summary = "Expire a silence now",
    params(("silence" = String, Path, description = "The silence's id")),
    responses((status = 200, description = "The expired silence", body = SilenceBody))
)]
pub(crate) async fn expire_silence(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    caller: Caller,
) -> Result<Json<SilenceBody>, ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.silences.clone() else {
        return Err(ApiError::Unavailable("this server does not take silences"));
    };
    if state.queries.silence(&id).await?.is_none() {
        return Err(ApiError::UnknownSilence(id));
    }
    let expired = writer
        .expire(id.clone())
        .await
        .map_err(ApiError::Internal)?;
    if expired {
        state
            .audit
            .record_or_log(&caller, "silence.expire", &id, serde_json::json!({}))
            .await;
    }
    let now = state.clock.wall();
    let stored = state
        .queries
        .silence(&id)
        .await?
        .ok_or(ApiError::UnknownSilence(id))?;
    Ok(Json(body(stored, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    fn field(result: Result<Silence, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("not a bad request: {other:?}"),
        }
    }

    #[test]
    fn a_good_body_makes_a_silence_from_now_for_its_duration() {
        let raw = br#"{"matchers":["severity=P2","team=~\"pay.*\""],"duration":"2h","comment":"deploy","created_by":"alice"}"#;
        let silence = parse_new(raw, now(), None).unwrap();
        assert_eq!(silence.starts_at, now());
        assert_eq!(
            silence.ends_at,
            "2026-12-02T12:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(silence.created_by, "alice");
        assert!(silence.id.starts_with("sil_"));
        // the caller's identity, when known, wins over the body's
        assert_eq!(
            parse_new(raw, now(), Some("token:ops")).unwrap().created_by,
            "token:ops"
        );
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases: [(&[u8], &str); 9] = [
            (b"not json", "body"),
            (
                br#"{"matchers":[],"duration":"1h","comment":"x"}"#,
                "matchers",
            ),
            (
                br#"{"matchers":["sev erity=P2"],"duration":"1h","comment":"x"}"#,
                "matchers[0]",
            ),
            (
                br#"{"matchers":["severity=P2"],"duration":"1h"}"#,
                "comment",
            ),
            (
                br#"{"matchers":["severity=P2"],"duration":"soon","comment":"x"}"#,
                "duration",
            ),
            (br#"{"matchers":["severity=P2"],"comment":"x"}"#, "ends_at"),
            (
                br#"{"matchers":["severity=P2"],"ends_at":"2026-12-02T09:00:00Z","comment":"x"}"#,
                "ends_at",
            ),
            (
                br#"{"matchers":["severity=~.*"],"duration":"1h","comment":"x"}"#,
                "matchers",
            ),
            (
                br#"{"matchers":["severity=P2"],"duration":"1h","comment":"x","until":"x"}"#,
                "body",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                field(parse_new(raw, now(), None)),
                expected,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
