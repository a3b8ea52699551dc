//! `/api/v1/incidents`: list (newest first, `before` cursor, `status=open`,
//! `since` / `until` on the start time), open one (a responder), read one
//! with its whole timeline, post an update (a responder), its postmortem
//! as Markdown, and MTTA / MTTR per severity (`/incidents/stats`).
//!
//! Requests are checked and rendered by `watchkeeper_incidents::manual`
//! against the config's severities, components and templates; the store
//! is written through the [`IncidentWriter`] the binary gives, and every
//! change is audited. `"preview": true` renders the update and answers
//! it without writing anything.

mod wire;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use watchkeeper_domain::access::Role;
use watchkeeper_domain::incident::{Impact, IncidentStatus};
use watchkeeper_incidents::manual::{self, OpenRequest, RequestError, UpdateRequest};
use watchkeeper_incidents::timeline::postmortem_facts;
use watchkeeper_store::{IncidentChange, IncidentQuery, NewIncident, StoredIncident};

use crate::AppState;
use crate::api::extract::{ApiBody, ApiPath, ApiQuery};
use crate::api::overrides::Pending;
use crate::api::wire::parse_time;
use crate::auth::Caller;
use crate::error::ApiError;
pub use wire::{IncidentBody, IncidentDetail, IncidentPage, IncidentStats};

/// Incidents per page when `limit` is not given, and the most one holds.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
/// The most incidents MTTA / MTTR are computed over.
const STATS_LIMIT: usize = 10_000;
/// MTTA / MTTR cover this much history unless `since` says otherwise.
const STATS_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Writes incidents; implemented by the binary over the store.
pub trait IncidentWriter: Send + Sync + 'static {
    fn open(&self, incident: NewIncident) -> Pending<'_, i64>;
    /// `None` when there is no such incident.
    fn change(&self, change: IncidentChange) -> Pending<'_, Option<StoredIncident>>;
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `open`, or `all` (the default).
    #[param(schema_with = crate::api::openapi::schema::open_or_all)]
    status: Option<String>,
    /// Incidents that started at or after this time.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Incidents that started before this time.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Incidents numbered below this (the previous page's `next_before`).
    before: Option<i64>,
    /// At most this many (1–500, default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// From this time (default: 30 days ago).
    #[param(format = DateTime)]
    since: Option<String>,
}

/// The body of `POST /incidents/{id}/updates`; `POST /incidents` also
/// takes `title` and `severity` (then required) and `components`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    title: Option<String>,
    severity: Option<String>,
    /// `{"payments": "partial_outage"}`.
    #[schema(schema_with = crate::api::openapi::schema::impacts)]
    components: Option<BTreeMap<String, String>>,
    #[schema(schema_with = crate::api::openapi::schema::incident_status)]
    status: Option<String>,
    template: Option<String>,
    message: Option<String>,
    /// `"30m"`.
    #[schema(schema_with = crate::api::openapi::schema::duration)]
    next_update: Option<String>,
    commander: Option<String>,
    /// Who posts, on a server without tokens (a token names its holder).
    author: Option<String>,
    #[serde(default)]
    preview: bool,
}

fn request_error(error: RequestError) -> ApiError {
    ApiError::bad(error.field, error.message)
}

fn parse_body(raw: &[u8]) -> Result<UpdateBody, ApiError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(UpdateBody::default());
    }
    serde_json::from_slice(raw).map_err(|error| ApiError::bad("body", error.to_string()))
}

fn parse_impacts(
    raw: Option<BTreeMap<String, String>>,
) -> Result<BTreeMap<String, Impact>, ApiError> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(component, impact)| match Impact::parse(&impact) {
            Some(parsed) => Ok((component, parsed)),
            None => Err(ApiError::bad(
                "components",
                format!(
                    "impact of `{component}` is `{impact}`; an impact is degraded_performance, partial_outage or major_outage"
                ),
            )),
        })
        .collect()
}

