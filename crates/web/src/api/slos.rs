//! `/api/v1/slos`: each `[[slo]]` as last evaluated (once a minute, from
//! the rollups): its objective, the budget over its period, burn rates
//! over 5 m, 30 m, 1 h and 6 h, and its two burn-rate alerts.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use watchkeeper_domain::alert::slo::Indicator;
use watchkeeper_domain::alert::slo_tracker::SloStatus;

use crate::AppState;
use crate::api::wire::time;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SloList {
    pub slos: Vec<SloBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SloBody {
    pub id: String,
    /// `availability`, or `latency` with `threshold_ms`.
    pub indicator: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_ms: Option<u128>,
    /// The good fraction promised (0.999).
    pub target: f64,
    pub period_hours: i64,
    /// The good fraction over the period so far; `null` without events.
    pub achieved: Option<f64>,
    /// The fraction of the error budget not yet spent (1 untouched, 0
    /// spent, negative overspent).
    pub error_budget_remaining: f64,
    pub bad_events: u64,
    pub allowed_bad_events: f64,
    /// Window (`5m`, `30m`, `60m`, `360m`) → burn rate.
    pub burn_rates: Vec<BurnRate>,
    pub alerts: Vec<BurnAlert>,
    pub evaluated_at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BurnRate {
    pub window: String,
    pub rate: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BurnAlert {
    /// The long window (`1h`, `6h`).
    pub window: String,
    /// The burn rate both windows must reach.
    pub factor: f64,
    pub firing: bool,
}

/// JSON has no infinity: an objective of 100 % overspent reports the most
/// negative finite number.
fn finite(value: f64) -> f64 {
    if value.is_finite() {
        value
    } else if value > 0.0 {
        f64::MAX
    } else {
        f64::MIN
    }
}

impl From<&SloStatus> for SloBody {
    fn from(status: &SloStatus) -> Self {
        let (indicator, threshold_ms) = match status.objective.indicator {
            Indicator::Availability => ("availability", None),
            Indicator::Latency { threshold } => ("latency", Some(threshold.as_millis())),
        };
        SloBody {
            id: status.id.clone(),
            indicator,
            threshold_ms,
            target: status.objective.target,
            period_hours: status.objective.period.as_hours(),
            achieved: status.budget.achieved,
            error_budget_remaining: finite(status.budget.remaining),
            bad_events: status.budget.bad,
            allowed_bad_events: status.budget.allowed_bad,
            burn_rates: status
                .burn_rates
                .iter()
                .map(|(window, rate)| BurnRate {
                    window: format!("{}m", window.as_mins()),
                    rate: finite(*rate),
                })
                .collect(),
            alerts: status
                .alerts
                .iter()
                .map(|(long, factor, firing)| BurnAlert {
                    window: format!("{}h", long.as_hours()),
                    factor: *factor,
                    firing: *firing,
                })
                .collect(),
            evaluated_at: time(status.evaluated_at),
        }
    }
}

#[utoipa::path(
    get, path = "/slos", tag = "slos",
    summary = "Every SLO: error budget remaining, burn rates and their alerts",
    responses((status = 200, description = "The SLOs as last evaluated", body = SloList))
)]
pub(crate) async fn list_slos(State(state): State<AppState>) -> Json<SloList> {
    let statuses = state.slos.borrow().clone();
    Json(SloList {
        slos: statuses.iter().map(SloBody::from).collect(),
    })
}
