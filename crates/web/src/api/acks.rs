//! Acknowledging alerts over the API: `POST /api/v1/alerts/{fingerprint}/ack`
//! (`{"comment": "…"}`, a responder) acknowledges the alert's current
//! firing, which stops its escalation; `…/unack` takes it back (the ladder
//! stays stopped; it starts again from level 1 if the alert resolves and
//! fires again). Both are audited and written through the [`AckWriter`]
//! the binary gives, which also wakes the dispatcher. `…/resolve` closes a
//! firing alert by hand, through the engine's recorder.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use watchkeeper_domain::access::Role;
use watchkeeper_domain::alert::{AlertPhase, StoredAlert};
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_engine::ManualResolution;
use watchkeeper_store::{AckOutcome, AckVia, NewAck, StoredAck};

use crate::AppState;
use crate::api::extract::{ApiBody, ApiPath, ApiQuery};
use crate::api::overrides::Pending;
use crate::api::wire::{parse_time, time};
use crate::auth::Caller;
use crate::error::ApiError;

/// Writes acknowledgements; implemented by the binary over the store.
pub trait AckWriter: Send + Sync + 'static {
    fn acknowledge(&self, ack: NewAck) -> Pending<'_, AckOutcome>;
    fn unacknowledge(
        &self,
        fingerprint: String,
        by: String,
        at: Timestamp,
    ) -> Pending<'_, Option<StoredAck>>;
    /// Resolves a firing alert by hand (the recorder stores it).
    fn resolve(&self, fingerprint: String, by: String) -> Pending<'_, ManualResolution>;
    /// The key acknowledgement links are signed with.
    fn link_key(&self) -> Pending<'_, LinkKey>;
    /// Marks a link's nonce used; `false` when it was used before.
    fn use_link(&self, nonce: String, at: Timestamp) -> Pending<'_, bool>;
}

/// An alert's acknowledgement, as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AckBody {
    pub by: String,
    pub at: String,
    /// `cli`, `api` or `link`.
    pub via: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl From<&StoredAck> for AckBody {
    fn from(ack: &StoredAck) -> Self {
        AckBody {
            by: ack.actor.clone(),
            at: time(ack.at),
            via: ack.via.as_str(),
            comment: (!ack.comment.is_empty()).then(|| ack.comment.clone()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AckAnswer {
    pub fingerprint: String,
    pub acknowledged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<AckBody>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    comment: Option<String>,
    /// `api` (the default) or `cli`, as the CLI says.
    #[schema(schema_with = crate::api::openapi::schema::api_or_cli)]
    via: Option<String>,
}

/// When the alert's current firing began, if it is firing.
pub(crate) fn firing_since(alert: &StoredAlert) -> Option<Timestamp> {
    (alert.state.phase == AlertPhase::Firing)
        .then_some(alert.state.fired_at)
        .flatten()
}

#[utoipa::path(
    post, path = "/alerts/{fingerprint}/ack", tag = "alerts",
    summary = "Acknowledge a firing alert (stops its escalation)",
    params(("fingerprint" = String, Path, description = "The alert's fingerprint")),
    request_body(content = Option<AckRequest>, description = "Optional; `{}` or no body acknowledges without a comment"),
    responses((status = 200, description = "Acknowledged", body = AckAnswer))
)]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    ApiPath(fingerprint): ApiPath<String>,
    caller: Caller,
    ApiBody(raw): ApiBody,
) -> Result<Json<AckAnswer>, ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.acks.clone() else {
        return Err(ApiError::Unavailable(
            "this server does not take acknowledgements",
        ));
    };
    let request: AckRequest = if raw.iter().all(u8::is_ascii_whitespace) {
        AckRequest::default()
    } else {
        serde_json::from_slice(&raw).map_err(|error| ApiError::bad("body", error.to_string()))?
    };
    let via = match request.via.as_deref() {
        None | Some("api") => AckVia::Api,
        Some("cli") => AckVia::Cli,
        Some(other) => {
            return Err(ApiError::BadRequest {
                field: "via".to_owned(),
                message: format!("{other:?} is not `api` or `cli`"),
            });
        }
    };
    let alert = state
        .queries
        .alert(&fingerprint)
        .await?
        .ok_or_else(|| ApiError::UnknownAlert(fingerprint.clone()))?;
    let Some(since) = firing_since(&alert) else {
        return Err(ApiError::Conflict(format!(
            "alert {fingerprint} is {}, not firing: there is nothing to acknowledge",
            alert.state.phase.as_str()
        )));
    };
    let comment = request.comment.unwrap_or_default();
    let ack = NewAck {
        fingerprint: fingerprint.clone(),
        firing_since: since,
        at: state.clock.wall(),
        actor: caller.actor().to_owned(),
        via,
        comment: comment.clone(),
    };
    match writer.acknowledge(ack).await.map_err(ApiError::Internal)? {
        AckOutcome::Acknowledged(stored) => {
            let detail = serde_json::json!({ "via": via.as_str(), "comment": comment });
            state
                .audit
                .record_or_log(&caller, "alert.ack", &fingerprint, detail)
                .await;
            Ok(Json(AckAnswer {
                fingerprint,
                acknowledged: true,
                acknowledgement: Some(AckBody::from(&stored)),
            }))
        }
        AckOutcome::AlreadyAcknowledged(stored) => Err(ApiError::Conflict(format!(
            "alert {fingerprint} was acknowledged already, by {} at {}",
            stored.actor,
            time(stored.at)
        ))),
        AckOutcome::NotFiring => Err(ApiError::Conflict(format!(
            "alert {fingerprint} is no longer firing: there is nothing to acknowledge"
        ))),
    }
}

