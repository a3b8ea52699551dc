//! When alerts open incidents, join them, and resolve them: the
//! `[incidents]` policy as pure decisions over the open incidents.
//!
//! An alert that fires with a severity at or above `open_from` opens an
//! incident, unless an open incident already affects its component (or
//! holds an alert of its monitor) and took an alert less than
//! `join_window` ago: then it joins that one, whatever its severity, and
//! raises the incident's severity and the component's impact when it is
//! worse. An alert already in an open incident that fires again is only
//! recorded. When every alert of an incident that alerts opened has
//! resolved, and `resolve_with_alerts` says so, the incident resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;

use super::Impact;

/// The `[incidents]` section, as the opener applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPolicy {
    /// Every severity, most severe first.
    pub severities: Vec<String>,
    /// The least severe severity that opens an incident; `None`: alerts
    /// open none (people still can).
    pub open_from: Option<String>,
    /// How long after an incident's latest alert another alert on the
    /// same component joins it.
    pub join_window: Duration,
    /// The impact an alert of each severity has on its component.
    pub impacts: BTreeMap<String, Impact>,
    /// An incident alerts opened resolves when all of its alerts have.
    pub resolve_with_alerts: bool,
}

impl IncidentPolicy {
    /// The default impacts: the most severe severity is a major outage,
    /// the next a partial outage, the rest degraded performance.
    pub fn default_impacts(severities: &[String]) -> BTreeMap<String, Impact> {
        severities
            .iter()
            .enumerate()
            .map(|(rank, severity)| {
                let impact = match rank {
                    0 => Impact::MajorOutage,
                    1 => Impact::PartialOutage,
                    _ => Impact::DegradedPerformance,
                };
                (severity.clone(), impact)
            })
            .collect()
    }

    fn rank(&self, severity: &str) -> Option<usize> {
        self.severities.iter().position(|known| known == severity)
    }

    /// Whether `severity` opens an incident.
    pub fn opens(&self, severity: &str) -> bool {
        match (&self.open_from, self.rank(severity)) {
            (Some(from), Some(rank)) => self.rank(from).is_some_and(|from| rank <= from),
            _ => false,
        }
    }

    /// The more severe of two severities (an unknown one counts as least).
    pub fn worse<'a>(&self, a: &'a str, b: &'a str) -> &'a str {
        let rank = |s: &str| self.rank(s).unwrap_or(usize::MAX);
        if rank(b) < rank(a) { b } else { a }
    }

    fn impact(&self, severity: &str) -> Impact {
        self.impacts
            .get(severity)
            .copied()
            .unwrap_or(Impact::DegradedPerformance)
    }
}

/// What the opener knows of an open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: i64,
    pub severity: String,
    pub components: BTreeMap<String, Impact>,
    /// Its alerts' fingerprints, and the monitor of each.
    pub alerts: BTreeMap<String, String>,
    /// Those of its alerts that are firing now.
    pub firing: BTreeSet<String>,
    /// When its latest alert joined (or it opened).
    pub last_alert_at: Timestamp,
    /// Opened by an alert's policy, not by a person.
    pub opened_by_alert: bool,
}

/// An alert that fired, as the opener sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fired<'a> {
    pub fingerprint: &'a str,
    pub monitor: &'a str,
    pub severity: &'a str,
    pub component: Option<&'a str>,
    pub at: Timestamp,
}

/// What to do with a fired alert.
#[derive(Debug, Clone, PartialEq)]
pub enum OnFired {
    /// It is in an open incident already: record that it fired again.
    Again { incident: i64 },
    /// It joins an open incident; the incident's severity and the
    /// component's impact become these when they are worse.
    Join {
        incident: i64,
        severity: Option<String>,
        impact: Option<(String, Impact)>,
    },
    /// It opens an incident of its severity, on its component.
    Open {
        severity: String,
        components: BTreeMap<String, Impact>,
    },
    /// Not severe enough, and nothing to join.
    Ignore,
}

