//! Alert evaluation, in the recorder: every result of a monitor updates the
//! window of each alert about it (one per rule and monitor) and steps its
//! state; what changed phase comes back as [`AlertChange`]s for the write
//! buffer, which stores them in the same transaction as the result. No IO
//! here and no clock: an evaluation happens at the instant its result
//! ended, so a replay decides the same.
//!
//! State survives a restart (the store's `alerts`, given to [`Alerts::new`]);
//! windows start empty, so a rule needs fresh results before it decides
//! again, and an alert that was firing resolves once its monitor has
//! recovered (exactly once: the resolution is itself stored). An alert
//! whose rule or monitor is gone (a reload, or a restart with another
//! config) and that was firing is resolved at once, with that reason.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use watchkeeper_domain::alert::fingerprint::fingerprint;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::{
    AlertChange, AlertPhase, AlertRule, AlertState, RuleSet, StoredAlert, Transition, Window, step,
};
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;

use crate::input::ManualResolution;

/// One alert: a rule about one monitor.
#[derive(Debug)]
struct Instance {
    rule: Arc<AlertRule>,
    monitor: MonitorId,
    labels: Labels,
    fingerprint: String,
    window: Window,
    state: AlertState,
    with_percentiles: bool,
    /// Its last evaluation failed: the reason was logged once, not again
    /// for every result until it evaluates again.
    unevaluable: bool,
}

/// Every alert, by monitor.
#[derive(Debug, Default)]
pub struct Alerts {
    instances: Vec<Instance>,
    by_monitor: HashMap<MonitorId, Vec<usize>>,
}

impl Alerts {
    /// The alerts of `rules` over `monitors`, each starting from its stored
    /// state (by fingerprint), and the resolutions of stored alerts that
    /// are not among them and were pending or firing (at `now`).
    pub fn new(
        rules: &RuleSet,
        monitors: &[Arc<MonitorSpec>],
        stored: Vec<StoredAlert>,
        now: Timestamp,
    ) -> (Alerts, Vec<AlertChange>) {
        let mut stored: HashMap<String, StoredAlert> = stored
            .into_iter()
            .map(|alert| (alert.fingerprint.clone(), alert))
            .collect();
        let mut alerts = Alerts::default();
        alerts.add(rules, monitors, |fingerprint| {
            stored
                .remove(fingerprint)
                .map(|alert| alert.state)
                .unwrap_or_default()
        });
        let gone = stored
            .into_values()
            .filter_map(|alert| {
                retire(
                    &alert.fingerprint,
                    &alert.rule,
                    &alert.monitor,
                    &alert.labels,
                    &alert.state,
                    now,
                )
            })
            .collect();
        (alerts, gone)
    }

    fn add(
        &mut self,
        rules: &RuleSet,
        monitors: &[Arc<MonitorSpec>],
        mut state_of: impl FnMut(&str) -> AlertState,
    ) {
        let specs: HashMap<&MonitorId, &MonitorSpec> = monitors
            .iter()
            .map(|spec| (&spec.id, spec.as_ref()))
            .collect();
        let no_labels = Labels::new();
        for rule in &rules.rules {
            for monitor in &rule.monitors {
                let Some(spec) = specs.get(monitor) else {
                    continue;
                };
                let labels = rule.labels_for(
                    monitor,
                    rules.monitor_labels.get(monitor).unwrap_or(&no_labels),
                    spec.component.as_ref().map(|c| c.as_str()),
                );
                let fingerprint = fingerprint(&labels);
                let state = state_of(&fingerprint);
                self.by_monitor
                    .entry(monitor.clone())
                    .or_default()
                    .push(self.instances.len());
                self.instances.push(Instance {
                    window: Window::new(rule.window, rule.degraded_fails),
                    with_percentiles: rule.reads_percentiles(),
                    rule: rule.clone(),
                    monitor: monitor.clone(),
                    labels,
                    fingerprint,
                    state,
                    unevaluable: false,
                });
            }
        }
    }

    /// Replaces the rules and monitors (a reload): an alert whose
    /// fingerprint stays keeps its window and state; a new one starts
    /// inactive; one that goes and was pending or firing is resolved at
    /// `now`, returned in the changes.
    pub fn replace(
        &mut self,
        rules: &RuleSet,
        monitors: &[Arc<MonitorSpec>],
        now: Timestamp,
    ) -> Vec<AlertChange> {
        let mut old: HashMap<String, Instance> = std::mem::take(&mut self.instances)
            .into_iter()
            .map(|instance| (instance.fingerprint.clone(), instance))
            .collect();
        self.by_monitor.clear();
        let mut kept: HashMap<String, Instance> = HashMap::new();
        self.add(rules, monitors, |fingerprint| {
            match old.remove(fingerprint) {
                Some(instance) => {
                    let state = instance.state.clone();
                    kept.insert(fingerprint.to_owned(), instance);
                    state
                }
                None => AlertState::default(),
            }
        });
        // Windows survive too, unless the rule's window changed.
        for instance in &mut self.instances {
            if let Some(previous) = kept.remove(&instance.fingerprint)
                && previous.rule.window == instance.rule.window
                && previous.rule.degraded_fails == instance.rule.degraded_fails
            {
                instance.window = previous.window;
            }
        }
        old.into_values()
            .filter_map(|instance| {
                retire(
                    &instance.fingerprint,
                    &instance.rule.name,
                    &instance.monitor,
                    &instance.labels,
                    &instance.state,
                    now,
                )
            })
            .collect()
    }

