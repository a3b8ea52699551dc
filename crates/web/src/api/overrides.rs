//! `/api/v1/schedules/{schedule}/overrides`: the overrides given at run
//! time, so a swap or holiday cover needs no deploy. `GET` lists those not
//! over yet; `POST` (responder) adds one, `{"person": "bob", "start":
//! RFC 3339 (default now), "end": RFC 3339 or "duration": "2d",
//! "comment": "…"}`, refused with 409 when it overlaps another (config's
//! or stored); `DELETE …/{id}` removes one. Written through the
//! [`OverrideWriter`] the binary gives; every change is audited.

use std::future::Future;
use std::pin::Pin;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use watchkeeper_domain::access::Role;
use watchkeeper_domain::id::PersonId;
use watchkeeper_domain::oncall::schedule::Override;
use watchkeeper_store::{NewOverride, OverrideConflict, StoredOverride};

use crate::AppState;
use crate::api::extract::{ApiBody, ApiPath};
use crate::api::oncall::{PersonBody, person_body, schedule_named};
use crate::api::wire::{parse_time, time};
use crate::auth::Caller;
use crate::error::ApiError;

/// The longest override: a quarter. Longer is a rotation change, which
/// belongs in the config.
const MAX_OVERRIDE: SignedDuration = SignedDuration::from_hours(92 * 24);

/// A write under way: its outcome, or the store's error as text.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Writes overrides; implemented by the binary over the store.
pub trait OverrideWriter: Send + Sync + 'static {
    fn add(&self, new: NewOverride) -> Pending<'_, Result<StoredOverride, OverrideConflict>>;
    /// `None` when there is no such override, or it was removed already.
    fn remove(
        &self,
        id: i64,
        by: String,
        at: Timestamp,
    ) -> Pin<Box<dyn Future<Output = Result<Option<StoredOverride>, String>> + Send + '_>>;
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideList {
    pub overrides: Vec<OverrideBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideBody {
    /// `null` for an override written in the config.
    pub id: Option<i64>,
    pub schedule: String,
    pub person: PersonBody,
    pub start: String,
    pub end: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewOverrideBody {
    /// A `[[person]]`'s id.
    person: String,
    /// Default: now.
    #[schema(format = DateTime)]
    start: Option<String>,
    /// `end` or `duration`.
    #[schema(format = DateTime)]
    end: Option<String>,
    /// `"8h"`, `"2d"`, from `start`.
    #[schema(schema_with = crate::api::openapi::schema::long_duration)]
    duration: Option<String>,
    comment: Option<String>,
}

fn stored_body(state: &AppState, row: &StoredOverride) -> OverrideBody {
    let directory = state.oncall.borrow();
    let person = PersonId::parse(&row.person).map_or_else(
        |_| PersonBody {
            id: row.person.clone(),
            name: row.person.clone(),
            email: None,
            slack: None,
            phone: None,
        },
        |id| person_body(&directory, &id),
    );
    OverrideBody {
        id: Some(row.id),
        schedule: row.schedule.clone(),
        person,
        start: time(row.start),
        end: time(row.end),
        author: Some(row.author.clone()),
        comment: (!row.comment.is_empty()).then(|| row.comment.clone()),
    }
}

#[utoipa::path(
    get, path = "/schedules/{schedule}/overrides", tag = "oncall",
    summary = "A schedule's current and coming overrides",
    params(("schedule" = String, Path, description = "The schedule's id")),
    responses((status = 200, description = "The overrides, by start", body = OverrideList))
)]
pub(crate) async fn list_overrides(
    State(state): State<AppState>,
    ApiPath(schedule): ApiPath<String>,
) -> Result<Json<OverrideList>, ApiError> {
    let (configured, id) = {
        let directory = state.oncall.borrow().clone();
        let schedule = schedule_named(&directory, &schedule)?;
        let now = state.clock.wall();
        let configured: Vec<OverrideBody> = schedule
            .overrides
            .iter()
            .filter(|one| one.end > now)
            .map(|one| OverrideBody {
                id: None,
                schedule: schedule.id.to_string(),
                person: person_body(&directory, &one.person),
                start: time(one.start),
                end: time(one.end),
                author: None,
                comment: None,
            })
            .collect();
        (configured, schedule.id.to_string())
    };
    let stored = state
        .queries
        .overrides(Some(&id), state.clock.wall())
        .await?;
    let mut overrides = configured;
    overrides.extend(stored.iter().map(|row| stored_body(&state, row)));
    overrides.sort_by(|a, b| a.start.cmp(&b.start));
    Ok(Json(OverrideList { overrides }))
}