fn parse_next_update(raw: Option<&str>) -> Result<Option<Duration>, ApiError> {
    let Some(text) = raw else { return Ok(None) };
    let duration: SignedDuration = text.parse().map_err(|error| {
        ApiError::bad(
            "next_update",
            format!("not a duration such as \"30m\" ({text:?}): {error}"),
        )
    })?;
    if duration <= SignedDuration::ZERO {
        return Err(ApiError::bad("next_update", "must be more than zero"));
    }
    Ok(Some(duration.unsigned_abs()))
}

/// The update a body asks for, by `author`.
fn update_request(body: &UpdateBody, author: String) -> Result<UpdateRequest, ApiError> {
    let status = body
        .status
        .as_deref()
        .map(|text| {
            IncidentStatus::parse(text).ok_or_else(|| {
                ApiError::bad(
                    "status",
                    format!("`{text}` is not a status; a status is investigating, identified, monitoring, resolved or postmortem"),
                )
            })
        })
        .transpose()?;
    Ok(UpdateRequest {
        status,
        template: body.template.clone(),
        message: body.message.clone(),
        next_update: parse_next_update(body.next_update.as_deref())?,
        commander: body.commander.clone().filter(|c| !c.trim().is_empty()),
        severity: body.severity.clone(),
        impacts: parse_impacts(body.components.clone())?,
        author,
    })
}

/// A token names its holder; without one (an open server) the body may.
fn author(caller: &Caller, body: &UpdateBody) -> String {
    match caller.role() {
        Some(_) => caller.actor().to_owned(),
        None => body
            .author
            .clone()
            .filter(|author| !author.trim().is_empty())
            .unwrap_or_else(|| "api".to_owned()),
    }
}

fn parse_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::UnknownIncident(text.to_owned()))
}

#[utoipa::path(
    get, path = "/incidents", tag = "incidents",
    summary = "Incidents, newest first, a page at a time",
    params(ListQuery),
    responses((status = 200, description = "A page of incidents", body = IncidentPage))
)]
pub(crate) async fn list_incidents(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<IncidentPage>, ApiError> {
    let open_only = match query.status.as_deref() {
        None | Some("all") => false,
        Some("open") => true,
        Some(other) => {
            return Err(ApiError::bad(
                "status",
                format!("must be open or all, not {other:?}"),
            ));
        }
    };
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad(
            "limit",
            format!("must be from 1 to {MAX_PAGE}, not {limit}"),
        ));
    }
    let since = query
        .since
        .as_deref()
        .map(|t| parse_time("since", t))
        .transpose()?;
    let until = query
        .until
        .as_deref()
        .map(|t| parse_time("until", t))
        .transpose()?;
    let incidents = state
        .queries
        .incidents(&IncidentQuery {
            open_only,
            since,
            until,
            before: query.before,
            limit,
        })
        .await?;
    let full = u32::try_from(incidents.len()).is_ok_and(|len| len == limit);
    let next_before = incidents
        .last()
        .filter(|_| full)
        .map(|incident| incident.id);
    let settings = state.incident_settings.borrow().clone();
    let now = state.clock.wall();
    Ok(Json(IncidentPage {
        incidents: incidents
            .iter()
            .map(|incident| IncidentBody::new(incident, &settings.names, now))
            .collect(),
        next_before,
    }))
}

async fn stored(state: &AppState, id: &str) -> Result<StoredIncident, ApiError> {
    let number = parse_id(id)?;
    state
        .queries
        .incident(number)
        .await?
        .ok_or_else(|| ApiError::UnknownIncident(id.to_owned()))
}