/// Decides what a fired alert does, given the open incidents.
pub fn on_fired(policy: &IncidentPolicy, open: &[OpenIncident], alert: Fired<'_>) -> OnFired {
    if let Some(incident) = open
        .iter()
        .find(|incident| incident.alerts.contains_key(alert.fingerprint))
    {
        return OnFired::Again {
            incident: incident.id,
        };
    }
    let joinable = open
        .iter()
        .filter(|incident| {
            let related = match alert.component {
                Some(component) => incident.components.contains_key(component),
                None => false,
            } || incident
                .alerts
                .values()
                .any(|monitor| monitor == alert.monitor);
            let recent = alert
                .at
                .duration_since(incident.last_alert_at)
                .unsigned_abs()
                <= policy.join_window;
            related && recent
        })
        .max_by_key(|incident| (incident.last_alert_at, incident.id));
    let impact = policy.impact(alert.severity);
    if let Some(incident) = joinable {
        let severity = (policy.worse(&incident.severity, alert.severity) != incident.severity)
            .then(|| alert.severity.to_owned());
        let impact = alert.component.and_then(|component| {
            let worse = incident
                .components
                .get(component)
                .is_none_or(|current| impact > *current);
            worse.then(|| (component.to_owned(), impact))
        });
        return OnFired::Join {
            incident: incident.id,
            severity,
            impact,
        };
    }
    if !policy.opens(alert.severity) {
        return OnFired::Ignore;
    }
    OnFired::Open {
        severity: alert.severity.to_owned(),
        components: alert
            .component
            .map(|component| (component.to_owned(), impact))
            .into_iter()
            .collect(),
    }
}

/// What to do with a resolved alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnResolved {
    /// Record it on the incident's timeline.
    Record { incident: i64 },
    /// Record it, and resolve the incident: it was its last firing alert.
    ResolveIncident { incident: i64 },
    /// It is in no open incident.
    Ignore,
}

