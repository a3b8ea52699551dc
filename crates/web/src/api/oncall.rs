//! `/api/v1/oncall` and each schedule's calendar: who is on call now (or
//! at `?at=`) on every schedule (or `?schedule=`), since and until when,
//! and who comes next; `/api/v1/schedules/{id}.ics`, the schedule's shifts
//! from a week ago to 90 days ahead as iCalendar, for calendar apps (which
//! cannot send a header: the token may come as `?token=`, see `auth`).
//!
//! Both are pure readings of `domain::oncall::schedule` over the config's
//! schedules and the overrides stored at run time.

use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use icalendar::{Calendar, Component, Event, EventLike};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use watchkeeper_domain::id::{PersonId, ScheduleId};
use watchkeeper_domain::oncall::schedule::{
    OnCallSchedule, Override, SHIFT_HORIZON, Shift, Source,
};
use watchkeeper_domain::oncall::{Directory, Person};
use watchkeeper_store::StoredOverride;

use crate::AppState;
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::wire::{parse_time, time};
use crate::error::ApiError;

/// How far back and ahead a schedule's calendar reaches.
const CALENDAR_BACK: SignedDuration = SignedDuration::from_hours(7 * 24);
const CALENDAR_AHEAD: SignedDuration = SignedDuration::from_hours(90 * 24);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnCallQuery {
    /// Who is on call at this time (default: now).
    #[param(format = DateTime)]
    at: Option<String>,
    /// One schedule's id (default: every schedule).
    schedule: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnCallList {
    pub at: String,
    pub schedules: Vec<ScheduleNow>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleNow {
    pub id: String,
    pub name: String,
    /// The shift under way; `null` when nobody is on call then.
    pub on_call: Option<ShiftBody>,
    /// The shift after it (who takes over at its `until`).
    pub next: Option<ShiftBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShiftBody {
    pub person: PersonBody,
    /// `layer` (a rotation's turn) or `override`.
    pub source: &'static str,
    /// The layer's name, or the override's id when given at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_id: Option<i64>,
    /// `null` when the shift began more than a year before (a rotation of
    /// one person, say).
    pub since: Option<String>,
    /// `null` when nobody else takes over within a year.
    pub until: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonBody {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

pub(crate) fn person_body(directory: &Directory, id: &PersonId) -> PersonBody {
    match directory.person(id) {
        Some(Person {
            name,
            email,
            slack,
            phone,
            ..
        }) => PersonBody {
            id: id.to_string(),
            name: name.clone(),
            email: email.clone(),
            slack: slack.clone(),
            phone: phone.clone(),
        },
        // An override stored before a reload removed its person.
        None => PersonBody {
            id: id.to_string(),
            name: id.to_string(),
            email: None,
            slack: None,
            phone: None,
        },
    }
}

fn shift_body(directory: &Directory, shift: Shift, at: Timestamp) -> ShiftBody {
    let far_back = at.saturating_sub(SHIFT_HORIZON).unwrap_or(Timestamp::MIN);
    let far_ahead = at.saturating_add(SHIFT_HORIZON).unwrap_or(Timestamp::MAX);
    let (source, layer, override_id) = match shift.source {
        Source::Layer(name) => ("layer", Some(name), None),
        Source::Override(id) => ("override", None, id),
    };
    ShiftBody {
        person: person_body(directory, &shift.person),
        source,
        layer,
        override_id,
        since: (shift.start > far_back).then(|| time(shift.start)),
        until: (shift.end < far_ahead).then(|| time(shift.end)),
    }
}

/// The stored overrides as the domain reads them; one naming a person id
/// that does not parse (written by hand) is left out and logged.
pub(crate) fn domain_overrides(stored: &[StoredOverride]) -> Vec<Override> {
    stored
        .iter()
        .filter_map(|row| match PersonId::parse(&row.person) {
            Ok(person) => Some(Override {
                id: Some(row.id),
                person,
                start: row.start,
                end: row.end,
            }),
            Err(error) => {
                tracing::warn!(error = %error, id = row.id, "a stored override names no valid person; left out");
                None
            }
        })
        .collect()
}

pub(crate) fn schedule_named<'d>(
    directory: &'d Directory,
    name: &str,
) -> Result<&'d OnCallSchedule, ApiError> {
    ScheduleId::parse(name)
        .ok()
        .and_then(|id| directory.schedule(&id))
        .ok_or_else(|| ApiError::UnknownSchedule(name.to_owned()))
}

/// `?at=`: an RFC 3339 instant, or now.
fn instant(at: Option<&str>, now: Timestamp) -> Result<Timestamp, ApiError> {
    match at {
        None => Ok(now),
        Some(text) => parse_time("at", text),
    }
}

#[utoipa::path(
    get, path = "/oncall", tag = "oncall",
    summary = "Who is on call on each schedule now (or at `at`), and who is next",
    params(OnCallQuery),
    responses((status = 200, description = "Each schedule's shift", body = OnCallList))
)]
pub(crate) async fn list_oncall(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OnCallQuery>,
) -> Result<Json<OnCallList>, ApiError> {
    let directory = state.oncall.borrow().clone();
    let at = instant(query.at.as_deref(), state.clock.wall())?;
    let schedules: Vec<&OnCallSchedule> = match &query.schedule {
        Some(name) => vec![schedule_named(&directory, name)?],
        None => directory.schedules.iter().collect(),
    };
    let since = at.saturating_sub(SHIFT_HORIZON).unwrap_or(Timestamp::MIN);
    let mut listed = Vec::with_capacity(schedules.len());
    for schedule in schedules {
        let stored = state
            .queries
            .overrides(Some(schedule.id.as_str()), since)
            .await?;
        let extra = domain_overrides(&stored);
        let now = schedule.on_call(&extra, at);
        let far_ahead = at.saturating_add(SHIFT_HORIZON).unwrap_or(Timestamp::MAX);
        let next = now
            .as_ref()
            .filter(|shift| shift.end < far_ahead)
            .and_then(|shift| {
                schedule
                    .on_call(&extra, shift.end)
                    .map(|next| (shift.end, next))
            });
        listed.push(ScheduleNow {
            id: schedule.id.to_string(),
            name: schedule.name.clone(),
            on_call: now.map(|shift| shift_body(&directory, shift, at)),
            next: next.map(|(from, shift)| shift_body(&directory, shift, from)),
        });
    }
    Ok(Json(OnCallList {
        at: time(at),
        schedules: listed,
    }))
}

/// `GET /api/v1/schedules/{id}.ics`.
#[utoipa::path(
    get, path = "/schedules/{file}", tag = "oncall",
    summary = "A schedule's shifts as iCalendar (`/schedules/{id}.ics`)",
    params(("file" = String, Path, description = "The schedule's id followed by `.ics`")),
    responses((status = 200, description = "The shifts from a week ago to 90 days ahead", body = String, content_type = "text/calendar"))
)]
pub(crate) async fn schedule_calendar(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let Some(name) = file.strip_suffix(".ics") else {
        return Err(ApiError::NoRoute(format!("/api/v1/schedules/{file}")));
    };
    let directory = state.oncall.borrow().clone();
    let schedule = schedule_named(&directory, name)?;
    let now = state.clock.wall();
    let from = now.saturating_sub(CALENDAR_BACK).unwrap_or(Timestamp::MIN);
    let until = now.saturating_add(CALENDAR_AHEAD).unwrap_or(Timestamp::MAX);
    let stored = state
        .queries
        .overrides(Some(schedule.id.as_str()), from)
        .await?;
    let shifts = schedule.shifts(&domain_overrides(&stored), from, until);
    let body = calendar(&directory, schedule, &shifts);
    Ok((
        [
            (CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// The shifts as RFC 5545 events, in UTC; each event's UID names the
/// schedule, the shift's start and its person, so a calendar app updates
/// a shift that moves instead of duplicating it.
pub(crate) fn calendar(
    directory: &Directory,
    schedule: &OnCallSchedule,
    shifts: &[Shift],
) -> String {
    let mut calendar = Calendar::new();
    calendar.name(&format!("On call: {}", schedule.name));
    calendar.ttl(&chrono::Duration::hours(1));
    for shift in shifts {
        let person = person_body(directory, &shift.person);
        let why = match &shift.source {
            Source::Layer(layer) => format!("rotation layer {layer}"),
            Source::Override(Some(id)) => format!("override {id}"),
            Source::Override(None) => "override in the config".to_owned(),
        };
        let event = Event::new()
            .uid(&format!(
                "{}-{}-{}@watchkeeper",
                schedule.id,
                shift.start.as_second(),
                shift.person
            ))
            .summary(&format!("On call: {} ({})", person.name, schedule.name))
            .description(&format!(
                "{} is on call on schedule {} ({why}).",
                person.name, schedule.id
            ))
            .starts(utc(shift.start))
            .ends(utc(shift.end))
            .done();
        calendar.push(event);
    }
    calendar.done().to_string()
}

fn utc(at: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(at.as_second(), at.subsec_nanosecond().unsigned_abs())
        .unwrap_or_default()
}
