//! One `[[slo]]` at run time, without IO: its good and total events per
//! minute over its period (filled from the rollups and refreshed each
//! minute by the caller), the budget and burn rates they give, and its two
//! burn-rate alerts (Google's SRE workbook: 1 h and 5 m at 2 % of the
//! budget, 6 h and 30 m at 5 %) stepped through the same state machine as
//! every alert. Tested with a fake clock.
//!
//! Each burn-rate alert is an alert like any other: labels `alertname =
//! "SloBurnRate"`, `slo`, `window` (`1h` or `6h`), `severity` and the
//! SLO's labels; `monitor` is the SLO's first monitor (the alert is about
//! all of them together).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::alert::change::AlertChange;
use crate::alert::fingerprint::fingerprint;
use crate::alert::matcher::Labels;
use crate::alert::rule::{ALERTNAME, MONITOR, SEVERITY};
use crate::alert::slo::{
    Budget, BurnRateAlert, Events, Objective, budget, burn_rate, burn_rate_alerts,
};
use crate::alert::state::{AlertState, Timing, Verdict, step};
use crate::id::MonitorId;

/// `alertname` of an SLO's burn-rate alerts.
pub const SLO_BURN_RATE: &str = "SloBurnRate";
/// The label naming the SLO an alert is about.
pub const SLO: &str = "slo";

/// An `[[slo]]` as the tracker needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    pub id: String,
    pub monitors: Vec<MonitorId>,
    pub objective: Objective,
    pub severity: String,
    pub labels: Labels,
}

/// Where an SLO stands at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct SloStatus {
    pub id: String,
    pub objective: Objective,
    /// Over the period, from the minutes seen.
    pub budget: Budget,
    /// Burn rate over each alert window: 5m, 30m, 1h, 6h.
    pub burn_rates: Vec<(SignedDuration, f64)>,
    /// Each burn-rate alert: its long window, its factor, firing or not.
    pub alerts: Vec<(SignedDuration, f64, bool)>,
    pub evaluated_at: Timestamp,
}

#[derive(Debug, Clone)]
struct BurnAlert {
    rule: BurnRateAlert,
    labels: Labels,
    fingerprint: String,
    state: AlertState,
}

#[derive(Debug, Clone)]
pub struct SloTracker {
    spec: SloSpec,
    /// Minute start → events in it, over the period.
    minutes: BTreeMap<Timestamp, Events>,
    alerts: Vec<BurnAlert>,
}

fn window_label(duration: SignedDuration) -> String {
    format!("{}h", duration.as_hours())
}

impl SloTracker {
    /// A tracker whose alerts start from their stored states
    /// (`stored(fingerprint)`).
    pub fn new(spec: SloSpec, stored: impl Fn(&str) -> Option<AlertState>) -> SloTracker {
        let alerts = burn_rate_alerts(spec.objective.period)
            .into_iter()
            .map(|rule| {
                let mut labels = spec.labels.clone();
                labels.insert(ALERTNAME.to_owned(), SLO_BURN_RATE.to_owned());
                labels.insert(SLO.to_owned(), spec.id.clone());
                labels.insert("window".to_owned(), window_label(rule.long));
                labels.insert(SEVERITY.to_owned(), spec.severity.clone());
                if let Some(first) = spec.monitors.first() {
                    labels.insert(MONITOR.to_owned(), first.to_string());
                }
                let fingerprint = fingerprint(&labels);
                let state = stored(&fingerprint).unwrap_or_default();
                BurnAlert {
                    rule,
                    labels,
                    fingerprint,
                    state,
                }
            })
            .collect();
        SloTracker {
            spec,
            minutes: BTreeMap::new(),
            alerts,
        }
    }

    pub fn spec(&self) -> &SloSpec {
        &self.spec
    }

    /// The fingerprints of its alerts.
    pub fn fingerprints(&self) -> Vec<String> {
        self.alerts.iter().map(|a| a.fingerprint.clone()).collect()
    }

    /// Sets the events of the minute starting at `minute` (all the SLO's
    /// monitors together), replacing what was there.
    pub fn set_minute(&mut self, minute: Timestamp, events: Events) {
        self.minutes.insert(minute, events);
    }

    fn events_since(&self, since: Timestamp) -> Events {
        let mut events = Events::default();
        for (_, minute) in self.minutes.range(since..) {
            events.add(*minute);
        }
        events
    }

