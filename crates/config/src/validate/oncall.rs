//! The on-call sections but schedules (`rotation`): `[oncall]`
//! (acknowledgement targets per severity, link expiry), `[[person]]` (ids,
//! addresses, the notifiers that reach them) and `[[escalation]]` (levels
//! whose targets are notifiers, `person:ID` or `schedule:ID`, each level's
//! `delay`, `repeat`).

use std::time::Duration;

use jiff::tz::TimeZone;
use watchkeeper_domain::id::{EscalationId, NotifierId, PersonId, ScheduleId};
use watchkeeper_domain::oncall::escalation::{EscalationPolicy, EscalationTarget, Level};
use watchkeeper_domain::oncall::{AckTargets, Person};

use super::alerting::{duration, unknown_severity};
use super::notifier::mailbox;
use super::references::{Defined, References, Target};
use super::{Problems, non_empty, parse_id};
use crate::model::{DEFAULT_LINK_EXPIRY, Severities};
use crate::raw::{RawEscalation, RawLevel, RawOnCall, RawPerson};
use crate::raw_table::TextList;
use crate::source::Located;

/// The most times a ladder may repeat: beyond it, a forgotten alert pages
/// for days.
pub(super) const MAX_REPEAT: i64 = 100;
/// The longest acknowledgement link lifetime: a week.
const MAX_LINK_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// `[oncall]`: the acknowledgement targets (the defaults for the
/// severities that have one, each given one replacing its default) and the
/// acknowledgement links' lifetime.
pub(super) fn validate_oncall(
    raw: RawOnCall,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> (AckTargets, Duration) {
    let RawOnCall {
        ack_targets,
        link_expiry,
    } = raw;
    let mut targets = AckTargets::default();
    targets
        .0
        .retain(|severity, _| severities.rank(severity).is_some());
    for (severity, within) in ack_targets {
        if severities.rank(&severity.value).is_none() {
            problems.at(&severity.at, unknown_severity(&severity.value, severities));
            continue;
        }
        if let Some(within) = duration(within, "ack_targets", true, problems) {
            targets.0.insert(severity.value, within);
        }
    }
    let link_expiry = match link_expiry {
        None => DEFAULT_LINK_EXPIRY,
        Some(raw) => {
            let at = raw.at.clone();
            match duration(raw, "link_expiry", true, problems) {
                Some(expiry) if expiry > MAX_LINK_EXPIRY => {
                    problems.at(
                        &at,
                        "`link_expiry` may be at most 7d: a link in an old message should not still acknowledge",
                    );
                    DEFAULT_LINK_EXPIRY
                }
                Some(expiry) => expiry,
                None => DEFAULT_LINK_EXPIRY,
            }
        }
    };
    (targets, link_expiry)
}

pub(super) fn validate_person(
    raw: RawPerson,
    defined: &mut Defined,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Person> {
    let RawPerson {
        at,
        id,
        name,
        email,
        slack,
        phone,
        time_zone,
        contact,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "person",
        PersonId::parse,
        &mut defined.people,
        problems,
    );
    let name = non_empty(name, "`name`", problems);
    let email = email.and_then(|raw| mailbox(raw, "email", problems));
    let slack = slack.and_then(|raw| slack_member(raw, problems));
    let phone = non_empty(phone, "`phone`", problems);
    let time_zone = time_zone.and_then(|raw| zone(&raw, problems));
    let contact = notifier_list(contact, "contact", references, problems);
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(Person {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        email,
        slack,
        phone,
        time_zone,
        contact,
    })
}

/// A Slack member id as Slack shows it in a profile: `U024BE7LH`.
fn slack_member(raw: Located<String>, problems: &mut Problems<'_>) -> Option<String> {
    let looks_right = raw.value.len() >= 2
        && raw.value.starts_with(['U', 'W'])
        && raw
            .value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if looks_right {
        Some(raw.value)
    } else {
        problems.at(
            &raw.at,
            format!(
                "`slack` must be a Slack member id such as \"U024BE7LH\" (in Slack: the profile's ⋮ menu, \"Copy member ID\"), not {:?}",
                raw.value
            ),
        );
        None
    }
}

/// A time zone by its IANA name.
pub(super) fn zone(raw: &Located<String>, problems: &mut Problems<'_>) -> Option<TimeZone> {
    match TimeZone::get(&raw.value) {
        Ok(zone) => Some(zone),
        Err(_) => {
            problems.at(
                &raw.at,
                format!(
                    "unknown time zone {:?}; use an IANA name such as \"Europe/London\" or \"UTC\"",
                    raw.value
                ),
            );
            None
        }
    }
}

fn notifier_list(
    list: TextList,
    key: &str,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Vec<NotifierId> {
    let mut ids: Vec<NotifierId> = Vec::new();
    for name in list.map(|list| list.value).unwrap_or_default() {
        match NotifierId::parse(&name.value) {
            Ok(id) if ids.contains(&id) => problems.at(
                &name.at,
                format!("notifier `{id}` is listed twice in `{key}`"),
            ),
            Ok(id) => {
                ids.push(id);
                references.add(Target::Notifier, name);
            }
            Err(error) => problems.at(&name.at, format!("invalid notifier id: {error}")),
        }
    }
    ids
}

pub(super) fn validate_escalation(
    raw: RawEscalation,
    defined: &mut Defined,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<EscalationPolicy> {
    let RawEscalation {
        at,
        id,
        repeat,
        escalate_on_breach,
        levels,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "escalation",
        EscalationId::parse,
        &mut defined.escalations,
        problems,
    );
    let repeat = match repeat {
        None => 0,
        Some(raw) if (0..=MAX_REPEAT).contains(&raw.value) => u32::try_from(raw.value).ok()?,
        Some(raw) => {
            problems.at(
                &raw.at,
                format!("`repeat` must be from 0 to {MAX_REPEAT}, not {}", raw.value),
            );
            0
        }
    };
    if levels.is_empty() {
        problems.at(
            &at,
            "[[escalation]] has no `levels`; give at least one: levels = [{ notify = [\"schedule:primary\"], delay = \"15m\" }]",
        );
    }
    let count = levels.len();
    let levels: Vec<Option<Level>> = levels
        .into_iter()
        .enumerate()
        .map(|(index, raw)| level(raw, index + 1 == count, repeat, references, problems))
        .collect();
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(EscalationPolicy {
        id,
        levels: levels.into_iter().collect::<Option<Vec<_>>>()?,
        repeat,
        escalate_on_breach: escalate_on_breach.is_some_and(|flag| flag.value),
    })
}

fn level(
    raw: RawLevel,
    last: bool,
    repeat: u32,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Level> {
    let RawLevel { at, notify, delay } = raw;
    let before = problems.count();
    let mut targets: Vec<EscalationTarget> = Vec::new();
    match notify {
        None => problems.at(
            &at,
            "an escalation level is missing `notify`, whom it pages (notifiers, \"person:ID\", \"schedule:ID\")",
        ),
        Some(list) if list.value.is_empty() => problems.at(
            &list.at,
            "`notify` is empty: a level must page someone",
        ),
        Some(list) => {
            for name in list.value {
                if let Some(target) = target(name, references, problems) {
                    if targets.contains(&target) {
                        problems.at(
                            &at,
                            format!("`{}` is listed twice in this level", target.reference()),
                        );
                    } else {
                        targets.push(target);
                    }
                }
            }
        }
    }
    let delay = match delay {
        Some(raw) => duration(raw, "delay", true, problems),
        None if last && repeat == 0 => None,
        None if last => {
            problems.at(
                &at,
                "the last level needs `delay` when the policy repeats: how long after it the ladder starts again",
            );
            None
        }
        None => {
            problems.at(
                &at,
                "this level needs `delay`: how long after it is paged the next level is",
            );
            None
        }
    };
    (problems.count() == before).then_some(Level { targets, delay })
}

/// `"team-slack"`, `"person:carol"` or `"schedule:primary"`, noted as a
/// reference.
fn target(
    raw: Located<String>,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<EscalationTarget> {
    let (kind, id) = match raw.value.split_once(':') {
        Some((kind, id)) => (Some(kind), id),
        None => (None, raw.value.as_str()),
    };
    let parsed = match kind {
        None => NotifierId::parse(id).map(|id| (EscalationTarget::Notifier(id), Target::Notifier)),
        Some("person") => {
            PersonId::parse(id).map(|id| (EscalationTarget::Person(id), Target::Person))
        }
        Some("schedule") => {
            ScheduleId::parse(id).map(|id| (EscalationTarget::Schedule(id), Target::Schedule))
        }
        Some(other) => {
            problems.at(
                &raw.at,
                format!(
                    "unknown kind `{other}:` in {:?}; a level pages a notifier (its id), \"person:ID\" or \"schedule:ID\"",
                    raw.value
                ),
            );
            return None;
        }
    };
    match parsed {
        Ok((target, kind)) => {
            let id_only = Located {
                value: id.to_owned(),
                at: raw.at.clone(),
            };
            references.add(kind, id_only);
            Some(target)
        }
        Err(error) => {
            problems.at(&raw.at, format!("invalid id in {:?}: {error}", raw.value));
            None
        }
    }
}