#[utoipa::path(
    get, path = "/incidents/{incident}", tag = "incidents",
    summary = "One incident with its whole timeline",
    params(("incident" = String, Path, description = "The incident's number")),
    responses((status = 200, description = "The incident", body = IncidentDetail))
)]
pub(crate) async fn get_incident(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let incident = stored(&state, &id).await?;
    let settings = state.incident_settings.borrow().clone();
    let now = state.clock.wall();
    let record = state
        .queries
        .incident_record(&incident, &settings.names, now)
        .await?;
    Ok(Json(IncidentDetail {
        incident: IncidentBody::new(&incident, &settings.names, now),
        timeline: record.timeline.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    get, path = "/incidents/{incident}/postmortem.md", tag = "incidents",
    summary = "The incident's postmortem as Markdown, measured from the store",
    params(("incident" = String, Path, description = "The incident's number")),
    responses((status = 200, description = "The postmortem", body = String, content_type = "text/markdown"))
)]
pub(crate) async fn postmortem(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let incident = stored(&state, &id).await?;
    let settings = state.incident_settings.borrow().clone();
    let now = state.clock.wall();
    let record = state
        .queries
        .incident_record(&incident, &settings.names, now)
        .await?;
    let facts = postmortem_facts(&incident, &record, &settings.names, now);
    let markdown = watchkeeper_incidents::postmortem::render(&facts)
        .map_err(|error| ApiError::Internal(format!("the postmortem does not render: {error}")))?;
    Ok((
        [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
        markdown,
    )
        .into_response())
}

fn writer(state: &AppState) -> Result<std::sync::Arc<dyn IncidentWriter>, ApiError> {
    state
        .incidents
        .clone()
        .ok_or(ApiError::Unavailable("this server does not take incidents"))
}

#[utoipa::path(
    post, path = "/incidents", tag = "incidents",
    summary = "Open an incident with its first update",
    request_body(content = UpdateBody, description = "`title` and `severity` are required"),
    responses(
        (status = 201, description = "Opened", body = wire::Posted),
        (status = 200, description = "Only previewed (`\"preview\": true`)", body = wire::Posted),
    )
)]
pub(crate) async fn open_incident(
    State(state): State<AppState>,
    caller: Caller,
    ApiBody(raw): ApiBody,
) -> Result<(StatusCode, Json<wire::Posted>), ApiError> {
    caller.require(Role::Responder)?;
    let writer = writer(&state)?;
    let body = parse_body(&raw)?;
    let title = body.title.clone().ok_or_else(|| {
        ApiError::bad(
            "title",
            "say what is wrong, e.g. \"Payment Processing Delays\"",
        )
    })?;
    let severity = body
        .severity
        .clone()
        .ok_or_else(|| ApiError::bad("severity", "give the incident's severity, e.g. \"P1\""))?;
    let request = OpenRequest {
        title,
        severity,
        components: parse_impacts(body.components.clone())?,
        update: UpdateRequest {
            severity: None,
            impacts: BTreeMap::new(),
            ..update_request(&body, author(&caller, &body))?
        },
    };
    let settings = state.incident_settings.borrow().clone();
    let now = state.clock.wall();
    let posted = manual::open(&settings, &request, now).map_err(request_error)?;
    if body.preview {
        let preview = preview_incident(&posted.write);
        return Ok((
            StatusCode::OK,
            Json(wire::Posted {
                incident: IncidentBody::new(&preview, &settings.names, now),
                announcement: posted.announcement,
                preview: true,
            }),
        ));
    }
    let id = writer
        .open(posted.write.clone())
        .await
        .map_err(ApiError::Internal)?;
    state
        .audit
        .record_or_log(
            &caller,
            "incident.open",
            &id.to_string(),
            serde_json::json!({
                "title": posted.write.title,
                "severity": posted.write.severity,
                "status": posted.write.status.as_str(),
            }),
        )
        .await;
    let incident = state.queries.incident(id).await?.ok_or_else(|| {
        ApiError::Internal(format!("incident {id} was written but cannot be read"))
    })?;
    Ok((
        StatusCode::CREATED,
        Json(wire::Posted {
            incident: IncidentBody::new(&incident, &settings.names, now),
            announcement: posted.announcement,
            preview: false,
        }),
    ))
}

/// What a new incident would look like, for a preview (id 0).
fn preview_incident(new: &NewIncident) -> StoredIncident {
    StoredIncident {
        id: 0,
        title: new.title.clone(),
        severity: new.severity.clone(),
        status: new.status,
        components: new.components.clone(),
        commander: new.commander.clone(),
        opened_by_alert: new.opened_by_alert,
        started_at: new.started_at,
        acknowledged_at: None,
        resolved_at: None,
        next_update_at: new.next_update_at,
        last_reminder_at: None,
        created_at: new.created_at,
        updated_at: new.created_at,
        alerts: new.alerts.clone(),
    }
}

#[utoipa::path(
    post, path = "/incidents/{incident}/updates", tag = "incidents",
    summary = "Post an update: a status, a template, a message, the next update's time",
    params(("incident" = String, Path, description = "The incident's number")),
    request_body(content = UpdateBody, description = "Any of `status`, `template`, `message`; `title` is refused"),
    responses(
        (status = 201, description = "Posted", body = wire::Posted),
        (status = 200, description = "Only previewed (`\"preview\": true`)", body = wire::Posted),
    )
)]
pub(crate) async fn post_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    caller: Caller,
    ApiBody(raw): ApiBody,
) -> Result<(StatusCode, Json<wire::Posted>), ApiError> {
    caller.require(Role::Responder)?;
    let writer = writer(&state)?;
    let body = parse_body(&raw)?;
    if body.title.is_some() {
        return Err(ApiError::bad(
            "title",
            "an incident's title is set when it opens",
        ));
    }
    let incident = stored(&state, &id).await?;
    let request = update_request(&body, author(&caller, &body))?;
    let settings = state.incident_settings.borrow().clone();
    let now = state.clock.wall();
    let posted = manual::update(&settings, &incident, &request, now).map_err(request_error)?;
    if body.preview {
        return Ok((
            StatusCode::OK,
            Json(wire::Posted {
                incident: IncidentBody::new(&incident, &settings.names, now),
                announcement: posted.announcement,
                preview: true,
            }),
        ));
    }
    let status = posted.write.status.unwrap_or(incident.status);
    let updated = writer
        .change(posted.write)
        .await
        .map_err(ApiError::Internal)?
        .ok_or_else(|| ApiError::UnknownIncident(id.clone()))?;
    state
        .audit
        .record_or_log(
            &caller,
            "incident.update",
            &id,
            serde_json::json!({
                "status": status.as_str(),
                "template": request.template,
                "next_update": body.next_update,
            }),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(wire::Posted {
            incident: IncidentBody::new(&updated, &settings.names, now),
            announcement: posted.announcement,
            preview: false,
        }),
    ))
}

