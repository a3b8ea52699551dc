//! An alert rule as the engine evaluates it, and what one evaluation of one
//! monitor's window decides. Two kinds: a monitor's own alert (`failure_threshold`
//! consecutive failures fire it, `success_threshold` successes resolve it;
//! plain counting, no CEL), and an `[[alert]]` whose CEL `when` over the
//! window's statistics ([`crate::alert::variables`]) fires it and whose not
//! holding resolves it. A rule over several monitors has one alert per
//! monitor, each with its own window and state, told apart by labels.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::alert::matcher::Labels;
use crate::alert::state::{Timing, Verdict};
use crate::alert::variables;
use crate::alert::window::WindowStats;
use crate::condition::{Budget, Condition, Truth};
use crate::id::MonitorId;

/// The label every alert carries with its rule's name, as in Prometheus.
pub const ALERTNAME: &str = "alertname";
/// The label naming the monitor an alert is about.
pub const MONITOR: &str = "monitor";
pub const SEVERITY: &str = "severity";
pub const COMPONENT: &str = "component";
/// `alertname` of a monitor's own alert.
pub const MONITOR_DOWN: &str = "MonitorDown";

/// What makes a rule hold and clear.
#[derive(Debug, Clone)]
pub enum RuleCheck {
    /// A monitor's own alert: holds at `failures` consecutive failures,
    /// clears at `successes` consecutive successes (hysteresis: between
    /// the two a firing alert keeps firing).
    Threshold { failures: u64, successes: u64 },
    /// An `[[alert]]`'s `when`: holds while it is true, clears when it is
    /// false. When it cannot be evaluated the alert keeps its state.
    When(Condition),
}

/// One rule, ready to evaluate.
#[derive(Debug, Clone)]
pub struct AlertRule {
    /// `alertname`: the `[[alert]]`'s id, or [`MONITOR_DOWN`].
    pub name: String,
    /// The monitors it watches; one alert each.
    pub monitors: Vec<MonitorId>,
    /// How far back its window reaches (unused by a threshold).
    pub window: Duration,
    pub check: RuleCheck,
    pub timing: Timing,
    pub severity: String,
    /// The rule's own labels (the monitor's labels, its id, component and
    /// severity are added per alert: see [`AlertRule::labels_for`]).
    pub labels: Labels,
    /// minijinja sources (`summary`, `description`), rendered when a
    /// notification is made.
    pub annotations: Labels,
    pub runbook: Option<String>,
    /// Whether a degraded result counts as a failure in its window.
    pub degraded_fails: bool,
}

impl AlertRule {
    /// A monitor's own alert.
    pub fn monitor_down(
        monitor: MonitorId,
        failures: u64,
        successes: u64,
        severity: String,
    ) -> AlertRule {
        AlertRule {
            name: MONITOR_DOWN.to_owned(),
            monitors: vec![monitor],
            window: Duration::ZERO,
            check: RuleCheck::Threshold {
                failures: failures.max(1),
                successes: successes.max(1),
            },
            timing: Timing::default(),
            severity,
            labels: Labels::new(),
            annotations: Labels::new(),
            runbook: None,
            degraded_fails: false,
        }
    }

    /// Whether evaluating it needs the window's latency percentiles.
    pub fn reads_percentiles(&self) -> bool {
        match &self.check {
            RuleCheck::Threshold { .. } => false,
            RuleCheck::When(condition) => variables::reads_percentiles(&[condition]),
        }
    }