    /// Takes `result` into the window of each alert about its monitor and
    /// appends the alerts that changed phase to `changes`.
    pub fn record(&mut self, result: &CheckResult, changes: &mut Vec<AlertChange>) {
        let Some(indexes) = self.by_monitor.get(&result.monitor) else {
            return;
        };
        let now = ended_at(result);
        for &index in indexes {
            let Some(instance) = self.instances.get_mut(index) else {
                continue;
            };
            instance.window.record(result);
            let stats = instance.window.stats(instance.with_percentiles);
            let verdict = match instance.rule.judge(&stats) {
                Ok(verdict) => {
                    instance.unevaluable = false;
                    Some(verdict)
                }
                Err(reason) => {
                    if !std::mem::replace(&mut instance.unevaluable, true) {
                        tracing::warn!(
                            rule = %instance.rule.name,
                            monitor = %instance.monitor,
                            %reason,
                            "an alert rule could not be evaluated; the alert keeps its state \
                             (said once until it evaluates again)"
                        );
                    }
                    None
                }
            };
            let (next, transition) = step(instance.rule.timing, verdict, &instance.state, now);
            instance.state = next;
            if let Some(transition) = transition {
                changes.push(AlertChange {
                    fingerprint: instance.fingerprint.clone(),
                    rule: instance.rule.name.clone(),
                    monitor: instance.monitor.clone(),
                    labels: instance.labels.clone(),
                    transition,
                    at: now,
                    state: instance.state.clone(),
                    reason: match transition {
                        Transition::Fired | Transition::Pending => result.reason.clone(),
                        Transition::Resolved | Transition::PendingCleared => None,
                    },
                });
            }
        }
    }

    /// Resolves the firing alert `fingerprint` by hand (`by` is in its
    /// reason). Its window is kept: if the rule still holds on the next
    /// result, it fires again.
    pub fn resolve_by_hand(
        &mut self,
        fingerprint: &str,
        by: &str,
        now: Timestamp,
    ) -> Result<AlertChange, ManualResolution> {
        let instance = self
            .instances
            .iter_mut()
            .find(|instance| instance.fingerprint == fingerprint)
            .ok_or(ManualResolution::Unknown)?;
        if instance.state.phase != AlertPhase::Firing {
            return Err(ManualResolution::NotFiring);
        }
        let mut change = retire(
            &instance.fingerprint,
            &instance.rule.name,
            &instance.monitor,
            &instance.labels,
            &instance.state,
            now,
        )
        .ok_or(ManualResolution::NotFiring)?;
        change.reason = Some(format!("resolved by hand by {by}"));
        instance.state = change.state.clone();
        Ok(change)
    }

    /// Every alert's labels and state, in rule then monitor order (the
    /// API reads the store, which has what is committed).
    #[cfg(test)]
    fn views(&self) -> Vec<(&Labels, &AlertState)> {
        self.instances
            .iter()
            .map(|instance| (&instance.labels, &instance.state))
            .collect()
    }
}

/// The resolution of an alert that is no longer evaluated, if it was
/// pending or firing.
fn retire(
    fingerprint: &str,
    rule: &str,
    monitor: &MonitorId,
    labels: &Labels,
    state: &AlertState,
    now: Timestamp,
) -> Option<AlertChange> {
    let transition = match state.phase {
        AlertPhase::Firing => Transition::Resolved,
        AlertPhase::Pending => Transition::PendingCleared,
        AlertPhase::Inactive | AlertPhase::Resolved => return None,
    };
    let mut after = state.clone();
    after.active_since = None;
    if transition == Transition::Resolved {
        after.phase = AlertPhase::Resolved;
        after.resolved_at = Some(now);
    } else {
        after.phase = AlertPhase::Inactive;
    }
    Some(AlertChange {
        fingerprint: fingerprint.to_owned(),
        rule: rule.to_owned(),
        monitor: monitor.clone(),
        labels: labels.clone(),
        transition,
        at: now,
        state: after,
        reason: Some("its rule or monitor was removed from the configuration".to_owned()),
    })
}

/// When a result's probe ended: its start plus its latency.
fn ended_at(result: &CheckResult) -> Timestamp {
    jiff::SignedDuration::try_from(result.latency)
        .ok()
        .and_then(|latency| result.started_at.checked_add(latency).ok())
        .unwrap_or(result.started_at)
}

#[cfg(test)]
mod tests;
