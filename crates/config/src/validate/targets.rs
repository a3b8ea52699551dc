//! What the alerting sections need every monitor for, after references are
//! resolved: a rule's or an SLO's `component` expanded to its monitors
//! (one with none is an error: the rule would watch nothing), an alert's
//! `window` bounded by its monitors' intervals and the raw retention, an
//! SLO's `period` by the rollup retention, and `depends_on` expanded and
//! free of cycles (each reported once, naming the whole cycle).
//!
//! Bounds, and why:
//! - `window` ≥ every monitor's interval: each monitor gets its own window,
//!   and one shorter than the interval holds at most one result, so
//!   `availability` or a percentile over it means nothing.
//! - `window` ≤ `[storage] raw_retention`: at start a window is refilled
//!   from raw results; beyond the retention it would be refilled in part,
//!   and a rule would judge a partial window as if it were whole.
//! - SLO `period` ≤ `[storage] rollup_retention` (the budget is read from
//!   the per-minute rollups) and ≥ a day (`MIN_SLO_PERIOD`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::monitor::MonitorSpec;

use super::alerting::PendingMonitorAlerting;
use super::references::Defined;
use super::rule::Pending;
use super::{Problems, humanize};

/// A duration as a user writes it, whole days as days (`3d`, not `72h`).
fn shown(duration: Duration) -> String {
    const DAY: u64 = 86_400;
    let seconds = duration.as_secs();
    if seconds >= DAY && seconds.is_multiple_of(DAY) && duration.subsec_nanos() == 0 {
        format!("{}d", seconds / DAY)
    } else {
        humanize(duration)
    }
}
use crate::model::{AlertRule, MIN_SLO_PERIOD, MonitorAlerting, Slo, Targets};
use crate::source::Loc;

/// The monitors, as the rules see them.
pub(super) struct Topology<'m> {
    monitors: &'m [Arc<MonitorSpec>],
    index: HashMap<&'m MonitorId, usize>,
}

impl<'m> Topology<'m> {
    pub fn new(monitors: &'m [Arc<MonitorSpec>]) -> Self {
        let index = monitors
            .iter()
            .enumerate()
            .map(|(index, monitor)| (&monitor.id, index))
            .collect();
        Self { monitors, index }
    }

    fn of_component(&self, component: &ComponentId) -> Vec<MonitorId> {
        self.monitors
            .iter()
            .filter(|monitor| monitor.component.as_ref() == Some(component))
            .map(|monitor| monitor.id.clone())
            .collect()
    }

    fn expand(
        &self,
        targets: &Targets,
        at: &Loc,
        label: &str,
        defined: &Defined,
        problems: &mut Problems<'_>,
    ) -> Vec<MonitorId> {
        match targets {
            Targets::Monitors(ids) => ids.clone(),
            Targets::Component(component) => {
                let monitors = self.of_component(component);
                if monitors.is_empty() && defined.components.contains_key(component) {
                    problems.at(
                        at,
                        format!(
                            "component `{component}` has no monitors, so {label} would watch nothing"
                        ),
                    );
                }
                monitors
            }
        }
    }
}

/// Expands each rule's targets and checks its window.
pub(super) fn rules(
    pending: Vec<Pending<AlertRule>>,
    topology: &Topology<'_>,
    raw_retention: Duration,
    defined: &Defined,
    problems: &mut Problems<'_>,
) -> Vec<AlertRule> {
    pending
        .into_iter()
        .map(|Pending { mut value, targets_at, window_at }| {
            let label = format!("alert `{}`", value.id);
            value.monitors = topology.expand(&value.targets, &targets_at, &label, defined, problems);
            let longest = value
                .monitors
                .iter()
                .filter_map(|id| topology.index.get(id).map(|&index| &topology.monitors[index]))
                .filter_map(|monitor| monitor.schedule.shortest_gap().map(|gap| (gap, monitor)))
                .max_by_key(|(gap, _)| *gap);
            if let Some((gap, monitor)) = longest
                && value.window < gap
            {
                problems.at(
                    &window_at,
                    format!(
                        "`window` {} is shorter than the interval of monitor `{}` ({}); it would hold at most one result of it",
                        shown(value.window),
                        monitor.id,
                        shown(gap)
                    ),
                );
            }
            if value.window > raw_retention {
                problems.at(
                    &window_at,
                    format!(
                        "`window` {} is longer than `[storage] raw_retention` ({}); a window is refilled from raw results at start",
                        shown(value.window),
                        shown(raw_retention)
                    ),
                );
            }
            value
        })
        .collect()
}

