//! Calendar schedules: a cron expression in a time zone ([`CronSchedule`],
//! parsed by croner, zoned by jiff) and one-shot instants. Their due times
//! are wall clock instants, decided from [`crate::clock::Clock::wall`], so a
//! step of the system clock does not move a "03:00 Europe/Berlin" job.
//!
//! Daylight saving time follows croner (as Vixie cron does): on the day
//! the clocks spring forward, a job whose time falls in the skipped hour
//! runs once, at the first minute after the gap (02:30 → 03:00); on the day
//! they fall back, a job at a time that happens twice runs once, at the
//! first of the two. Wildcard and step fields (`*/15 * * * *`) keep to the
//! wall clock: none fire inside a gap, and they fire in both passes of a
//! repeated hour.

use std::fmt;
use std::str::FromStr as _;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// Occurrences counted at most when reporting how many were skipped after
/// the process fell behind (or the wall clock jumped forward).
const MAX_SKIPPED_COUNTED: u64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("invalid cron expression {expression:?}: {reason}")]
    Cron { expression: String, reason: String },
    #[error("unknown time zone {name:?}: {reason}")]
    TimeZone { name: String, reason: String },
}

/// A cron expression (five fields: minute, hour, day of month, month, day
/// of week; or an alias such as `@daily`) in a time zone.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    time_zone_name: String,
    time_zone: TimeZone,
}

