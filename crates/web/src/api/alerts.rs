//! `/api/v1/alerts`: every alert that has ever left `inactive`, as last
//! committed to the store (the recorder writes each change with the result
//! that caused it), and one alert with its timeline.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use watchkeeper_domain::alert::{AlertPhase, StoredAlert};
use watchkeeper_store::AlertEvent;

use crate::AppState;
use crate::api::wire::time;
use crate::error::ApiError;

/// Events shown with one alert, newest first.
const TIMELINE: u32 = 50;

#[derive(Debug, Serialize)]
pub struct AlertList {
    /// Firing first, then pending, resolved and inactive; by rule and
    /// monitor within each.
    pub alerts: Vec<AlertBody>,
}

#[derive(Debug, Serialize)]
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
}

#[derive(Debug, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertBody,
    /// Its changes, newest first (at most 50).
    pub events: Vec<EventBody>,
}

#[derive(Debug, Serialize)]
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

fn with_quiet(mut body: AlertBody, quiet: &BTreeMap<String, String>) -> AlertBody {
    if body.state == "firing" {
        body.quiet = quiet.get(&body.fingerprint).cloned();
    }
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

pub(crate) async fn list_alerts(
    State(state): State<AppState>,
) -> Result<Json<AlertList>, ApiError> {
    let mut alerts = state.queries.alerts().await?;
    alerts.sort_by(|a, b| {
        (rank(a.state.phase), &a.rule, &a.monitor).cmp(&(rank(b.state.phase), &b.rule, &b.monitor))
    });
    let quiet = state.quiet.borrow().clone();
    Ok(Json(AlertList {
        alerts: alerts
            .into_iter()
            .map(|alert| with_quiet(AlertBody::from(alert), &quiet))
            .collect(),
    }))
}

pub(crate) async fn get_alert(
    State(state): State<AppState>,
    Path(fingerprint): Path<String>,
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
    let quiet = state.quiet.borrow().clone();
    Ok(Json(AlertDetail {
        alert: with_quiet(alert.into(), &quiet),
        events: events.into_iter().map(EventBody::from).collect(),
    }))
}