    /// The labels of its alert about `monitor`: the monitor's own labels,
    /// then the rule's (which win), then `alertname`, `monitor`,
    /// `severity` and `component` (which nothing overrides).
    pub fn labels_for(
        &self,
        monitor: &MonitorId,
        monitor_labels: &Labels,
        component: Option<&str>,
    ) -> Labels {
        let mut labels = monitor_labels.clone();
        labels.extend(self.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        labels.insert(ALERTNAME.to_owned(), self.name.clone());
        labels.insert(MONITOR.to_owned(), monitor.to_string());
        labels.insert(SEVERITY.to_owned(), self.severity.clone());
        match component {
            Some(component) => labels.insert(COMPONENT.to_owned(), component.to_owned()),
            None => labels.remove(COMPONENT),
        };
        labels
    }

    /// What the rule makes of `stats`; the reason when its `when` could not
    /// be evaluated (the caller logs it and keeps the alert's state).
    pub fn judge(&self, stats: &WindowStats) -> Result<Verdict, String> {
        match &self.check {
            RuleCheck::Threshold {
                failures,
                successes,
            } => Ok(Verdict {
                holds: stats.consecutive_failures >= *failures,
                clears: stats.consecutive_successes >= *successes,
            }),
            RuleCheck::When(condition) => {
                match condition.test(&variables::facts_for(condition, stats), Budget::default()) {
                    Truth::True => Ok(Verdict {
                        holds: true,
                        clears: false,
                    }),
                    Truth::False => Ok(Verdict {
                        holds: false,
                        clears: true,
                    }),
                    Truth::Unknown(reason) | Truth::Stopped(reason) => Err(reason),
                }
            }
        }
    }
}

/// Every rule the engine evaluates, with each monitor's own labels (added
/// to every alert about it: a monitor's `labels` in config).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Arc<AlertRule>>,
    pub monitor_labels: HashMap<MonitorId, Labels>,
}

impl RuleSet {
    pub fn new(rules: Vec<Arc<AlertRule>>) -> RuleSet {
        RuleSet {
            rules,
            monitor_labels: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Health;

    fn stats(consecutive_failures: u64, consecutive_successes: u64) -> WindowStats {
        WindowStats {
            samples: 10,
            availability: 0.9,
            error_rate: 0.1,
            consecutive_failures,
            consecutive_successes,
            avg_latency: Duration::from_millis(120),
            percentiles: None,
            last: Some(crate::alert::window::Last {
                health: Health::Up,
                reason: None,
                latency: Duration::from_millis(100),
            }),
        }
    }

    fn api() -> MonitorId {
        MonitorId::parse("api").unwrap()
    }

    #[test]
    fn a_threshold_holds_at_n_failures_and_clears_at_m_successes() {
        let rule = AlertRule::monitor_down(api(), 3, 2, "P2".to_owned());
        let verdict = |f, s| rule.judge(&stats(f, s)).unwrap();
        assert!(!verdict(2, 0).holds);
        assert!(verdict(3, 0).holds);
        assert!(!verdict(0, 1).clears, "one success of two");
        assert!(verdict(0, 2).clears);
    }

    #[test]
    fn a_when_holds_while_true_and_an_error_keeps_the_state() {
        let when =
            Condition::compile("error_rate > 0.05 && samples >= 3", &variables::SCHEMA).unwrap();
        let rule = AlertRule {
            check: RuleCheck::When(when),
            name: "ApiErrors".to_owned(),
            ..AlertRule::monitor_down(api(), 1, 1, "P1".to_owned())
        };
        assert_eq!(
            rule.judge(&stats(1, 0)),
            Ok(Verdict {
                holds: true,
                clears: false
            })
        );
        let latency =
            Condition::compile("p95_latency > duration('2s')", &variables::SCHEMA).unwrap();
        let rule = AlertRule {
            check: RuleCheck::When(latency),
            ..rule
        };
        assert!(rule.reads_percentiles());
        // percentiles absent: null compared with a duration
        assert!(rule.judge(&stats(0, 5)).is_err());
    }

    #[test]
    fn labels_take_the_monitor_then_the_rule_then_the_fixed_ones() {
        let mut rule = AlertRule::monitor_down(api(), 3, 2, "P2".to_owned());
        rule.labels.insert("team".to_owned(), "payments".to_owned());
        rule.labels.insert(SEVERITY.to_owned(), "P0".to_owned());
        let monitor_labels = Labels::from([
            ("team".to_owned(), "web".to_owned()),
            ("region".to_owned(), "eu".to_owned()),
            (MONITOR.to_owned(), "spoofed".to_owned()),
        ]);
        let labels = rule.labels_for(&api(), &monitor_labels, Some("edge"));
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("alertname", "MonitorDown"),
                ("component", "edge"),
                ("monitor", "api"),
                ("region", "eu"),
                ("severity", "P2"),
                ("team", "payments"),
            ]
        );
    }
}
