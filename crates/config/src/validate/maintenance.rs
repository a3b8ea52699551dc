//! `[[maintenance]]` windows: what they cover (monitors and components,
//! references), and when: one-off (`start`, `end`: RFC 3339 instants with
//! an offset, the end after the start) or recurring (a cron `schedule` in
//! a `time_zone`, each occurrence lasting `duration`, which must end
//! before the next begins). Two one-off windows on the same monitor or
//! component may not overlap: the second is a mistake, or the two are one.

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, When};
use watchkeeper_domain::id::{ComponentId, MaintenanceId, MonitorId};
use watchkeeper_domain::schedule::{CalendarError, CronSchedule};

use super::alerting::duration;
use super::references::{Defined, References, Target};
use super::{Problems, humanize, non_empty, parse_id};
use crate::raw::RawMaintenance;
use crate::source::{Loc, Located};

/// Occurrences of a recurring window are compared from this instant…
const GAP_CHECK_FROM: &str = "2026-01-01T00:00:00Z";
/// …for a year (every month, weekday and both daylight-saving changes)…
const GAP_CHECK_SPAN: SignedDuration = SignedDuration::from_hours(366 * 24);
/// …or this many occurrences, whichever comes first (a window every
/// minute repeats itself long before).
const GAP_CHECK_OCCURRENCES: usize = 2_000;

/// A validated window and where its checks across windows report.
pub(super) struct Checked {
    pub window: MaintenanceWindow,
    /// A one-off window's `start` (where an overlap is reported).
    pub start_at: Loc,
}

