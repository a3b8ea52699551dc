//! The JSON shapes of `/api/v1`. Times are RFC 3339, durations are
//! milliseconds (`*_ms`) or seconds (`*_seconds`), health is
//! `"up" | "degraded" | "down"`, and `null` means "not known yet".

use serde::Serialize;
use watchkeeper_domain::check::{CheckResult, FallbackResult, StateChange};
use watchkeeper_domain::health::Health;
use watchkeeper_engine::MonitorView;

/// A monitor's health as the API and `check --json` write it. The strings
/// are a contract with scripts and dashboards, apart from how the domain
/// names its states: a new state in `domain` does not compile until it is
/// given a string here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub enum WireHealth {
    #[serde(rename = "up")]
    Up,
    #[serde(rename = "degraded")]
    Degraded,
    #[serde(rename = "down")]
    Down,
}

impl From<Health> for WireHealth {
    fn from(health: Health) -> Self {
        match health {
            Health::Up => WireHealth::Up,
            Health::Degraded => WireHealth::Degraded,
            Health::Down => WireHealth::Down,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorList {
    pub monitors: Vec<MonitorSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorSummary {
    pub id: String,
    pub name: String,
    pub component: Option<String>,
    pub kind: &'static str,
    pub target: String,
    /// `null` for a calendar schedule (see `schedule`).
    pub interval_seconds: Option<f64>,
    /// When it runs: `every 30s`, `cron 0 3 * * * Europe/Berlin`, or
    /// `at 2026-06-01T06:00:00Z`.
    pub schedule: String,
    /// `null` until the first result.
    pub state: Option<WireHealth>,
    pub since: Option<String>,
    /// Why the monitor is not up (the failed condition with its values).
    pub reason: Option<String>,
    pub last_result: Option<ResultBody>,
    /// Fraction of checks in the last 24 h that were not down.
    pub availability_24h: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorDetail {
    #[serde(flatten)]
    pub summary: MonitorSummary,
    pub timeout_seconds: f64,
    pub expect: Vec<String>,
    pub degraded_if: Vec<String>,
    /// Newest first.
    pub state_changes: Vec<StateChangeBody>,
    /// Newest first.
    pub recent_results: Vec<ResultBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultBody {
    pub started_at: String,
    pub lag_ms: f64,
    pub latency_ms: f64,
    /// Time spent judging the answer (0 for results read back from the
    /// store, which does not keep it).
    pub evaluation_ms: f64,
    pub health: WireHealth,
    pub reason: Option<String>,
    pub fallback: Option<FallbackBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FallbackBody {
    pub health: WireHealth,
    pub latency_ms: f64,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateChangeBody {
    pub at: String,
    pub from: Option<WireHealth>,
    pub to: WireHealth,
    pub reason: Option<String>,
}

/// RFC 3339 with millisecond precision, e.g. `2026-11-22T05:43:30.495Z`:
/// truncated like the store, so a time reads the same after a restart.
pub(crate) fn time(at: jiff::Timestamp) -> String {
    format!("{at:.3}")
}

/// A parameter or body field that must be an RFC 3339 instant; a 400
/// naming `field` when it is not.
pub(crate) fn parse_time(
    field: &str,
    text: &str,
) -> Result<jiff::Timestamp, crate::error::ApiError> {
    text.parse::<jiff::Timestamp>().map_err(|error| {
        crate::error::ApiError::bad(field, format!("not an RFC 3339 time ({text:?}): {error}"))
    })
}

fn millis(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

impl MonitorSummary {
    pub fn new(view: &MonitorView, availability_24h: Option<f64>) -> Self {
        let spec = &view.spec;
        Self {
            id: spec.id.to_string(),
            name: spec.name.clone(),
            component: spec.component.as_ref().map(ToString::to_string),
            kind: spec.probe.kind().as_str(),
            target: spec.probe.target(),
            interval_seconds: spec.schedule.interval().map(|every| every.as_secs_f64()),
            schedule: spec.schedule.to_string(),
            state: view.status.as_ref().map(|s| s.health.into()),
            since: view.status.as_ref().map(|s| time(s.since)),
            reason: view.status.as_ref().and_then(|s| s.reason.clone()),
            last_result: view.last().map(ResultBody::from),
            availability_24h,
        }
    }
}

impl MonitorDetail {
    pub fn new(view: &MonitorView, availability_24h: Option<f64>, changes: &[StateChange]) -> Self {
        let spec = &view.spec;
        Self {
            summary: MonitorSummary::new(view, availability_24h),
            timeout_seconds: spec.timeout.as_secs_f64(),
            expect: spec.expect.iter().map(|c| c.source().to_owned()).collect(),
            degraded_if: spec
                .degraded_if
                .iter()
                .map(|c| c.source().to_owned())
                .collect(),
            state_changes: changes.iter().map(StateChangeBody::from).collect(),
            recent_results: view.recent().map(ResultBody::from).collect(),
        }
    }
}

impl From<&CheckResult> for ResultBody {
    fn from(result: &CheckResult) -> Self {
        Self {
            started_at: time(result.started_at),
            lag_ms: millis(watchkeeper_domain::schedule::lag(
                result.due_at,
                result.started_at,
            )),
            latency_ms: millis(result.latency),
            evaluation_ms: millis(result.evaluation),
            health: result.health.into(),
            reason: result.reason.clone(),
            fallback: result.fallback.as_ref().map(FallbackBody::from),
        }
    }
}

impl From<&FallbackResult> for FallbackBody {
    fn from(fallback: &FallbackResult) -> Self {
        Self {
            health: fallback.health.into(),
            latency_ms: millis(fallback.latency),
            reason: fallback.reason.clone(),
        }
    }
}

impl From<&StateChange> for StateChangeBody {
    fn from(change: &StateChange) -> Self {
        Self {
            at: time(change.at),
            from: change.from.map(WireHealth::from),
            to: change.to.into(),
            reason: change.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_written_as_its_contract_strings() {
        let written: Vec<String> = [Health::Up, Health::Degraded, Health::Down]
            .into_iter()
            .map(|health| serde_json::to_string(&WireHealth::from(health)).unwrap())
            .collect();
        assert_eq!(written, [r#""up""#, r#""degraded""#, r#""down""#]);
    }
}