impl CronSchedule {
    /// Parses `expression` and looks `time_zone` up in the system's time
    /// zone database (an IANA name such as `Europe/Berlin`, or `UTC`).
    pub fn parse(expression: &str, time_zone: &str) -> Result<Self, CalendarError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .or_else(|error| {
                // Aliases (`@daily`) go through the default parser.
                if expression.trim_start().starts_with('@') {
                    Cron::from_str(expression)
                } else {
                    Err(error)
                }
            })
            .map_err(|error| CalendarError::Cron {
                expression: expression.to_owned(),
                reason: error.to_string(),
            })?;
        let zone = if time_zone == "UTC" {
            TimeZone::UTC
        } else {
            TimeZone::get(time_zone).map_err(|error| CalendarError::TimeZone {
                name: time_zone.to_owned(),
                reason: error.to_string(),
            })?
        };
        Ok(Self {
            expression: expression.to_owned(),
            cron,
            time_zone_name: time_zone.to_owned(),
            time_zone: zone,
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn time_zone(&self) -> &str {
        &self.time_zone_name
    }

    /// The zone itself, for reading an occurrence on the wall clock.
    pub fn zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The first occurrence at or after `at`.
    pub fn at_or_after(&self, at: Timestamp) -> Option<Timestamp> {
        // Occurrences are whole seconds: a fraction would let croner match
        // the second `at` is in, which began before `at`.
        let whole = if at.subsec_nanosecond() == 0 {
            at
        } else {
            Timestamp::from_second(at.as_second().saturating_add(1)).ok()?
        };
        self.search(whole, true)
    }

    /// The first occurrence strictly after `after`.
    pub fn after(&self, after: Timestamp) -> Option<Timestamp> {
        self.search(after, false)
    }

    fn search(&self, from: Timestamp, inclusive: bool) -> Option<Timestamp> {
        let zoned = from.to_zoned(self.time_zone.clone());
        let next = self
            .cron
            .find_next_occurrence(&zoned, inclusive)
            .ok()?
            .timestamp();
        // croner searches forward in real time; never hand back the past.
        (next > from || (inclusive && next == from)).then_some(next)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.time_zone_name == other.time_zone_name
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CronSchedule")
            .field("expression", &self.expression)
            .field("time_zone", &self.time_zone_name)
            .finish()
    }
}

/// The first occurrence of `cron` at or after the wall clock's `wall_now`.
pub fn first_cron_due(cron: &CronSchedule, wall_now: Timestamp) -> Option<Timestamp> {
    cron.at_or_after(wall_now)
}

/// The occurrence after `previous_due`, skipping those already past at the
/// wall clock's `wall_now` (after a stall, or a forward step of the wall
/// clock). Returns it and how many were skipped (counted up to a thousand).
/// A backward step never replays an occurrence: the next is always after
/// `previous_due`.
pub fn next_cron_due(
    cron: &CronSchedule,
    previous_due: Timestamp,
    wall_now: Timestamp,
) -> (Option<Timestamp>, u64) {
    let Some(candidate) = cron.after(previous_due) else {
        return (None, 0);
    };
    if candidate >= wall_now {
        return (Some(candidate), 0);
    }
    let mut skipped = 0;
    let mut missed = Some(candidate);
    while let Some(at) = missed
        && at < wall_now
        && skipped < MAX_SKIPPED_COUNTED
    {
        skipped += 1;
        missed = cron.after(at);
    }
    (cron.at_or_after(wall_now), skipped)
}

/// A one-shot instant is due once, if it has not passed yet at `wall_now`
/// (missed ones are skipped, as missed slots are).
pub fn one_shot_due(at: Timestamp, wall_now: Timestamp) -> Option<Timestamp> {
    (at >= wall_now).then_some(at)
}

/// `due` moved from the wall clock's reading into the steady one: what a
/// calendar probe records as its due time, so its lag (`started_at −
/// due_at`, both steady) stays true after a step of the wall clock.
pub fn wall_to_steady(due: Timestamp, wall_now: Timestamp, steady_now: Timestamp) -> Timestamp {
    let offset: SignedDuration = steady_now.duration_since(wall_now);
    due.checked_add(offset).unwrap_or(due)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn ts(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn berlin(expression: &str) -> CronSchedule {
        CronSchedule::parse(expression, "Europe/Berlin").unwrap()
    }

    /// Every due time from `from` (wall) until `until`, as the scheduler
    /// walks them: first at or after, then each next.
    fn dues(cron: &CronSchedule, from: &str, until: &str) -> Vec<Timestamp> {
        let until = ts(until);
        let mut out = Vec::new();
        let mut due = first_cron_due(cron, ts(from));
        while let Some(at) = due
            && at < until
            && out.len() < 10_000
        {
            out.push(at);
            due = next_cron_due(cron, at, at).0;
        }
        out
    }

    #[test]
    fn a_daily_job_runs_at_its_local_time_in_winter_and_summer() {
        let cron = berlin("0 3 * * *");
        // CET is UTC+1, CEST UTC+2.
        assert_eq!(
            first_cron_due(&cron, ts("2026-01-10T12:00:00Z")),
            Some(ts("2026-01-11T02:00:00Z"))
        );
        assert_eq!(
            first_cron_due(&cron, ts("2026-07-10T12:00:00Z")),
            Some(ts("2026-07-11T01:00:00Z"))
        );
    }

    #[test]
    fn spring_forward_a_job_in_the_missing_hour_runs_once_right_after_it() {
        // 2026-03-29 in Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let cron = berlin("30 2 * * *");
        let runs = dues(&cron, "2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z");
        assert_eq!(
            runs,
            vec![
                ts("2026-03-28T01:30:00Z"), // 02:30 CET
                ts("2026-03-29T01:00:00Z"), // 03:00 CEST: 02:30 does not exist
                ts("2026-03-30T00:30:00Z"), // 02:30 CEST
                ts("2026-03-31T00:30:00Z"),
            ]
        );
    }

    #[test]
    fn fall_back_a_job_in_the_repeated_hour_runs_once() {
        // 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET, so
        // 02:30 happens at 00:30 UTC and again at 01:30 UTC.
        let cron = berlin("30 2 * * *");
        let runs = dues(&cron, "2026-10-24T12:00:00Z", "2026-10-26T12:00:00Z");
        assert_eq!(
            runs,
            vec![ts("2026-10-25T00:30:00Z"), ts("2026-10-26T01:30:00Z")]
        );
    }

    #[test]
    fn a_step_of_the_wall_clock_does_not_move_a_calendar_job() {
        let cron = berlin("0 3 * * *");
        // 01:00 Berlin (CET) on the steady clock and on the wall.
        let clock = ManualClock::new(ts("2026-02-10T00:00:00Z"));
        let due = first_cron_due(&cron, clock.wall()).unwrap();
        assert_eq!(due, ts("2026-02-10T02:00:00Z"));
        // NTP steps the wall clock an hour forward: 03:00 on the wall is
        // now one steady hour away, not two.
        clock.step_wall(SignedDuration::from_hours(1));
        clock.advance(Duration::from_secs(3600));
        assert!(clock.wall() >= due, "due by the wall clock");
        assert!(clock.now() < due, "not yet by the steady clock");
        // Its recorded due time is the steady reading of that moment.
        assert_eq!(
            wall_to_steady(due, clock.wall(), clock.now()),
            ts("2026-02-10T01:00:00Z")
        );
        // The next occurrence is tomorrow's, from the wall clock.
        assert_eq!(
            next_cron_due(&cron, due, clock.wall()),
            (Some(ts("2026-02-11T02:00:00Z")), 0)
        );
    }

    #[test]
    fn a_backward_step_never_replays_an_occurrence() {
        let cron = berlin("0 3 * * *");
        let due = ts("2026-02-10T02:00:00Z");
        // It ran; then the wall clock goes back an hour, before 03:00.
        let wall = ts("2026-02-10T01:00:30Z");
        assert_eq!(
            next_cron_due(&cron, due, wall),
            (Some(ts("2026-02-11T02:00:00Z")), 0)
        );
    }

    #[test]
    fn missed_occurrences_are_skipped_and_counted() {
        let cron = CronSchedule::parse("*/5 * * * *", "UTC").unwrap();
        let due = ts("2026-02-10T10:00:00Z");
        // The wall clock jumps 22 minutes ahead of the last due time.
        let (next, skipped) = next_cron_due(&cron, due, ts("2026-02-10T10:22:00Z"));
        assert_eq!(next, Some(ts("2026-02-10T10:25:00Z")));
        assert_eq!(skipped, 4, "10:05, 10:10, 10:15, 10:20");
    }

    #[test]
    fn a_fraction_of_a_second_never_yields_an_earlier_occurrence() {
        let cron = CronSchedule::parse("* * * * *", "UTC").unwrap();
        assert_eq!(
            cron.at_or_after(ts("2026-02-10T10:00:00.5Z")),
            Some(ts("2026-02-10T10:01:00Z"))
        );
        assert_eq!(
            cron.at_or_after(ts("2026-02-10T10:01:00Z")),
            Some(ts("2026-02-10T10:01:00Z"))
        );
        assert_eq!(
            cron.after(ts("2026-02-10T10:01:00Z")),
            Some(ts("2026-02-10T10:02:00Z"))
        );
    }

    #[test]
    fn aliases_parse_and_bad_input_names_the_problem() {
        assert_eq!(
            first_cron_due(
                &CronSchedule::parse("@daily", "UTC").unwrap(),
                ts("2026-02-10T10:00:00Z")
            ),
            Some(ts("2026-02-11T00:00:00Z"))
        );
        assert!(matches!(
            CronSchedule::parse("0 3 * *", "UTC"),
            Err(CalendarError::Cron { .. })
        ));
        // Seconds are not a field: a minute is the finest step.
        assert!(matches!(
            CronSchedule::parse("0 0 3 * * *", "UTC"),
            Err(CalendarError::Cron { .. })
        ));
        assert!(matches!(
            CronSchedule::parse("0 3 * * *", "Europe/Atlantis"),
            Err(CalendarError::TimeZone { .. })
        ));
    }

    #[test]
    fn a_one_shot_is_due_once_unless_it_has_passed() {
        let at = ts("2026-02-10T06:00:00Z");
        assert_eq!(one_shot_due(at, ts("2026-02-10T05:00:00Z")), Some(at));
        assert_eq!(one_shot_due(at, at), Some(at));
        assert_eq!(one_shot_due(at, ts("2026-02-10T06:00:01Z")), None);
    }

    #[test]
    fn equal_when_the_expression_and_zone_are() {
        assert_eq!(berlin("0 3 * * *"), berlin("0 3 * * *"));
        assert_ne!(berlin("0 3 * * *"), berlin("0 4 * * *"));
        assert_ne!(
            berlin("0 3 * * *"),
            CronSchedule::parse("0 3 * * *", "UTC").unwrap()
        );
    }
}
