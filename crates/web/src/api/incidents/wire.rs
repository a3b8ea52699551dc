//! The JSON of `/api/v1/incidents`: an incident, its timeline, a page of
//! them, and MTTA / MTTR per severity. Names and enums are Statuspage's
//! where it has them (`investigating`, `partial_outage`, …).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use watchkeeper_incidents::stats::SeverityStats;
use watchkeeper_incidents::timeline::{Names, TimelineItem};
use watchkeeper_store::StoredIncident;

use crate::api::wire::time;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentBody {
    pub id: String,
    pub name: String,
    /// `degraded_performance`, `partial_outage` or `major_outage`.
    pub impact: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentAlertBody {
    pub fingerprint: String,
    pub monitor: String,
    pub firing: bool,
    pub joined_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentBody {
    pub id: i64,
    pub title: String,
    pub severity: String,
    /// `investigating`, `identified`, `monitoring`, `resolved` or
    /// `postmortem`.
    pub status: &'static str,
    pub components: Vec<ComponentBody>,
    pub commander: Option<String>,
    /// `alert` (the `[incidents]` policy opened it) or `person`.
    pub opened_by: &'static str,
    pub started_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    /// The update promised next; absent when none is.
    pub next_update_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// From start to resolution, or to now while open.
    pub duration_seconds: i64,
    pub alerts: Vec<IncidentAlertBody>,
    pub postmortem_url: String,
}

impl IncidentBody {
    pub fn new(incident: &StoredIncident, names: &Names, now: Timestamp) -> Self {
        let end = incident.resolved_at.unwrap_or(now);
        IncidentBody {
            id: incident.id,
            title: incident.title.clone(),
            severity: incident.severity.clone(),
            status: incident.status.as_str(),
            components: incident
                .components
                .iter()
                .map(|(id, impact)| ComponentBody {
                    id: id.clone(),
                    name: names
                        .components
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.clone()),
                    impact: impact.as_str(),
                })
                .collect(),
            commander: incident.commander.clone(),
            opened_by: if incident.opened_by_alert {
                "alert"
            } else {
                "person"
            },
            started_at: time(incident.started_at),
            acknowledged_at: incident.acknowledged_at.map(time),
            resolved_at: incident.resolved_at.map(time),
            next_update_at: incident
                .next_update_at
                .filter(|_| incident.status.is_open())
                .map(time),
            created_at: time(incident.created_at),
            updated_at: time(incident.updated_at),
            duration_seconds: end.duration_since(incident.started_at).as_secs().max(0),
            alerts: incident
                .alerts
                .iter()
                .map(|alert| IncidentAlertBody {
                    fingerprint: alert.fingerprint.clone(),
                    monitor: alert.monitor.clone(),
                    firing: alert.firing,
                    joined_at: time(alert.joined_at),
                })
                .collect(),
            postmortem_url: format!("/api/v1/incidents/{}/postmortem.md", incident.id),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineBody {
    pub at: String,
    /// `opened`, `alert_fired`, `update`, `acknowledged`, `escalated`,
    /// `notified`, `changed`, `reminder`, …
    pub kind: &'static str,
    pub author: Option<String>,
    /// An update's status.
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    /// The alert it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl From<&TimelineItem> for TimelineBody {
    fn from(item: &TimelineItem) -> Self {
        TimelineBody {
            at: time(item.at),
            kind: item.kind.as_str(),
            author: item.author.clone(),
            status: item.status.map(|status| status.as_str()),
            subject: item.subject.clone(),
            body: item.body.clone(),
            fingerprint: item.fingerprint.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentBody,
    /// Oldest first.
    pub timeline: Vec<TimelineBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    /// Newest first.
    pub incidents: Vec<IncidentBody>,
    /// Pass as `before` for the next page; `null` on the last one.
    pub next_before: Option<i64>,
}

/// What `POST /incidents` and `POST /incidents/{id}/updates` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Posted {
    pub incident: IncidentBody,
    /// The update as the seeds announce it: `[Identified] Title`, the
    /// text, `Posted: … UTC`, `Next update: …`.
    pub announcement: String,
    /// `true`: only shown (`"preview": true`), nothing was written.
    pub preview: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentStats {
    pub since: String,
    /// By severity (`P1`, …).
    pub severities: BTreeMap<String, SeverityBody>,
}

/// MTTA and MTTR of one severity.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeverityBody {
    pub incidents: u64,
    pub acknowledged: u64,
    pub resolved: u64,
    /// Mean time from start to first acknowledgement; `null` when none was.
    pub mtta_seconds: Option<f64>,
    /// Mean time from start to resolution; `null` when none was resolved.
    pub mttr_seconds: Option<f64>,
}

impl From<SeverityStats> for SeverityBody {
    fn from(stats: SeverityStats) -> Self {
        SeverityBody {
            incidents: stats.incidents,
            acknowledged: stats.acknowledged,
            resolved: stats.resolved,
            mtta_seconds: stats.mtta_seconds,
            mttr_seconds: stats.mttr_seconds,
        }
    }
}
