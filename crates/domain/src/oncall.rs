//! On-call, as pure decisions: the people who can be paged, schedules of
//! rotations with layers and overrides (`schedule`, `rotation`: who is on
//! call at an instant), escalation policies and the ladder an alert climbs
//! (`escalation`), and how soon each severity must be acknowledged.

pub mod escalation;
pub mod link;
pub mod page;
pub mod rotation;
pub mod schedule;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::tz::TimeZone;

use crate::id::{NotifierId, PersonId};

/// Someone who can be on call and be paged.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: PersonId,
    pub name: String,
    /// Where an email notifier writes to them (instead of its own `to`).
    pub email: Option<String>,
    /// Their Slack member id (`U024BE7LH`), mentioned by a Slack notifier.
    pub slack: Option<String>,
    /// For display only: nothing calls it.
    pub phone: Option<String>,
    /// The zone their shifts are shown in; the schedule's when `None`.
    pub time_zone: Option<TimeZone>,
    /// The notifiers that reach them, in order: paging them sends through
    /// each.
    pub contact: Vec<NotifierId>,
}

/// The default acknowledgement targets, from the seeds' severity response
/// times: P0 15 minutes, P1 an hour, P2 four hours, P3 a day.
pub const DEFAULT_ACK_TARGETS: [(&str, Duration); 4] = [
    ("P0", Duration::from_secs(15 * 60)),
    ("P1", Duration::from_secs(60 * 60)),
    ("P2", Duration::from_secs(4 * 60 * 60)),
    ("P3", Duration::from_secs(24 * 60 * 60)),
];

/// How soon an alert of each severity should be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckTargets(pub BTreeMap<String, Duration>);

impl Default for AckTargets {
    fn default() -> AckTargets {
        AckTargets(
            DEFAULT_ACK_TARGETS
                .iter()
                .map(|(severity, within)| ((*severity).to_owned(), *within))
                .collect(),
        )
    }
}

impl AckTargets {
    /// The target for `severity`, if it has one.
    pub fn within(&self, severity: &str) -> Option<Duration> {
        self.0.get(severity).copied()
    }
}

/// What on-call reads of the config at any moment (replaced whole on
/// reload): the people, the schedules, and the acknowledgement targets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub people: Vec<Person>,
    pub schedules: Vec<schedule::OnCallSchedule>,
    pub ack_targets: AckTargets,
}

impl Directory {
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.people.iter().find(|person| &person.id == id)
    }

    pub fn schedule(&self, id: &crate::id::ScheduleId) -> Option<&schedule::OnCallSchedule> {
        self.schedules.iter().find(|schedule| &schedule.id == id)
    }
}