#[utoipa::path(
    get, path = "/incidents/stats", tag = "incidents",
    summary = "MTTA and MTTR per severity",
    params(StatsQuery),
    responses((status = 200, description = "Per severity", body = IncidentStats))
)]
pub(crate) async fn incident_stats(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> Result<Json<IncidentStats>, ApiError> {
    let now = state.clock.wall();
    let since = match query.since.as_deref() {
        Some(text) => parse_time("since", text)?,
        None => now.checked_sub(STATS_WINDOW).unwrap_or(Timestamp::MIN),
    };
    let incidents = incidents_since(&state, since).await?;
    Ok(Json(IncidentStats {
        since: crate::api::wire::time(since),
        severities: watchkeeper_incidents::stats::by_severity(&incidents)
            .into_iter()
            .map(|(severity, stats)| (severity, stats.into()))
            .collect(),
    }))
}

/// Every incident started since `since`, up to [`STATS_LIMIT`].
pub(crate) async fn incidents_since(
    state: &AppState,
    since: Timestamp,
) -> Result<Vec<StoredIncident>, ApiError> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = state
            .queries
            .incidents(&IncidentQuery {
                open_only: false,
                since: Some(since),
                until: None,
                before,
                limit: MAX_PAGE,
            })
            .await?;
        let full = page.len() == MAX_PAGE as usize;
        before = page.last().map(|incident| incident.id);
        all.extend(page);
        if !full || all.len() >= STATS_LIMIT {
            return Ok(all);
        }
    }
}
