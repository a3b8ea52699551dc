//! The validated alerting config: the settings of `[alerting]`, each
//! monitor's implicit alert, the `[[alert]]` rules and `[[slo]]`s (their
//! targets resolved to monitors), and, as the domain types the engine and
//! the notify crate decide with, the routes, inhibitions, maintenance
//! windows and notifiers. Nothing here runs anything.

use std::sync::Arc;
use std::time::Duration;

use url::Url;
use watchkeeper_domain::alert::maintenance::MaintenanceWindow;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::route::Route;
use watchkeeper_domain::alert::rule::AlertRule as EngineRule;
use watchkeeper_domain::alert::silence::Inhibition;
use watchkeeper_domain::alert::slo::Objective;
use watchkeeper_domain::alert::{RuleCheck, RuleSet, Timing};
use watchkeeper_domain::condition::Condition;
use watchkeeper_domain::id::{ComponentId, MonitorId, RuleId, SloId};
use watchkeeper_domain::notifier::NotifierSpec;

/// `[alerting] failure_threshold` when not given: three consecutive
/// failures fire a monitor's implicit alert.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
/// `[alerting] success_threshold` when not given: two consecutive
/// successes resolve it.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;
/// The most a threshold may be: beyond it, at a one-second interval an
/// alert would take over a day to fire.
pub const MAX_THRESHOLD: u32 = 100_000;
/// The default severities, most severe first (as in the seeds).
pub const DEFAULT_SEVERITIES: [&str; 4] = ["P0", "P1", "P2", "P3"];
/// The default severity of an alert that names none, when the severities
/// hold it: "minor feature degraded, business hours" in seed 003's table,
/// which is what one failing monitor says until its owner rates it.
pub const DEFAULT_SEVERITY: &str = "P2";
/// The shortest SLO `period`: its burn-rate alerts look back up to 6 h,
/// and a budget over less than a day would be spent by one bad hour.
pub const MIN_SLO_PERIOD: Duration = Duration::from_secs(86_400);

/// Everything about alerting, validated. Empty sections are empty lists;
/// [`AlertingConfig::monitors`] has an entry for every monitor.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct AlertingConfig {
    pub settings: AlertingSettings,
    /// Each monitor's implicit alert and dependencies, in monitor order.
    pub monitors: Vec<MonitorAlerting>,
    /// In the order written (main file first, then included files).
    pub rules: Vec<AlertRule>,
    pub slos: Vec<Slo>,
    /// In the order they are tried: written order, main file first.
    pub routes: Vec<Route>,
    pub inhibitions: Vec<Inhibition>,
    pub maintenance: Vec<MaintenanceWindow>,
    pub notifiers: Vec<NotifierSpec>,
}

impl AlertingConfig {
    pub fn monitor(&self, id: &MonitorId) -> Option<&MonitorAlerting> {
        self.monitors.iter().find(|monitor| &monitor.monitor == id)
    }

    /// The rules the engine evaluates on every result: each monitor's own
    /// alert (unless it says `alert = false`), then every `[[alert]]`, in
    /// config order, with each monitor's labels.
    pub fn rule_set(&self) -> RuleSet {
        let own = self
            .monitors
            .iter()
            .filter(|monitor| monitor.implicit_alert)
            .map(|monitor| {
                Arc::new(EngineRule::monitor_down(
                    monitor.monitor.clone(),
                    u64::from(monitor.failure_threshold),
                    u64::from(monitor.success_threshold),
                    monitor.severity.clone(),
                ))
            });
        let written = self.rules.iter().map(|rule| {
            Arc::new(EngineRule {
                name: rule.id.to_string(),
                monitors: rule.monitors.clone(),
                window: rule.window,
                check: RuleCheck::When(rule.when.clone()),
                timing: rule.timing,
                severity: rule.severity.clone(),
                labels: rule.labels.clone(),
                annotations: rule.annotations.clone(),
                runbook: rule.runbook.as_ref().map(ToString::to_string),
                degraded_fails: rule.count_degraded_as_failure,
            })
        });
        RuleSet {
            rules: own.chain(written).collect(),
            monitor_labels: self
                .monitors
                .iter()
                .filter(|monitor| !monitor.labels.is_empty())
                .map(|monitor| (monitor.monitor.clone(), monitor.labels.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertingSettings {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub severities: Severities,
    /// One of [`AlertingSettings::severities`].
    pub default_severity: String,
}

impl Default for AlertingSettings {
    fn default() -> Self {
        Self {
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
            severities: Severities::default(),
            default_severity: DEFAULT_SEVERITY.to_owned(),
        }
    }
}

/// The severities, most severe first; never empty, no repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Severities(pub(crate) Vec<String>);

impl Default for Severities {
    fn default() -> Self {
        Self(DEFAULT_SEVERITIES.map(str::to_owned).to_vec())
    }
}

impl Severities {
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// 0 for the most severe; `None` for a name that is not a severity.
    pub fn rank(&self, severity: &str) -> Option<usize> {
        self.0.iter().position(|known| known == severity)
    }

    pub fn most_severe(&self) -> &str {
        self.0.first().map_or(DEFAULT_SEVERITY, String::as_str)
    }
}

/// A monitor's own alert ("it is down"): fires after `failure_threshold`
/// consecutive failures, resolves after `success_threshold` successes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorAlerting {
    pub monitor: MonitorId,
    /// `false` when the monitor says `alert = false`; its dependencies
    /// still apply to rules over it.
    pub implicit_alert: bool,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub severity: String,
    /// Added to the labels of every alert about this monitor.
    pub labels: Labels,
    /// While one of these is down, this monitor's alerts are recorded as
    /// suppressed, not sent. A component named in `depends_on` stands for
    /// its monitors; no cycles.
    pub depends_on: Vec<MonitorId>,
}

/// What a rule or an SLO is about, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    Monitors(Vec<MonitorId>),
    /// Every monitor of this component.
    Component(ComponentId),
}

/// An `[[alert]]`: a CEL `when` over the window statistics of each of its
/// monitors (one alert per monitor).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub id: RuleId,
    pub targets: Targets,
    /// The monitors [`AlertRule::targets`] names, in config order.
    pub monitors: Vec<MonitorId>,
    /// How far back the statistics reach.
    pub window: Duration,
    /// Compiled against `domain::alert::variables::SCHEMA`.
    pub when: Condition,
    pub timing: Timing,
    pub severity: String,
    pub labels: Labels,
    /// Minijinja sources (`summary`, `description`, …), checked to render
    /// at load (see `watchkeeper_notify::template::AnnotationTemplate`).
    pub annotations: Labels,
    pub runbook: Option<Url>,
    /// Degraded results count as failures in the window's statistics.
    pub count_degraded_as_failure: bool,
}

/// An `[[slo]]`: the objective over its monitors together; its burn-rate
/// alerts come from `domain::alert::slo::burn_rate_alerts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub id: SloId,
    pub targets: Targets,
    pub monitors: Vec<MonitorId>,
    pub objective: Objective,
    /// The severity of its burn-rate alerts.
    pub severity: String,
    pub labels: Labels,
}