pub(super) fn validate_maintenance(
    raw: RawMaintenance,
    defined: &mut Defined,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Checked> {
    let RawMaintenance {
        at,
        id,
        title,
        monitors,
        components,
        start,
        end,
        schedule,
        duration: raw_duration,
        time_zone,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "maintenance",
        MaintenanceId::parse,
        &mut defined.maintenance,
        problems,
    );
    let title = non_empty(title, "`title`", problems);
    let monitors = ids::<MonitorId>(
        monitors.map(|l| l.value),
        Target::Monitor,
        references,
        problems,
    );
    let components = ids::<ComponentId>(
        components.map(|l| l.value),
        Target::Component,
        references,
        problems,
    );
    if monitors.is_empty() && components.is_empty() && problems.count() == before {
        problems.at(
            &at,
            "[[maintenance]] covers nothing; give `monitors`, `components` or both",
        );
    }
    let start_at = start
        .as_ref()
        .map_or_else(|| at.clone(), |raw| raw.at.clone());
    let when = match (start, end, schedule) {
        (start, end, None) => {
            for (key, value) in [("duration", &raw_duration), ("time_zone", &time_zone)] {
                if let Some(value) = value {
                    problems.at(
                        &value.at,
                        format!("`{key}` belongs to a recurring window (with `schedule`); a one-off window has `start` and `end`"),
                    );
                }
            }
            once(start, end, &at, problems)
        }
        (start, end, Some(cron)) => {
            for value in [start, end].into_iter().flatten() {
                problems.at(
                    &value.at,
                    "a window is one-off (`start` and `end`) or recurring (`schedule` and `duration`), not both",
                );
            }
            recurring(cron, raw_duration, time_zone, &at, problems)
        }
    };
    let (id, when) = (id?, when?);
    if problems.count() > before {
        return None;
    }
    Some(Checked {
        window: MaintenanceWindow {
            title: title.unwrap_or_else(|| id.to_string()),
            id: id.to_string(),
            monitors: monitors.into_iter().map(|(id, _)| id).collect(),
            components: components.into_iter().map(|(id, _)| id).collect(),
            when,
        },
        start_at,
    })
}

/// Ids of one kind, noted as references.
fn ids<Id: IdKind>(
    names: Option<Vec<Located<String>>>,
    target: Target,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Vec<(Id, Loc)> {
    let mut ids = Vec::new();
    for name in names.unwrap_or_default() {
        match Id::parse_id(&name.value) {
            Ok(id) => {
                ids.push((id, name.at.clone()));
                references.add(target, name);
            }
            Err(error) => problems.at(&name.at, format!("invalid id: {error}")),
        }
    }
    ids
}

trait IdKind: Sized {
    fn parse_id(raw: &str) -> Result<Self, watchkeeper_domain::IdError>;
}

impl IdKind for MonitorId {
    fn parse_id(raw: &str) -> Result<Self, watchkeeper_domain::IdError> {
        MonitorId::parse(raw)
    }
}

impl IdKind for ComponentId {
    fn parse_id(raw: &str) -> Result<Self, watchkeeper_domain::IdError> {
        ComponentId::parse(raw)
    }
}

fn instant(raw: &Located<String>, key: &str, problems: &mut Problems<'_>) -> Option<Timestamp> {
    match raw.value.parse::<Timestamp>() {
        Ok(instant) => Some(instant),
        Err(error) => {
            problems.at(
                &raw.at,
                format!(
                    "`{key}` must be an instant with an offset, such as \"2026-06-01T02:00:00Z\" or \"2026-06-01T04:00:00+02:00\", not {:?}: {error}",
                    raw.value
                ),
            );
            None
        }
    }
}

fn once(
    start: Option<Located<String>>,
    end: Option<Located<String>>,
    table_at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<When> {
    let (Some(start), Some(end)) = (start, end) else {
        problems.at(
            table_at,
            "[[maintenance]] needs `start` and `end` (one-off) or `schedule` and `duration` (recurring)",
        );
        return None;
    };
    let (start_instant, end_instant) = (
        instant(&start, "start", problems),
        instant(&end, "end", problems),
    );
    let (start_instant, end_instant) = (start_instant?, end_instant?);
    if end_instant <= start_instant {
        problems.at(
            &end.at,
            format!(
                "`end` {:?} is not after `start` {:?}",
                end.value, start.value
            ),
        );
        return None;
    }
    Some(When::Once {
        start: start_instant,
        end: end_instant,
    })
}

fn recurring(
    cron: Located<String>,
    raw_duration: Option<Located<String>>,
    time_zone: Option<Located<String>>,
    table_at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<When> {
    let zone = time_zone.as_ref().map_or("UTC", |zone| zone.value.as_str());
    let schedule = match CronSchedule::parse(&cron.value, zone) {
        Ok(schedule) => Some(schedule),
        Err(error @ CalendarError::Cron { .. }) => {
            problems.at(&cron.at, format!("`schedule`: {error}"));
            None
        }
        Err(error @ CalendarError::TimeZone { .. }) => {
            let at = time_zone.as_ref().map_or(&cron.at, |zone| &zone.at);
            problems.at(at, format!("`time_zone`: {error}"));
            None
        }
    };
    let Some(raw_duration) = raw_duration else {
        problems.at(
            table_at,
            "a recurring [[maintenance]] needs `duration`, how long each occurrence lasts",
        );
        return None;
    };
    let duration_at = raw_duration.at.clone();
    let length = duration(raw_duration, "duration", true, problems)?;
    let length = SignedDuration::try_from(length).ok()?;
    let schedule = schedule?;
    if let Some(gap) = shortest_gap(&schedule)
        && length > gap
    {
        problems.at(
            &duration_at,
            format!(
                "`duration` {} is longer than the {} between two occurrences of `schedule` {:?}; each occurrence must end before the next begins",
                humanize(length.unsigned_abs()),
                humanize(gap.unsigned_abs()),
                cron.value
            ),
        );
        return None;
    }
    Some(When::Recurring {
        cron: Box::new(schedule),
        duration: length,
    })
}

/// The shortest time between two occurrences of `schedule` over a year
/// (see [`GAP_CHECK_SPAN`]); `None` when it occurs less than twice.
///
/// In the repeated hour of a fall-back, the cron schedule also matches the
/// second pass of the same wall-clock time; a window does not start again
/// there (`MaintenanceWindow::active_at` takes the first), so that pass is
/// not an occurrence here either.
fn shortest_gap(schedule: &CronSchedule) -> Option<SignedDuration> {
    let from: Timestamp = GAP_CHECK_FROM.parse().ok()?;
    let until = from.checked_add(GAP_CHECK_SPAN).ok()?;
    let wall = |at: Timestamp| at.to_zoned(schedule.zone().clone()).datetime();
    let mut previous = schedule.after(from)?;
    let mut shortest: Option<SignedDuration> = None;
    for _ in 0..GAP_CHECK_OCCURRENCES {
        let Some(next) = schedule.after(previous) else {
            break;
        };
        if wall(next) == wall(previous) {
            previous = next;
            continue;
        }
        let gap = next.duration_since(previous);
        shortest = Some(shortest.map_or(gap, |shortest| shortest.min(gap)));
        if next > until {
            break;
        }
        previous = next;
    }
    shortest
}

/// Reports each one-off window that overlaps an earlier one on a monitor
/// or component both name, at the later one's `start`.
pub(super) fn reject_overlaps(windows: &[Checked], problems: &mut Problems<'_>) {
    for (index, later) in windows.iter().enumerate() {
        let When::Once { start, end } = later.window.when else {
            continue;
        };
        for earlier in &windows[..index] {
            let When::Once {
                start: earlier_start,
                end: earlier_end,
            } = earlier.window.when
            else {
                continue;
            };
            if start >= earlier_end || earlier_start >= end {
                continue;
            }
            let shared = later
                .window
                .monitors
                .iter()
                .find(|monitor| earlier.window.monitors.contains(monitor))
                .map(|monitor| format!("monitor `{monitor}`"))
                .or_else(|| {
                    later
                        .window
                        .components
                        .iter()
                        .find(|component| earlier.window.components.contains(component))
                        .map(|component| format!("component `{component}`"))
                });
            if let Some(shared) = shared {
                problems.at(
                    &later.start_at,
                    format!(
                        "maintenance `{}` ({start} to {end}) overlaps maintenance `{}` ({earlier_start} to {earlier_end}, at {}) on {shared}; merge them into one window or move one",
                        later.window.id, earlier.window.id, earlier.start_at
                    ),
                );
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(expression: &str, zone: &str) -> Option<SignedDuration> {
        shortest_gap(&CronSchedule::parse(expression, zone).unwrap())
    }

    #[test]
    fn the_shortest_gap_of_a_schedule_is_found_over_a_year() {
        assert_eq!(
            gap("*/5 * * * *", "UTC"),
            Some(SignedDuration::from_mins(5))
        );
        assert_eq!(
            gap("0 2 * * SUN", "UTC"),
            Some(SignedDuration::from_hours(7 * 24))
        );
        // Two runs a day, close together once: 22:00 and 02:00 next day.
        assert_eq!(
            gap("0 2,22 * * *", "UTC"),
            Some(SignedDuration::from_hours(4))
        );
        // Berlin's spring-forward day is 23 hours long.
        assert_eq!(
            gap("0 12 * * *", "Europe/Berlin"),
            Some(SignedDuration::from_hours(23))
        );
        // At the fall-back, 02:00 passes twice an hour apart; a window
        // starts at the first only, so the gap stays 22:00 → 02:00.
        assert_eq!(
            gap("0 2,22 * * *", "Europe/Berlin"),
            Some(SignedDuration::from_hours(4))
        );
        // Monthly: February is the shortest.
        assert_eq!(
            gap("0 0 1 * *", "UTC"),
            Some(SignedDuration::from_hours(28 * 24))
        );
    }
}