/// Decides what a resolved alert does. `open` is as it was before the
/// resolution (the alert still counted as firing).
pub fn on_resolved(
    policy: &IncidentPolicy,
    open: &[OpenIncident],
    fingerprint: &str,
) -> OnResolved {
    let Some(incident) = open
        .iter()
        .find(|incident| incident.alerts.contains_key(fingerprint))
    else {
        return OnResolved::Ignore;
    };
    let others_firing = incident.firing.iter().any(|firing| firing != fingerprint);
    if policy.resolve_with_alerts && incident.opened_by_alert && !others_firing {
        OnResolved::ResolveIncident {
            incident: incident.id,
        }
    } else {
        OnResolved::Record {
            incident: incident.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> IncidentPolicy {
        let severities: Vec<String> = ["P0", "P1", "P2", "P3"].map(str::to_owned).to_vec();
        IncidentPolicy {
            impacts: IncidentPolicy::default_impacts(&severities),
            severities,
            open_from: Some("P2".to_owned()),
            join_window: Duration::from_secs(30 * 60),
            resolve_with_alerts: true,
        }
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + minute * 60).unwrap()
    }

    fn fired<'a>(
        fingerprint: &'a str,
        monitor: &'a str,
        severity: &'a str,
        component: Option<&'a str>,
        minute: i64,
    ) -> Fired<'a> {
        Fired {
            fingerprint,
            monitor,
            severity,
            component,
            at: at(minute),
        }
    }

    fn incident(id: i64, component: &str, alert: (&str, &str), minute: i64) -> OpenIncident {
        OpenIncident {
            id,
            severity: "P2".to_owned(),
            components: [(component.to_owned(), Impact::DegradedPerformance)].into(),
            alerts: [(alert.0.to_owned(), alert.1.to_owned())].into(),
            firing: [alert.0.to_owned()].into(),
            last_alert_at: at(minute),
            opened_by_alert: true,
        }
    }

    #[test]
    fn p2_and_worse_open_p3_does_not() {
        let policy = policy();
        for severity in ["P0", "P1", "P2"] {
            assert!(matches!(
                on_fired(&policy, &[], fired("a", "m", severity, Some("api"), 0)),
                OnFired::Open { .. }
            ));
        }
        assert_eq!(
            on_fired(&policy, &[], fired("a", "m", "P3", Some("api"), 0)),
            OnFired::Ignore
        );
        assert_eq!(
            on_fired(&policy, &[], fired("a", "m", "urgent", None, 0)),
            OnFired::Ignore,
            "unknown severity"
        );
        let never = IncidentPolicy {
            open_from: None,
            ..policy
        };
        assert_eq!(
            on_fired(&never, &[], fired("a", "m", "P0", None, 0)),
            OnFired::Ignore
        );
    }

    #[test]
    fn an_opened_incident_has_the_alerts_component_with_its_severitys_impact() {
        assert_eq!(
            on_fired(&policy(), &[], fired("a", "m", "P1", Some("api"), 0)),
            OnFired::Open {
                severity: "P1".to_owned(),
                components: [("api".to_owned(), Impact::PartialOutage)].into(),
            }
        );
        assert_eq!(
            on_fired(&policy(), &[], fired("a", "m", "P0", None, 0)),
            OnFired::Open {
                severity: "P0".to_owned(),
                components: BTreeMap::new()
            }
        );
    }

    #[test]
    fn alerts_on_the_same_component_within_the_window_join_and_raise() {
        let open = [incident(7, "api", ("a", "m1"), 0)];
        // A P3 on the same component joins (it would not open one).
        assert_eq!(
            on_fired(&policy(), &open, fired("b", "m2", "P3", Some("api"), 29)),
            OnFired::Join {
                incident: 7,
                severity: None,
                impact: None
            }
        );
        // A P0 joins and raises both.
        assert_eq!(
            on_fired(&policy(), &open, fired("c", "m3", "P0", Some("api"), 30)),
            OnFired::Join {
                incident: 7,
                severity: Some("P0".to_owned()),
                impact: Some(("api".to_owned(), Impact::MajorOutage)),
            }
        );
        // Past the window, it opens its own.
        assert!(matches!(
            on_fired(&policy(), &open, fired("d", "m4", "P1", Some("api"), 31)),
            OnFired::Open { .. }
        ));
        // Another component opens its own.
        assert!(matches!(
            on_fired(&policy(), &open, fired("e", "m5", "P1", Some("db"), 1)),
            OnFired::Open { .. }
        ));
    }

    #[test]
    fn an_alert_of_a_monitor_already_in_an_incident_joins_without_a_component() {
        let open = [incident(7, "api", ("a", "m1"), 0)];
        assert_eq!(
            on_fired(&policy(), &open, fired("b", "m1", "P1", None, 5)),
            OnFired::Join {
                incident: 7,
                severity: Some("P1".to_owned()),
                impact: None
            }
        );
    }

    #[test]
    fn the_most_recent_of_two_joinable_incidents_takes_the_alert() {
        let open = [
            incident(7, "api", ("a", "m1"), 0),
            incident(9, "api", ("b", "m2"), 10),
        ];
        assert!(matches!(
            on_fired(&policy(), &open, fired("c", "m3", "P2", Some("api"), 12)),
            OnFired::Join { incident: 9, .. }
        ));
    }

    #[test]
    fn an_alert_already_in_an_incident_fires_again_there() {
        let open = [incident(7, "api", ("a", "m1"), 0)];
        assert_eq!(
            on_fired(&policy(), &open, fired("a", "m1", "P0", Some("api"), 600)),
            OnFired::Again { incident: 7 }
        );
    }

    #[test]
    fn the_last_firing_alert_resolves_an_incident_alerts_opened() {
        let mut open = incident(7, "api", ("a", "m1"), 0);
        open.alerts.insert("b".to_owned(), "m2".to_owned());
        open.firing.insert("b".to_owned());
        let policy = policy();
        assert_eq!(
            on_resolved(&policy, &[open.clone()], "a"),
            OnResolved::Record { incident: 7 }
        );
        open.firing.remove("a");
        assert_eq!(
            on_resolved(&policy, &[open.clone()], "b"),
            OnResolved::ResolveIncident { incident: 7 }
        );
        assert_eq!(
            on_resolved(&policy, &[open.clone()], "z"),
            OnResolved::Ignore
        );
        let by_hand = OpenIncident {
            opened_by_alert: false,
            ..open.clone()
        };
        assert_eq!(
            on_resolved(&policy, &[by_hand], "b"),
            OnResolved::Record { incident: 7 }
        );
        let keep = IncidentPolicy {
            resolve_with_alerts: false,
            ..policy
        };
        assert_eq!(
            on_resolved(&keep, &[open], "b"),
            OnResolved::Record { incident: 7 }
        );
    }
}