/// Expands each SLO's targets and checks its period.
pub(super) fn slos(
    pending: Vec<Pending<Slo>>,
    topology: &Topology<'_>,
    rollup_retention: Duration,
    defined: &Defined,
    problems: &mut Problems<'_>,
) -> Vec<Slo> {
    pending
        .into_iter()
        .map(|Pending { mut value, targets_at, window_at }| {
            let label = format!("slo `{}`", value.id);
            value.monitors = topology.expand(&value.targets, &targets_at, &label, defined, problems);
            let period = value.objective.period.unsigned_abs();
            if period < MIN_SLO_PERIOD {
                problems.at(
                    &window_at,
                    format!(
                        "`period` {} is shorter than a day; its burn-rate alerts look back 6 hours, and one bad hour would spend the whole budget",
                        shown(period)
                    ),
                );
            } else if period > rollup_retention {
                problems.at(
                    &window_at,
                    format!(
                        "`period` {} is longer than `[storage] rollup_retention` ({}), so its budget could not be read",
                        shown(period),
                        shown(rollup_retention)
                    ),
                );
            }
            value
        })
        .collect()
}

/// Expands `depends_on` (a component stands for its monitors) and reports
/// every cycle once, at the `depends_on` entry that closes it.
pub(super) fn dependencies(
    pending: Vec<PendingMonitorAlerting>,
    topology: &Topology<'_>,
    problems: &mut Problems<'_>,
) -> Vec<MonitorAlerting> {
    // Expanded edges per monitor, each with the entry it came from.
    let mut edges: Vec<Vec<(MonitorId, Loc)>> = Vec::with_capacity(pending.len());
    for monitor in &pending {
        let mut expanded: Vec<(MonitorId, Loc)> = Vec::new();
        for name in &monitor.depends_on {
            let targets = match MonitorId::parse(&name.value) {
                Ok(id) if topology.index.contains_key(&id) => vec![id],
                _ => ComponentId::parse(&name.value)
                    .map(|component| topology.of_component(&component))
                    .unwrap_or_default(),
            };
            for target in targets {
                if !expanded.iter().any(|(known, _)| known == &target) {
                    expanded.push((target, name.at.clone()));
                }
            }
        }
        edges.push(expanded);
    }
    let position: HashMap<&MonitorId, usize> = pending
        .iter()
        .enumerate()
        .map(|(index, monitor)| (&monitor.monitor, index))
        .collect();
    report_cycles(&pending, &edges, &position, problems);
    pending
        .into_iter()
        .zip(edges)
        .map(|(monitor, edges)| MonitorAlerting {
            monitor: monitor.monitor,
            implicit_alert: monitor.implicit_alert,
            failure_threshold: monitor.failure_threshold,
            success_threshold: monitor.success_threshold,
            severity: monitor.severity,
            labels: monitor.labels,
            depends_on: edges.into_iter().map(|(id, _)| id).collect(),
        })
        .collect()
}

/// A depth-first search over the whole graph, iteratively (a long chain of
/// dependencies must not overflow the stack): an edge to a monitor still on
/// the path closes a cycle.
fn report_cycles(
    pending: &[PendingMonitorAlerting],
    edges: &[Vec<(MonitorId, Loc)>],
    position: &HashMap<&MonitorId, usize>,
    problems: &mut Problems<'_>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; pending.len()];
    for root in 0..pending.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (monitor, next edge to follow)
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some(&(node, next)) = path.last() {
            let Some((target, at)) = edges[node].get(next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            if let Some(last) = path.last_mut() {
                last.1 += 1;
            }
            let Some(&target) = position.get(target) else {
                continue;
            };
            match marks[target] {
                Mark::New => {
                    marks[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let start = path
                        .iter()
                        .position(|&(on_path, _)| on_path == target)
                        .unwrap_or(0);
                    let cycle: Vec<&str> = path[start..]
                        .iter()
                        .map(|&(on_path, _)| pending[on_path].monitor.as_str())
                        .chain(std::iter::once(pending[target].monitor.as_str()))
                        .collect();
                    problems.at(
                        at,
                        format!(
                            "`depends_on` makes a cycle: {}; a monitor cannot wait for itself",
                            cycle.join(" → ")
                        ),
                    );
                }
                Mark::Done => {}
            }
        }
    }
}
