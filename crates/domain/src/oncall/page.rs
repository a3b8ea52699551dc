//! Whom one escalation level reaches at an instant: its notifiers as they
//! are, each person through their contact notifiers, each schedule's
//! person on call then (overrides included) through theirs. What cannot be
//! reached (nobody on call, a person without contacts) is kept as a note,
//! so the alert's timeline says why nobody was paged.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::id::{NotifierId, PersonId, ScheduleId};
use crate::oncall::Directory;
use crate::oncall::escalation::{EscalationTarget, Level};
use crate::oncall::schedule::Override;

/// One message to send for a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The level's target this comes from, as written (`schedule:primary`).
    pub target: String,
    pub notifier: NotifierId,
    /// The person paged, when the target was a person or a schedule.
    pub person: Option<PersonId>,
}

/// What paging a level comes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub recipients: Vec<Recipient>,
    /// (target, why nobody was reached through it).
    pub unreached: Vec<(String, String)>,
}

/// Resolves `level` at `at`. `overrides` holds the run-time overrides by
/// schedule. A notifier reached twice for the same person (a person both
/// named and on call) is sent once.
pub fn reach(
    level: &Level,
    directory: &Directory,
    overrides: &BTreeMap<ScheduleId, Vec<Override>>,
    at: Timestamp,
) -> Reach {
    let mut reach = Reach::default();
    let push = |reach: &mut Reach, recipient: Recipient| {
        let seen = reach
            .recipients
            .iter()
            .any(|one| one.notifier == recipient.notifier && one.person == recipient.person);
        if !seen {
            reach.recipients.push(recipient);
        }
    };
    for target in &level.targets {
        let reference = target.reference();
        let person = match target {
            EscalationTarget::Notifier(notifier) => {
                push(
                    &mut reach,
                    Recipient {
                        target: reference,
                        notifier: notifier.clone(),
                        person: None,
                    },
                );
                continue;
            }
            EscalationTarget::Person(person) => person.clone(),
            EscalationTarget::Schedule(id) => {
                let Some(schedule) = directory.schedule(id) else {
                    reach
                        .unreached
                        .push((reference, format!("schedule {id} is no longer configured")));
                    continue;
                };
                let extra = overrides.get(id).map(Vec::as_slice).unwrap_or_default();
                match schedule.who(extra, at) {
                    Some((person, _)) => person,
                    None => {
                        reach
                            .unreached
                            .push((reference, format!("nobody is on call on schedule {id}")));
                        continue;
                    }
                }
            }
        };
        match directory.person(&person) {
            Some(found) if !found.contact.is_empty() => {
                for notifier in &found.contact {
                    push(
                        &mut reach,
                        Recipient {
                            target: reference.clone(),
                            notifier: notifier.clone(),
                            person: Some(person.clone()),
                        },
                    );
                }
            }
            Some(_) => reach.unreached.push((
                reference,
                format!("{person} has no `contact` notifiers to be paged through"),
            )),
            None => reach.unreached.push((
                reference,
                format!("person {person} is no longer configured"),
            )),
        }
    }
    reach
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    use super::*;
    use crate::oncall::Person;
    use crate::oncall::rotation::{Rotation, parse_handoff};
    use crate::oncall::schedule::OnCallSchedule;

    fn person(id: &str, contact: &[&str]) -> Person {
        Person {
            id: PersonId::parse(id).unwrap(),
            name: id.to_owned(),
            email: None,
            slack: None,
            phone: None,
            time_zone: None,
            contact: contact
                .iter()
                .map(|n| NotifierId::parse(n).unwrap())
                .collect(),
        }
    }

    fn directory() -> Directory {
        Directory {
            people: vec![
                person("alice", &["mail", "chat"]),
                person("bob", &["mail"]),
                person("quiet", &[]),
            ],
            schedules: vec![OnCallSchedule {
                id: ScheduleId::parse("primary").unwrap(),
                name: "Primary".to_owned(),
                layers: vec![Rotation {
                    name: "base".to_owned(),
                    time_zone: TimeZone::UTC,
                    every_days: 7,
                    handoff: parse_handoff("Mon 09:00").unwrap(),
                    start: date(2026, 11, 30),
                    members: vec![
                        PersonId::parse("alice").unwrap(),
                        PersonId::parse("bob").unwrap(),
                    ],
                    restrictions: Vec::new(),
                }],
                overrides: Vec::new(),
            }],
            ack_targets: Default::default(),
        }
    }

    fn level(targets: &[&str]) -> Level {
        Level {
            targets: targets
                .iter()
                .map(|target| match target.split_once(':') {
                    Some(("person", id)) => EscalationTarget::Person(PersonId::parse(id).unwrap()),
                    Some(("schedule", id)) => {
                        EscalationTarget::Schedule(ScheduleId::parse(id).unwrap())
                    }
                    _ => EscalationTarget::Notifier(NotifierId::parse(target).unwrap()),
                })
                .collect(),
            delay: None,
        }
    }

    fn sent(reach: &Reach) -> Vec<(String, String, Option<String>)> {
        reach
            .recipients
            .iter()
            .map(|one| {
                (
                    one.target.clone(),
                    one.notifier.to_string(),
                    one.person.as_ref().map(ToString::to_string),
                )
            })
            .collect()
    }

    #[test]
    fn a_schedule_reaches_whoever_is_on_call_through_their_contacts() {
        let at: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
        let reach = reach(
            &level(&["schedule:primary", "team"]),
            &directory(),
            &BTreeMap::new(),
            at,
        );
        assert_eq!(
            sent(&reach),
            [
                (
                    "schedule:primary".into(),
                    "mail".into(),
                    Some("alice".into())
                ),
                (
                    "schedule:primary".into(),
                    "chat".into(),
                    Some("alice".into())
                ),
                ("team".into(), "team".into(), None),
            ]
        );
        assert!(reach.unreached.is_empty());
    }

    #[test]
    fn an_override_decides_and_a_person_named_twice_is_sent_once() {
        let at: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
        let overrides = BTreeMap::from([(
            ScheduleId::parse("primary").unwrap(),
            vec![Override {
                id: Some(1),
                person: PersonId::parse("bob").unwrap(),
                start: "2026-12-01T00:00:00Z".parse().unwrap(),
                end: "2026-12-03T00:00:00Z".parse().unwrap(),
            }],
        )]);
        let reach = reach(
            &level(&["schedule:primary", "person:bob"]),
            &directory(),
            &overrides,
            at,
        );
        assert_eq!(
            sent(&reach),
            [("schedule:primary".into(), "mail".into(), Some("bob".into()))]
        );
    }

    #[test]
    fn nobody_on_call_and_a_person_without_contacts_are_noted() {
        let before_start: Timestamp = "2026-11-01T12:00:00Z".parse().unwrap();
        let reach = reach(
            &level(&["schedule:primary", "person:quiet"]),
            &directory(),
            &BTreeMap::new(),
            before_start,
        );
        assert!(reach.recipients.is_empty());
        assert_eq!(
            reach.unreached,
            [
                (
                    "schedule:primary".to_owned(),
                    "nobody is on call on schedule primary".to_owned()
                ),
                (
                    "person:quiet".to_owned(),
                    "quiet has no `contact` notifiers to be paged through".to_owned()
                ),
            ]
        );
    }
}
