//! A monitor's timing: `interval`, or a calendar (`schedule` in a
//! `time_zone`, or once `at` an instant), at most one of the three; and a
//! `timeout` that lets a probe finish before the next can be due.

use std::time::Duration;

use watchkeeper_domain::schedule::{CalendarError, CronSchedule, Schedule};

use super::{Problems, humanize};
use crate::model::{DEFAULT_INTERVAL, DEFAULT_TIMEOUT, MIN_INTERVAL};
use crate::quantity::parse_duration;
use crate::raw_table::Text;
use crate::source::Located;

/// `interval`, or a calendar: `schedule` (with `time_zone`) or `at`; at
/// most one of the three.
pub(super) fn monitor_schedule(
    interval: Text,
    cron: Text,
    time_zone: Text,
    run_at: Text,
    problems: &mut Problems<'_>,
) -> Schedule {
    let fallback = Schedule::Every(DEFAULT_INTERVAL);
    let given: Vec<(&str, &Located<String>)> = [
        ("interval", interval.as_ref()),
        ("schedule", cron.as_ref()),
        ("at", run_at.as_ref()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|value| (key, value)))
    .collect();
    if let [(first, _), rest @ ..] = given.as_slice() {
        for (key, value) in rest {
            problems.at(
                &value.at,
                format!(
                    "`{key}` cannot be set beside `{first}`: a monitor runs every `interval`, on a cron `schedule`, or once `at` an instant"
                ),
            );
        }
        if !rest.is_empty() {
            return fallback;
        }
    }
    if let Some(zone) = &time_zone
        && cron.is_none()
    {
        problems.at(
            &zone.at,
            "`time_zone` applies only to a cron `schedule`; `at` takes an offset (`2026-06-01T06:00:00+02:00`)",
        );
    }
    if let Some(raw) = cron {
        let zone = time_zone.as_ref().map_or("UTC", |zone| zone.value.as_str());
        return match CronSchedule::parse(&raw.value, zone) {
            Ok(cron) => Schedule::Cron(Box::new(cron)),
            Err(error @ CalendarError::Cron { .. }) => {
                problems.at(&raw.at, format!("`schedule`: {error}"));
                fallback
            }
            Err(error @ CalendarError::TimeZone { .. }) => {
                let at = time_zone.as_ref().map_or(&raw.at, |zone| &zone.at);
                problems.at(at, format!("`time_zone`: {error}"));
                fallback
            }
        };
    }
    if let Some(raw) = run_at {
        return match raw.value.parse::<jiff::Timestamp>() {
            Ok(at) => Schedule::At(at),
            Err(error) => {
                problems.at(
                    &raw.at,
                    format!(
                        "`at` must be an instant with an offset, such as \"2026-06-01T06:00:00Z\" or \"2026-06-01T08:00:00+02:00\", not {:?}: {error}",
                        raw.value
                    ),
                );
                fallback
            }
        };
    }
    match interval {
        None => fallback,
        Some(raw) => match parse_duration(&raw.value) {
            Ok(interval) if interval >= MIN_INTERVAL => Schedule::Every(interval),
            Ok(_) => {
                problems.at(
                    &raw.at,
                    format!("`interval` must be at least 1s, not {:?}", raw.value),
                );
                fallback
            }
            Err(message) => {
                problems.at(&raw.at, message);
                fallback
            }
        },
    }
}

/// A probe must finish before the schedule's next probe can be due: within
/// the interval, or a minute for cron (its finest step).
pub(super) fn monitor_timeout(
    timeout: Text,
    schedule: &Schedule,
    problems: &mut Problems<'_>,
) -> Duration {
    let gap = schedule.shortest_gap();
    let default = gap.map_or(DEFAULT_TIMEOUT, |gap| DEFAULT_TIMEOUT.min(gap));
    let Some(raw) = timeout else {
        return default;
    };
    match parse_duration(&raw.value) {
        Ok(timeout) if timeout.is_zero() => {
            problems.at(&raw.at, "`timeout` must be longer than zero");
            default
        }
        Ok(timeout) if gap.is_some_and(|gap| timeout > gap) => {
            let gap = gap.unwrap_or(timeout);
            let message = match schedule {
                Schedule::Every(_) => format!(
                    "`timeout` {:?} is longer than the interval ({:?}); a probe must finish before the next one is due",
                    raw.value,
                    humanize(gap)
                ),
                _ => format!(
                    "`timeout` {:?} is longer than a minute, the shortest time between two runs of a cron `schedule`",
                    raw.value
                ),
            };
            problems.at(&raw.at, message);
            gap
        }
        Ok(timeout) => timeout,
        Err(message) => {
            problems.at(&raw.at, message);
            default
        }
    }
}