    /// Evaluates at `now`: the status, and the changes of its alerts.
    /// Minutes older than the period are forgotten.
    pub fn evaluate(&mut self, now: Timestamp) -> (SloStatus, Vec<AlertChange>) {
        let ago = |duration: SignedDuration| now.checked_sub(duration).unwrap_or(Timestamp::MIN);
        let period_start = ago(self.spec.objective.period);
        self.minutes = self.minutes.split_off(&period_start);
        let target = self.spec.objective.target;
        let budget = budget(&self.spec.objective, self.events_since(period_start));
        let mut burn_rates = Vec::new();
        for minutes in [5, 30, 60, 360] {
            let window = SignedDuration::from_mins(minutes);
            burn_rates.push((window, burn_rate(target, self.events_since(ago(window)))));
        }
        let monitor = self.spec.monitors.first().cloned();
        let mut changes = Vec::new();
        let mut alerts = Vec::new();
        for index in 0..self.alerts.len() {
            let (rule, long, short) = {
                let alert = &self.alerts[index];
                (
                    alert.rule,
                    self.events_since(ago(alert.rule.long)),
                    self.events_since(ago(alert.rule.short)),
                )
            };
            let holds = rule.fires(target, long, short);
            let alert = &mut self.alerts[index];
            let (state, transition) = step(
                Timing::default(),
                Some(Verdict {
                    holds,
                    clears: !holds,
                }),
                &alert.state,
                now,
            );
            alert.state = state;
            alerts.push((rule.long, rule.factor, holds));
            if let (Some(transition), Some(monitor)) = (transition, &monitor) {
                changes.push(AlertChange {
                    fingerprint: alert.fingerprint.clone(),
                    rule: SLO_BURN_RATE.to_owned(),
                    monitor: monitor.clone(),
                    labels: alert.labels.clone(),
                    transition,
                    at: now,
                    state: alert.state.clone(),
                    reason: Some(format!(
                        "SLO {}: burn rate {:.1}× over {} and {:.1}× over {}m (pages at {:.1}×: {} % of the budget in {})",
                        self.spec.id,
                        burn_rate(target, long),
                        window_label(rule.long),
                        burn_rate(target, short),
                        rule.short.as_mins(),
                        rule.factor,
                        (rule.budget_spent * 100.0).round(),
                        window_label(rule.long),
                    )),
                });
            }
        }
        let status = SloStatus {
            id: self.spec.id.clone(),
            objective: self.spec.objective.clone(),
            budget,
            burn_rates,
            alerts,
            evaluated_at: now,
        };
        (status, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertPhase;
    use crate::alert::slo::Indicator;
    use crate::alert::state::Transition;

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minute * 60).unwrap()
    }

    fn spec() -> SloSpec {
        SloSpec {
            id: "api-availability".to_owned(),
            monitors: vec![MonitorId::parse("api").unwrap()],
            objective: Objective {
                target: 0.999,
                period: SignedDuration::from_hours(30 * 24),
                indicator: Indicator::Availability,
            },
            severity: "P0".to_owned(),
            labels: Labels::new(),
        }
    }

    /// Six probes a minute (every 10 s), `bad` of them down.
    fn minute(bad: u64) -> Events {
        Events {
            good: 6 - bad,
            total: 6,
        }
    }

    #[test]
    fn a_steady_service_keeps_its_budget_and_pages_nobody() {
        let mut tracker = SloTracker::new(spec(), |_| None);
        for m in 0..600 {
            tracker.set_minute(at(m), minute(0));
        }
        let (status, changes) = tracker.evaluate(at(600));
        assert!(changes.is_empty());
        assert_eq!(status.budget.remaining, 1.0);
        assert!(status.burn_rates.iter().all(|(_, rate)| *rate == 0.0));
        assert!(status.alerts.iter().all(|(_, _, firing)| !firing));
    }

    #[test]
    fn a_budget_burn_fires_the_fast_alert_then_resolves_when_it_stops() {
        let mut tracker = SloTracker::new(spec(), |_| None);
        // six hours of good service
        for m in 0..360 {
            tracker.set_minute(at(m), minute(0));
        }
        // then one probe in six fails: a burn rate of 166×
        let mut fired_at = None;
        let mut now = 360;
        for _ in 0..60 {
            tracker.set_minute(at(now), minute(1));
            now += 1;
            let (_, changes) = tracker.evaluate(at(now));
            if let Some(change) = changes.iter().find(|c| c.transition == Transition::Fired) {
                fired_at = Some(now);
                assert_eq!(change.labels["window"], "1h");
                assert_eq!(change.labels["slo"], "api-availability");
                assert_eq!(change.labels["severity"], "P0");
                assert_eq!(change.rule, SLO_BURN_RATE);
                assert!(
                    change.reason.as_ref().unwrap().contains("pages at 14.4×"),
                    "{change:?}"
                );
                break;
            }
        }
        // the 1 h window reaches 14.4× after 6 bad minutes (of 60 over 6 h of
        // good: 6 × 1/6 / 60 / 0.001 = 16.7×); the 5 m window is at once above
        assert_eq!(fired_at, Some(366));
        let (status, _) = tracker.evaluate(at(now));
        assert!(status.budget.remaining < 1.0);
        let fast = status
            .alerts
            .iter()
            .find(|(long, _, _)| long.as_hours() == 1)
            .unwrap();
        assert!(fast.2);
        // recovery: the 5 m window drops below the factor first
        let mut resolved_at = None;
        for _ in 0..30 {
            tracker.set_minute(at(now), minute(0));
            now += 1;
            let (_, changes) = tracker.evaluate(at(now));
            if changes
                .iter()
                .any(|c| c.transition == Transition::Resolved && c.labels["window"] == "1h")
            {
                resolved_at = Some(now);
                break;
            }
        }
        assert!(resolved_at.is_some_and(|m| m - 366 <= 6), "{resolved_at:?}");
    }

    #[test]
    fn stored_states_are_continued_and_old_minutes_forgotten() {
        let firing = AlertState {
            phase: AlertPhase::Firing,
            active_since: Some(at(0)),
            fired_at: Some(at(0)),
            last_held: Some(at(0)),
            resolved_at: None,
        };
        let probe = SloTracker::new(spec(), |_| None);
        let fast = probe.fingerprints()[0].clone();
        let mut tracker = SloTracker::new(spec(), |fp| (fp == fast).then(|| firing.clone()));
        // still burning: no change (it was already firing)
        for m in 0..60 {
            tracker.set_minute(at(m), minute(3));
        }
        let (_, changes) = tracker.evaluate(at(60));
        assert!(
            changes.iter().all(|c| c.fingerprint != fast),
            "a stored firing alert does not fire again: {changes:?}"
        );
        // a minute older than the period no longer counts
        let mut tracker = SloTracker::new(spec(), |_| None);
        tracker.set_minute(at(0), minute(6));
        let (status, _) = tracker.evaluate(at(31 * 24 * 60));
        assert_eq!(status.budget.bad, 0);
    }
}
