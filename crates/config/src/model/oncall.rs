//! The validated on-call config: people, schedules (as the domain's
//! `OnCallSchedule`, rotations and config overrides included), escalation
//! policies, and the acknowledgement settings of `[oncall]`.

use std::time::Duration;

use watchkeeper_domain::id::{EscalationId, PersonId, ScheduleId};
use watchkeeper_domain::oncall::escalation::EscalationPolicy;
use watchkeeper_domain::oncall::schedule::OnCallSchedule;
use watchkeeper_domain::oncall::{AckTargets, Person};

/// `[oncall] link_expiry` when not given: an acknowledgement link in a
/// notification works for a day.
pub const DEFAULT_LINK_EXPIRY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct OnCallConfig {
    /// In the order written (main file first, then included files).
    pub people: Vec<Person>,
    pub schedules: Vec<OnCallSchedule>,
    pub escalations: Vec<EscalationPolicy>,
    /// How soon each severity should be acknowledged (the seeds' P0 15 min,
    /// P1 1 h, P2 4 h, P3 24 h unless `[oncall] ack_targets` says otherwise).
    pub ack_targets: AckTargets,
    /// How long an acknowledgement link stays valid.
    pub link_expiry: Duration,
}

impl OnCallConfig {
    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.people.iter().find(|person| &person.id == id)
    }

    pub fn schedule(&self, id: &ScheduleId) -> Option<&OnCallSchedule> {
        self.schedules.iter().find(|schedule| &schedule.id == id)
    }

    pub fn escalation(&self, id: &EscalationId) -> Option<&EscalationPolicy> {
        self.escalations.iter().find(|policy| &policy.id == id)
    }
}
