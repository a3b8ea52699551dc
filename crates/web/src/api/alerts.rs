//! `/api/v1/alerts`: every alert that has ever left `inactive`, as last
//! committed to the store (the recorder writes each change with the result
//! that caused it), each firing one with its quiet, acknowledgement and
//! acknowledgement target, and one alert with its timeline and escalation
//! steps. Acknowledging is `api::acks`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use watchkeeper_domain::alert::rule::SEVERITY;
use watchkeeper_domain::alert::{AlertPhase, StoredAlert};
use watchkeeper_domain::oncall::AckTargets;
use watchkeeper_store::{AlertEvent, EscalationStep, StoredAck};

use crate::AppState;
use crate::api::acks::{AckBody, firing_since};
use crate::api::extract::ApiPath;
use crate::api::wire::time;
use crate::error::ApiError;

/// Events shown with one alert, newest first.
const TIMELINE: u32 = 50;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertList {
    /// Firing first, then pending, resolved and inactive; by rule and
    /// monitor within each.
    pub alerts: Vec<AlertBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertBody {
    pub fingerprint: String,
    /// `alertname`: the `[[alert]]`'s id, or `MonitorDown`.
    pub rule: String,
    pub monitor: String,
    pub labels: BTreeMap<String, String>,
    /// `inactive`, `pending`, `firing` or `resolved`.
    pub state: &'static str,
    /// When its rule began to hold (pending or firing only).
    pub active_since: Option<String>,
    pub fired_at: Option<String>,
    pub resolved_at: Option<String>,
    pub updated_at: String,
    /// Why a firing alert is not being sent (`silenced by sil_…`, `in
    /// maintenance window …`, `inhibited by alert …`, `suppressed: db,
    /// which it depends on, is down`); absent when it is sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<String>,
    /// Who acknowledged the current firing, when and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<AckBody>,
    /// How soon a firing alert of its severity should be acknowledged
    /// (`[oncall] ack_targets`), and whether that has passed unacknowledged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_target: Option<AckTargetBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AckTargetBody {
    pub within_seconds: u64,
    pub due_at: String,
    /// Unacknowledged past `due_at`.
    pub breached: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertBody,
    /// Its changes, newest first (at most 50).
    pub events: Vec<EventBody>,
    /// Its escalation: each level's page, whom and through which notifier,
    /// newest first (at most 50).
    pub escalation: Vec<StepBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepBody {
    pub at: String,
    pub policy: String,
    /// From 1, as people count levels.
    pub level: u32,
    /// From 1: the first climb is round 1.
    pub round: u32,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl From<EscalationStep> for StepBody {
    fn from(step: EscalationStep) -> Self {
        StepBody {
            at: time(step.at),
            policy: step.policy,
            level: step.level + 1,
            round: step.round + 1,
            target: step.target,
            person: step.person,
            notifier: step.notifier,
            delivery: step.delivery_id,
            note: step.note,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventBody {
    pub id: i64,
    pub at: String,
    /// `pending`, `pending_cleared`, `fired` or `resolved`.
    pub transition: &'static str,
    pub reason: Option<String>,
}

impl From<StoredAlert> for AlertBody {
    fn from(alert: StoredAlert) -> Self {
        AlertBody {
            state: alert.state.phase.as_str(),
            active_since: alert.state.active_since.map(time),
            fired_at: alert.state.fired_at.map(time),
            resolved_at: alert.state.resolved_at.map(time),
            updated_at: time(alert.updated_at),
            monitor: alert.monitor.to_string(),
            labels: alert.labels,
            fingerprint: alert.fingerprint,
            rule: alert.rule,
            quiet: None,
            acknowledgement: None,
            ack_target: None,
        }
    }
}

impl From<AlertEvent> for EventBody {
    fn from(event: AlertEvent) -> Self {
        EventBody {
            id: event.id,
            at: time(event.at),
            transition: event.transition.as_str(),
            reason: event.reason,
        }
    }
}

/// A firing alert's quiet, acknowledgement and acknowledgement target.
fn firing_details(
    mut body: AlertBody,
    alert: &StoredAlert,
    quiet: &BTreeMap<String, String>,
    acks: &[StoredAck],
    targets: &AckTargets,
    now: Timestamp,
) -> AlertBody {
    let Some(since) = firing_since(alert) else {
        return body;
    };
    body.quiet = quiet.get(&body.fingerprint).cloned();
    let ack = acks
        .iter()
        .find(|ack| ack.fingerprint == alert.fingerprint && ack.firing_since == since);
    body.acknowledgement = ack.map(AckBody::from);
    let severity = alert.labels.get(SEVERITY).map_or("", String::as_str);
    body.ack_target = targets.within(severity).and_then(|within| {
        let due = since
            .saturating_add(SignedDuration::try_from(within).ok()?)
            .ok()?;
        Some(AckTargetBody {
            within_seconds: within.as_secs(),
            due_at: time(due),
            breached: ack.map_or(now >= due, |ack| ack.at > due),
        })
    });
    body
}

/// Firing first: what a person opening the list needs to see.
fn rank(phase: AlertPhase) -> u8 {
    match phase {
        AlertPhase::Firing => 0,
        AlertPhase::Pending => 1,
        AlertPhase::Resolved => 2,
        AlertPhase::Inactive => 3,
    }
}

#[utoipa::path(
    get, path = "/alerts", tag = "alerts",
    summary = "Every alert that has left `inactive`, firing first",
    responses((status = 200, description = "The alerts", body = AlertList))
)]
pub(crate) async fn list_alerts(
    State(state): State<AppState>,
) -> Result<Json<AlertList>, ApiError> {
    let mut alerts = state.queries.alerts().await?;
    alerts.sort_by(|a, b| {
        (rank(a.state.phase), &a.rule, &a.monitor).cmp(&(rank(b.state.phase), &b.rule, &b.monitor))
    });
    let quiet = state.quiet.borrow().clone();
    let acks = state.queries.current_acks().await?;
    let targets = state.oncall.borrow().ack_targets.clone();
    let now = state.clock.wall();
    Ok(Json(AlertList {
        alerts: alerts
            .into_iter()
            .map(|alert| {
                let body = AlertBody::from(alert.clone());
                firing_details(body, &alert, &quiet, &acks, &targets, now)
            })
            .collect(),
    }))
}

#[utoipa::path(
    get, path = "/alerts/{fingerprint}", tag = "alerts",
    summary = "One alert with its events and escalation steps",
    params(("fingerprint" = String, Path, description = "The alert's fingerprint")),
    responses((status = 200, description = "The alert", body = AlertDetail))
)]
pub(crate) async fn get_alert(
    State(state): State<AppState>,
    ApiPath(fingerprint): ApiPath<String>,
) -> Result<Json<AlertDetail>, ApiError> {
    let alert = state
        .queries
        .alert(&fingerprint)
        .await?
        .ok_or(ApiError::UnknownAlert(fingerprint))?;
    let events = state
        .queries
        .alert_events(&alert.fingerprint, TIMELINE)
        .await?;
    let steps = state
        .queries
        .escalation_steps(&alert.fingerprint, TIMELINE)
        .await?;
    let quiet = state.quiet.borrow().clone();
    let acks: Vec<StoredAck> = state
        .queries
        .current_ack(&alert.fingerprint)
        .await?
        .into_iter()
        .collect();
    let targets = state.oncall.borrow().ack_targets.clone();
    let body = AlertBody::from(alert.clone());
    Ok(Json(AlertDetail {
        alert: firing_details(body, &alert, &quiet, &acks, &targets, state.clock.wall()),
        events: events.into_iter().map(EventBody::from).collect(),
        escalation: steps.into_iter().map(StepBody::from).collect(),
    }))
}
