//! The cross-reference pass: after every section of every file is
//! validated, each reference one section makes to another's ids (a
//! monitor's `component` and `depends_on`, the monitors and components of
//! rules, SLOs and maintenance windows, a route's notifiers and escalation
//! policy, a person's notifiers, a schedule's people, an escalation level's
//! notifiers, people and schedules) is resolved
//! against the ids defined anywhere.
//! An unresolved one is an error at the referring value, with a "did you
//! mean" among the known ids, or the list of them.
//!
//! A section notes a reference with [`References::add`] where it checks
//! the referring key; a new kind of reference is a [`Target`] variant, the
//! ids it resolves against in [`Defined`], and one arm in each `match`
//! below. Severities are not references: `[alerting]` is in the main file,
//! read first, so each section checks its severities itself.

use std::collections::HashMap;

use watchkeeper_domain::id::{
    ComponentId, EscalationId, MaintenanceId, MonitorId, NotifierId, PersonId, RuleId, ScheduleId,
    SloId,
};

use super::Problems;
use crate::source::{Loc, Located};

/// How many known ids an error lists before it says how many more there are.
const LISTED_IDS: usize = 10;

/// What a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Target {
    /// A `[[component]]`'s id.
    Component,
    /// A `[[monitor]]`'s id.
    Monitor,
    /// A `depends_on` entry: a monitor's id, or a component's (its monitors).
    Dependency,
    /// A `[[notifier]]`'s id.
    Notifier,
    /// A `[[person]]`'s id.
    Person,
    /// An on-call `[[schedule]]`'s id.
    Schedule,
    /// An `[[escalation]]` policy's id.
    Escalation,
}

impl Target {
    /// How messages name one and many of them, and the table defining them.
    fn words(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Target::Component => ("component", "components", "[[component]]"),
            Target::Monitor => ("monitor", "monitors", "[[monitor]]"),
            Target::Dependency => (
                "monitor or component",
                "monitors and components",
                "[[monitor]]",
            ),
            Target::Notifier => ("notifier", "notifiers", "[[notifier]]"),
            Target::Person => ("person", "people", "[[person]]"),
            Target::Schedule => ("schedule", "schedules", "[[schedule]]"),
            Target::Escalation => ("escalation policy", "escalation policies", "[[escalation]]"),
        }
    }
}

/// The ids each section defined and where; filled by the sections'
/// validation (which rejects duplicates against it), read by [`resolve`].
#[derive(Default)]
pub(super) struct Defined {
    pub components: HashMap<ComponentId, Loc>,
    pub monitors: HashMap<MonitorId, Loc>,
    pub rules: HashMap<RuleId, Loc>,
    pub slos: HashMap<SloId, Loc>,
    pub maintenance: HashMap<MaintenanceId, Loc>,
    pub notifiers: HashMap<NotifierId, Loc>,
    pub people: HashMap<PersonId, Loc>,
    pub schedules: HashMap<ScheduleId, Loc>,
    pub escalations: HashMap<EscalationId, Loc>,
}

impl Defined {
    /// The ids a target can name, sorted, so messages are stable.
    fn ids(&self, target: Target) -> Vec<&str> {
        let mut ids: Vec<&str> = match target {
            Target::Component => self.components.keys().map(ComponentId::as_str).collect(),
            Target::Monitor => self.monitors.keys().map(MonitorId::as_str).collect(),
            Target::Dependency => self
                .monitors
                .keys()
                .map(MonitorId::as_str)
                .chain(self.components.keys().map(ComponentId::as_str))
                .collect(),
            Target::Notifier => self.notifiers.keys().map(NotifierId::as_str).collect(),
            Target::Person => self.people.keys().map(PersonId::as_str).collect(),
            Target::Schedule => self.schedules.keys().map(ScheduleId::as_str).collect(),
            Target::Escalation => self.escalations.keys().map(EscalationId::as_str).collect(),
        };
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// The references the sections made, each the id as written (already
/// checked to be a valid id) at the referring value.
#[derive(Default)]
pub(super) struct References(Vec<(Target, Located<String>)>);

impl References {
    pub fn add(&mut self, target: Target, id: Located<String>) {
        self.0.push((target, id));
    }
}

/// Reports every reference to an id that no section defines.
pub(super) fn resolve(references: References, defined: &Defined, problems: &mut Problems<'_>) {
    let mut known: HashMap<Target, Vec<&str>> = HashMap::new();
    for (target, id) in references.0 {
        let ids = known.entry(target).or_insert_with(|| defined.ids(target));
        if ids.binary_search(&id.value.as_str()).is_err() {
            problems.at(&id.at, unresolved(target, &id.value, ids));
        }
    }
}

fn unresolved(target: Target, id: &str, known: &[&str]) -> String {
    let (one, many, table) = target.words();
    let hint = if known.is_empty() {
        format!("none are defined; add a {table}")
    } else if let Some(similar) = watchkeeper_domain::suggest::closest(id, known.iter().copied()) {
        format!("did you mean `{similar}`?")
    } else if known.len() > LISTED_IDS {
        format!(
            "known {many} include {} and {} more",
            known[..LISTED_IDS].join(", "),
            known.len() - LISTED_IDS
        )
    } else {
        format!("known {many}: {}", known.join(", "))
    };
    format!("unknown {one} `{id}`; {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unresolved_id_suggests_a_close_one_or_lists_them() {
        assert_eq!(
            unresolved(Target::Component, "apii", &["api", "db"]),
            "unknown component `apii`; did you mean `api`?"
        );
        assert_eq!(
            unresolved(Target::Component, "cache", &["api", "db"]),
            "unknown component `cache`; known components: api, db"
        );
        assert_eq!(
            unresolved(Target::Component, "api", &[]),
            "unknown component `api`; none are defined; add a [[component]]"
        );
    }

    #[test]
    fn a_long_list_of_known_ids_is_cut() {
        let names: Vec<String> = (0..12).map(|n| format!("component-{n:02}")).collect();
        let known: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            unresolved(Target::Component, "x", &known),
            "unknown component `x`; known components include component-00, component-01, \
             component-02, component-03, component-04, component-05, component-06, \
             component-07, component-08, component-09 and 2 more"
        );
    }
}
