//! On-call `[[schedule]]`s: a base rotation written on the schedule itself
//! and/or `[[schedule.layer]]`s stacked above it, each with `every` (whole
//! days or weeks), `handoff` ("09:00" or "Mon 09:00"), `start` (a date),
//! `members` (people) and `[[…restrict]]` windows, all in the schedule's
//! `time_zone`; and `[[schedule.override]]`s, which may not overlap.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use watchkeeper_domain::id::{PersonId, ScheduleId};
use watchkeeper_domain::oncall::rotation::{
    Handoff, Restriction, Rotation, parse_handoff, parse_time, parse_weekday,
};
use watchkeeper_domain::oncall::schedule::{OnCallSchedule, Override, first_overlap};

use super::oncall::zone;
use super::references::{Defined, References, Target};
use super::{Problems, non_empty, parse_id};
use crate::raw::{RawLayer, RawOverride, RawRestriction, RawSchedule};
use crate::raw_table::{Text, TextList};
use crate::source::{Loc, Located};

/// A rotation's `start` when not given: a Monday long ago, so a weekly
/// rotation's order does not depend on the day the config was written.
const DEFAULT_START: Date = Date::constant(1970, 1, 5);
/// The longest turn: a year.
const MAX_EVERY_DAYS: u32 = 366;