#[utoipa::path(
    post, path = "/alerts/{fingerprint}/unack", tag = "alerts",
    summary = "Take back an acknowledgement (escalation resumes)",
    params(("fingerprint" = String, Path, description = "The alert's fingerprint")),
    responses((status = 200, description = "No longer acknowledged", body = AckAnswer))
)]
pub(crate) async fn unacknowledge(
    State(state): State<AppState>,
    ApiPath(fingerprint): ApiPath<String>,
    caller: Caller,
) -> Result<Json<AckAnswer>, ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.acks.clone() else {
        return Err(ApiError::Unavailable(
            "this server does not take acknowledgements",
        ));
    };
    if state.queries.alert(&fingerprint).await?.is_none() {
        return Err(ApiError::UnknownAlert(fingerprint));
    }
    let cleared = writer
        .unacknowledge(
            fingerprint.clone(),
            caller.actor().to_owned(),
            state.clock.wall(),
        )
        .await
        .map_err(ApiError::Internal)?;
    let Some(cleared) = cleared else {
        return Err(ApiError::Conflict(format!(
            "alert {fingerprint} is not acknowledged"
        )));
    };
    let detail = serde_json::json!({ "acknowledged_by": cleared.actor });
    state
        .audit
        .record_or_log(&caller, "alert.unack", &fingerprint, detail)
        .await;
    Ok(Json(AckAnswer {
        fingerprint,
        acknowledged: false,
        acknowledgement: None,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResolveAnswer {
    pub fingerprint: String,
    pub resolved: bool,
    pub by: String,
}

/// `POST /api/v1/alerts/{fingerprint}/resolve`: a person closes a firing
/// alert. The resolution is stored and announced like any other; if its
/// rule still holds on the monitor's next result, it fires again.
#[utoipa::path(
    post, path = "/alerts/{fingerprint}/resolve", tag = "alerts",
    summary = "Resolve a firing alert by hand",
    params(("fingerprint" = String, Path, description = "The alert's fingerprint")),
    responses((status = 200, description = "Resolved", body = ResolveAnswer))
)]
pub(crate) async fn resolve(
    State(state): State<AppState>,
    ApiPath(fingerprint): ApiPath<String>,
    caller: Caller,
) -> Result<Json<ResolveAnswer>, ApiError> {
    caller.require(Role::Responder)?;
    let Some(writer) = state.acks.clone() else {
        return Err(ApiError::Unavailable(
            "this server does not take resolutions",
        ));
    };
    if state.queries.alert(&fingerprint).await?.is_none() {
        return Err(ApiError::UnknownAlert(fingerprint));
    }
    let by = caller.actor().to_owned();
    match writer
        .resolve(fingerprint.clone(), by.clone())
        .await
        .map_err(ApiError::Internal)?
    {
        ManualResolution::Resolved => {
            state
                .audit
                .record_or_log(
                    &caller,
                    "alert.resolve",
                    &fingerprint,
                    serde_json::json!({}),
                )
                .await;
            Ok(Json(ResolveAnswer {
                fingerprint,
                resolved: true,
                by,
            }))
        }
        ManualResolution::NotFiring => Err(ApiError::Conflict(format!(
            "alert {fingerprint} is not firing: there is nothing to resolve"
        ))),
        ManualResolution::Unknown => Err(ApiError::Conflict(format!(
            "alert {fingerprint} is not evaluated on results (an SLO's burn-rate alert resolves when the burn rate falls), so it cannot be resolved by hand"
        ))),
        ManualResolution::Stopped => Err(ApiError::Unavailable("the engine is shutting down")),
    }
}

/// How far back `GET /api/v1/mtta` looks when not told.
const MTTA_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(30 * 24);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MttaQuery {
    /// From this time (default: 30 days ago).
    #[param(format = DateTime)]
    since: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MttaList {
    pub since: String,
    /// Most urgent first (names sort that way: P0 before P3).
    pub severities: Vec<MttaBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MttaBody {
    pub severity: String,
    pub acknowledged: usize,
    /// Mean time from firing to acknowledgement.
    pub mean_seconds: f64,
    pub median_seconds: f64,
    /// Acknowledged after the severity's `[oncall] ack_targets`.
    pub late: usize,
}

/// `GET /api/v1/mtta?since=`: mean and median time to acknowledge per
/// severity, over the acknowledgements made since then (30 days by default).
#[utoipa::path(
    get, path = "/mtta", tag = "alerts",
    summary = "Mean and median time to acknowledge, per severity",
    params(MttaQuery),
    responses((status = 200, description = "MTTA per severity", body = MttaList))
)]
pub(crate) async fn mtta(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<MttaQuery>,
) -> Result<Json<MttaList>, ApiError> {
    let now = state.clock.wall();
    let since = match &query.since {
        Some(text) => parse_time("since", text)?,
        None => now.saturating_sub(MTTA_WINDOW).unwrap_or(Timestamp::MIN),
    };
    let acks = state.queries.acks_since(since).await?;
    let severities: std::collections::HashMap<String, String> = state
        .queries
        .alerts()
        .await?
        .into_iter()
        .map(|alert| {
            let severity = alert.labels.get("severity").cloned().unwrap_or_default();
            (alert.fingerprint, severity)
        })
        .collect();
    let targets = state.oncall.borrow().ack_targets.clone();
    let mut waits: std::collections::BTreeMap<String, Vec<f64>> = std::collections::BTreeMap::new();
    for ack in &acks {
        let severity = severities
            .get(&ack.fingerprint)
            .cloned()
            .unwrap_or_default();
        let waited = ack
            .at
            .duration_since(ack.firing_since)
            .as_secs_f64()
            .max(0.0);
        waits.entry(severity).or_default().push(waited);
    }
    let severities = waits
        .into_iter()
        .map(|(severity, mut waited)| {
            waited.sort_by(f64::total_cmp);
            let count = waited.len();
            let median = if count % 2 == 1 {
                waited[count / 2]
            } else {
                (waited[count / 2 - 1] + waited[count / 2]) / 2.0
            };
            let late = targets.within(&severity).map_or(0, |within| {
                waited.iter().filter(|w| **w > within.as_secs_f64()).count()
            });
            MttaBody {
                acknowledged: count,
                mean_seconds: waited.iter().sum::<f64>() / count as f64,
                median_seconds: median,
                late,
                severity,
            }
        })
        .collect();
    Ok(Json(MttaList {
        since: time(since),
        severities,
    }))
}