#[utoipa::path(
    post, path = "/schedules/{schedule}/overrides", tag = "oncall",
    summary = "Put a person on call for a while",
    params(("schedule" = String, Path, description = "The schedule's id")),
    request_body(content = NewOverrideBody),
    responses((status = 201, description = "The override", body = OverrideBody))
)]
pub(crate) async fn create_override(
    State(state): State<AppState>,
    ApiPath(schedule): ApiPath<String>,
    caller: Caller,
    ApiBody(raw): ApiBody,
) -> Result<(StatusCode, Json<OverrideBody>), ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.overrides.clone() else {
        return Err(ApiError::Unavailable("this server does not take overrides"));
    };
    let now = state.clock.wall();
    let body: NewOverrideBody =
        serde_json::from_slice(&raw).map_err(|error| ApiError::bad("body", error.to_string()))?;
    let (schedule_id, person, configured) = {
        let directory = state.oncall.borrow().clone();
        let schedule = schedule_named(&directory, &schedule)?;
        let person = PersonId::parse(&body.person)
            .ok()
            .filter(|id| directory.person(id).is_some())
            .ok_or_else(|| {
                ApiError::bad(
                    "person",
                    format!("no [[person]] has the id {:?}", body.person),
                )
            })?;
        (schedule.id.to_string(), person, schedule.overrides.clone())
    };
    let start = match &body.start {
        Some(text) => parse_time("start", text)?,
        None => now,
    };
    let end = match (&body.end, &body.duration) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad("end", "give `end` or `duration`, not both"));
        }
        (Some(text), None) => parse_time("end", text)?,
        (None, Some(text)) => {
            // Days are whole days here ("2d"), as a person means them.
            let span = text
                .parse::<jiff::Span>()
                .ok()
                .and_then(|span| {
                    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                        .ok()
                })
                .filter(|span| span.is_positive())
                .ok_or_else(|| {
                    ApiError::bad(
                        "duration",
                        format!("not a duration such as \"8h\" or \"2d\": {text:?}"),
                    )
                })?;
            start
                .saturating_add(span)
                .map_err(|error| ApiError::bad("duration", error.to_string()))?
        }
        (None, None) => {
            return Err(ApiError::bad(
                "end",
                "give `end` (RFC 3339) or `duration` (\"8h\")",
            ));
        }
    };
    if end <= start {
        return Err(ApiError::bad(
            "end",
            format!("{} is not after the start {}", time(end), time(start)),
        ));
    }
    if end <= now {
        return Err(ApiError::bad(
            "end",
            format!("{} is already past", time(end)),
        ));
    }
    if end.duration_since(start) > MAX_OVERRIDE {
        return Err(ApiError::bad(
            "end",
            "an override may last at most 92 days; a longer change belongs in the schedule's rotation",
        ));
    }
    let candidate = Override {
        id: None,
        person: person.clone(),
        start,
        end,
    };
    if let Some(clash) = configured
        .iter()
        .find(|one| one.start < candidate.end && candidate.start < one.end)
    {
        return Err(ApiError::Conflict(format!(
            "it overlaps the override in the config for {} from {} to {}",
            clash.person,
            time(clash.start),
            time(clash.end)
        )));
    }
    let author = caller.actor().to_owned();
    let comment = body.comment.unwrap_or_default();
    let new = NewOverride {
        schedule: schedule_id.clone(),
        person: person.to_string(),
        start,
        end,
        author,
        comment,
        created_at: now,
    };
    let stored = match writer.add(new).await.map_err(ApiError::Internal)? {
        Ok(stored) => stored,
        Err(OverrideConflict { existing }) => {
            return Err(ApiError::Conflict(format!(
                "it overlaps override {} for {} from {} to {}",
                existing.id,
                existing.person,
                time(existing.start),
                time(existing.end)
            )));
        }
    };
    let detail = serde_json::json!({
        "schedule": schedule_id,
        "person": stored.person,
        "start": time(stored.start),
        "end": time(stored.end),
    });
    state
        .audit
        .record_or_log(&caller, "override.create", &stored.id.to_string(), detail)
        .await;
    Ok((StatusCode::CREATED, Json(stored_body(&state, &stored))))
}

#[utoipa::path(
    delete, path = "/schedules/{schedule}/overrides/{override}", tag = "oncall",
    summary = "Remove an override",
    params(
        ("schedule" = String, Path, description = "The schedule's id"),
        ("override" = String, Path, description = "The override's id"),
    ),
    responses((status = 200, description = "The removed override", body = OverrideBody))
)]
pub(crate) async fn remove_override(
    State(state): State<AppState>,
    ApiPath((schedule, id)): ApiPath<(String, String)>,
    caller: Caller,
) -> Result<Json<OverrideBody>, ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.overrides.clone() else {
        return Err(ApiError::Unavailable("this server does not take overrides"));
    };
    {
        let directory = state.oncall.borrow().clone();
        schedule_named(&directory, &schedule)?;
    }
    let unknown = || ApiError::UnknownOverride(id.clone());
    let number: i64 = id.parse().map_err(|_| unknown())?;
    // Only one of this schedule's, and not over yet.
    let current = state
        .queries
        .overrides(Some(&schedule), state.clock.wall())
        .await?;
    if !current.iter().any(|row| row.id == number) {
        return Err(unknown());
    }
    let removed = writer
        .remove(number, caller.actor().to_owned(), state.clock.wall())
        .await
        .map_err(ApiError::Internal)?
        .ok_or_else(unknown)?;
    let detail = serde_json::json!({ "schedule": schedule, "person": removed.person });
    state
        .audit
        .record_or_log(&caller, "override.remove", &id, detail)
        .await;
    Ok(Json(stored_body(&state, &removed)))
}