pub(super) fn validate_schedule(
    raw: RawSchedule,
    defined: &mut Defined,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<OnCallSchedule> {
    let RawSchedule {
        at,
        id,
        name,
        time_zone,
        every,
        handoff,
        start,
        members,
        restrict,
        layers,
        overrides,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "schedule",
        ScheduleId::parse,
        &mut defined.schedules,
        problems,
    );
    let name = non_empty(name, "`name`", problems);
    let zone = match &time_zone {
        Some(raw) => zone(raw, problems),
        None => Some(TimeZone::UTC),
    };
    let has_base = members.is_some();
    let mut rotations = Vec::new();
    if has_base {
        let base = RawLayer {
            at: at.clone(),
            name: None,
            every,
            handoff,
            start,
            members,
            restrict,
        };
        rotations.push(layer(base, "base", zone.as_ref(), references, problems));
    } else {
        for (key, value) in [("every", &every), ("handoff", &handoff), ("start", &start)] {
            if let Some(value) = value {
                problems.at(
                    &value.at,
                    format!(
                        "`{key}` belongs to the schedule's base rotation, which needs `members`"
                    ),
                );
            }
        }
        if let Some(first) = restrict.first() {
            problems.at(
                &first.at,
                "`restrict` belongs to the schedule's base rotation, which needs `members`",
            );
        }
        if layers.is_empty() {
            problems.at(
                &at,
                "[[schedule]] has nobody to put on call: give `members` (a rotation) or [[schedule.layer]]s",
            );
        }
    }
    for (index, raw) in layers.into_iter().enumerate() {
        let fallback = format!("layer-{}", index + 1);
        rotations.push(layer(raw, &fallback, zone.as_ref(), references, problems));
    }
    let overrides: Vec<(Override, Loc)> = overrides
        .into_iter()
        .filter_map(|raw| override_span(raw, references, problems))
        .collect();
    let spans: Vec<Override> = overrides.iter().map(|(one, _)| one.clone()).collect();
    if let Some((earlier, later)) = first_overlap(&spans) {
        let located = |wanted: &Override| {
            overrides
                .iter()
                .find(|(one, _)| one == wanted)
                .map(|(_, at)| at.clone())
        };
        if let (Some(first_at), Some(second_at)) = (located(earlier), located(later)) {
            problems.at(
                &second_at,
                format!(
                    "this override ({} to {}) overlaps the one at {first_at} ({} to {}); who would be on call?",
                    later.start, later.end, earlier.start, earlier.end
                ),
            );
        }
    }
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(OnCallSchedule {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        layers: rotations.into_iter().collect::<Option<Vec<_>>>()?,
        overrides: spans,
    })
}

fn layer(
    raw: RawLayer,
    fallback_name: &str,
    zone: Option<&TimeZone>,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Rotation> {
    let RawLayer {
        at,
        name,
        every,
        handoff,
        start,
        members,
        restrict,
    } = raw;
    let before = problems.count();
    let name = non_empty(name, "`name`", problems).unwrap_or_else(|| fallback_name.to_owned());
    let every_at = every
        .as_ref()
        .map_or_else(|| at.clone(), |raw| raw.at.clone());
    let every_days = match every {
        None => {
            problems.at(
                &at,
                "a rotation needs `every`, how long each turn lasts in days or weeks (\"1w\", \"1d\")",
            );
            None
        }
        Some(raw) => every_days(&raw, problems),
    };
    let handoff = handoff_of(handoff, problems);
    if let (
        Some(days),
        Some(Handoff {
            weekday: Some(_), ..
        }),
    ) = (every_days, handoff)
        && days % 7 != 0
    {
        problems.at(
            &every_at,
            format!("a hand-off on a weekday needs turns of whole weeks; `every` is {days} days"),
        );
    }
    let start = match start {
        None => Some(DEFAULT_START),
        Some(raw) => match raw.value.parse::<Date>() {
            Ok(date) => Some(date),
            Err(_) => {
                problems.at(
                    &raw.at,
                    format!(
                        "`start` must be a date such as \"2026-01-05\", not {:?}",
                        raw.value
                    ),
                );
                None
            }
        },
    };
    let members = member_list(members, &at, references, problems);
    let restrictions: Vec<Option<Restriction>> = restrict
        .into_iter()
        .map(|raw| restriction(raw, problems))
        .collect();
    if problems.count() > before {
        return None;
    }
    Some(Rotation {
        name,
        time_zone: zone?.clone(),
        every_days: every_days?,
        handoff: handoff?,
        start: start?,
        members,
        restrictions: restrictions.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

/// `"1w"`, `"2w"`, `"1d"`, `"3d"`: whole days in the schedule's zone.
fn every_days(raw: &Located<String>, problems: &mut Problems<'_>) -> Option<u32> {
    let text = raw.value.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let days = match (number.parse::<u32>(), unit) {
        (Ok(count), "d") => count.checked_mul(1),
        (Ok(count), "w") => count.checked_mul(7),
        _ => None,
    };
    match days {
        Some(days) if (1..=MAX_EVERY_DAYS).contains(&days) => Some(days),
        Some(_) => {
            problems.at(
                &raw.at,
                format!(
                    "`every` must be from 1d to {MAX_EVERY_DAYS}d, not {:?}",
                    raw.value
                ),
            );
            None
        }
        None => {
            problems.at(
                &raw.at,
                format!(
                    "`every` is a turn's length in whole days or weeks, such as \"1w\" or \"3d\", not {:?} (turns are counted on the calendar, so a hand-off keeps its wall-clock time across daylight saving)",
                    raw.value
                ),
            );
            None
        }
    }
}

fn handoff_of(raw: Text, problems: &mut Problems<'_>) -> Option<Handoff> {
    let Some(raw) = raw else {
        return parse_handoff("09:00").ok();
    };
    match parse_handoff(&raw.value) {
        Ok(handoff) => Some(handoff),
        Err(message) => {
            problems.at(&raw.at, format!("`handoff`: {message}"));
            None
        }
    }
}

fn member_list(
    list: TextList,
    table_at: &Loc,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Vec<PersonId> {
    let Some(list) = list else {
        problems.at(
            table_at,
            "a rotation needs `members`, the people who take turns",
        );
        return Vec::new();
    };
    if list.value.is_empty() {
        problems.at(
            &list.at,
            "`members` is empty: a rotation needs at least one person",
        );
    }
    let mut members = Vec::new();
    for name in list.value {
        match PersonId::parse(&name.value) {
            Ok(id) => {
                members.push(id);
                references.add(Target::Person, name);
            }
            Err(error) => problems.at(&name.at, format!("invalid person id: {error}")),
        }
    }
    members
}

fn restriction(raw: RawRestriction, problems: &mut Problems<'_>) -> Option<Restriction> {
    let RawRestriction { at, days, from, to } = raw;
    let before = problems.count();
    let days = match days {
        None => vec![
            jiff::civil::Weekday::Monday,
            jiff::civil::Weekday::Tuesday,
            jiff::civil::Weekday::Wednesday,
            jiff::civil::Weekday::Thursday,
            jiff::civil::Weekday::Friday,
            jiff::civil::Weekday::Saturday,
            jiff::civil::Weekday::Sunday,
        ],
        Some(list) => {
            if list.value.is_empty() {
                problems.at(
                    &list.at,
                    "`days` is empty: the restriction would never apply",
                );
            }
            list.value
                .iter()
                .filter_map(|day| match parse_weekday(&day.value) {
                    Ok(day) => Some(day),
                    Err(message) => {
                        problems.at(&day.at, message);
                        None
                    }
                })
                .collect()
        }
    };
    let mut time = |raw: Text, key: &str| match raw {
        None => {
            problems.at(
                &at,
                format!("a restriction needs `from` and `to`; `{key}` is missing"),
            );
            None
        }
        Some(raw) => match parse_time(&raw.value) {
            Ok(time) => Some(time),
            Err(message) => {
                problems.at(&raw.at, format!("`{key}`: {message}"));
                None
            }
        },
    };
    let (from, to) = (time(from, "from"), time(to, "to"));
    if problems.count() > before {
        return None;
    }
    Some(Restriction {
        days,
        from: from?,
        to: to?,
    })
}

fn override_span(
    raw: RawOverride,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<(Override, Loc)> {
    let RawOverride {
        at,
        person,
        start,
        end,
    } = raw;
    let before = problems.count();
    let person = match person {
        None => {
            problems.at(&at, "an override needs `person`, who is on call instead");
            None
        }
        Some(name) => match PersonId::parse(&name.value) {
            Ok(id) => {
                references.add(Target::Person, name);
                Some(id)
            }
            Err(error) => {
                problems.at(&name.at, format!("invalid person id: {error}"));
                None
            }
        },
    };
    let mut instant = |raw: Text, key: &str| match raw {
        None => {
            problems.at(
                &at,
                format!("an override needs `start` and `end`; `{key}` is missing"),
            );
            None
        }
        Some(raw) => match raw.value.parse::<Timestamp>() {
            Ok(instant) => Some((instant, raw)),
            Err(_) => {
                problems.at(
                    &raw.at,
                    format!(
                        "`{key}` must be an instant with an offset, such as \"2026-12-24T09:00:00Z\" or \"2026-12-24T09:00:00+01:00\", not {:?}",
                        raw.value
                    ),
                );
                None
            }
        },
    };
    let (start, end) = (instant(start, "start"), instant(end, "end"));
    if let (Some((start, start_raw)), Some((end, end_raw))) = (&start, &end)
        && end <= start
    {
        problems.at(
            &end_raw.at,
            format!(
                "`end` {:?} is not after `start` {:?}",
                end_raw.value, start_raw.value
            ),
        );
    }
    if problems.count() > before {
        return None;
    }
    Some((
        Override {
            id: None,
            person: person?,
            start: start?.0,
            end: end?.0,
        },
        at,
    ))
}
