//! One rotation (a schedule's layer): members taking turns in order, each
//! for `every` whole days, handing over at a wall-clock time in a time zone,
//! optionally only inside weekly restrictions (weekdays 09:00–17:00).
//!
//! Turns are counted in calendar days in the rotation's zone, so a weekly
//! hand-off at "Mon 09:00 Europe/London" stays at 09:00 on the wall clock
//! across daylight-saving changes (the shift around a change is an hour
//! shorter or longer in real time). A hand-off time that does not exist on
//! a day (inside a spring-forward gap) moves to the next valid instant, the
//! end of the gap; one that exists twice (in a fall-back's repeated hour)
//! is the first of the two.

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Span, Timestamp};

use crate::id::PersonId;

/// When shifts change hands: at `time`, and for a rotation of whole weeks
/// optionally on one weekday ("Mon 09:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handoff {
    pub weekday: Option<Weekday>,
    pub time: Time,
}

/// Parses a hand-off: `"09:00"`, or `"Mon 09:00"` (a weekday's first three
/// letters or its full English name, in any case).
pub fn parse_handoff(raw: &str) -> Result<Handoff, String> {
    let mut words = raw.split_whitespace();
    let (weekday, time) = match (words.next(), words.next(), words.next()) {
        (Some(time), None, None) => (None, time),
        (Some(day), Some(time), None) => (Some(parse_weekday(day)?), time),
        _ => {
            return Err(format!(
                "hand-off {raw:?} is not a time (\"09:00\") or a weekday and a time (\"Mon 09:00\")"
            ));
        }
    };
    Ok(Handoff {
        weekday,
        time: parse_time(time)?,
    })
}

/// A wall-clock time `HH:MM` (or `HH:MM:SS`), 24-hour.
pub fn parse_time(raw: &str) -> Result<Time, String> {
    let valid_shape = matches!(raw.len(), 5 | 8) && raw.as_bytes().get(2) == Some(&b':');
    match raw.parse::<Time>() {
        Ok(time) if valid_shape => Ok(time),
        _ => Err(format!(
            "{raw:?} is not a time of day as HH:MM, 24-hour (\"09:00\", \"17:30\")"
        )),
    }
}

/// A weekday by its English name or first three letters.
pub fn parse_weekday(raw: &str) -> Result<Weekday, String> {
    const DAYS: [(&str, Weekday); 7] = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let lower = raw.to_ascii_lowercase();
    DAYS.iter()
        .find(|(name, _)| lower == *name || (lower.len() == 3 && name.starts_with(&lower)))
        .map(|(_, day)| *day)
        .ok_or_else(|| format!("{raw:?} is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat or Sun"))
}

/// Inside which wall-clock hours a layer has anyone on call: from `from` to
/// `to` on each of `days` (a window that starts on one of them; `to` at or
/// before `from` runs overnight into the next day, and `from == to` is the
/// whole day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub days: Vec<Weekday>,
    pub from: Time,
    pub to: Time,
}

impl Restriction {
    /// Whether `local` (a wall-clock reading in the rotation's zone) is
    /// inside the restriction.
    fn admits(&self, local: DateTime) -> bool {
        let time = local.time();
        let today = self.days.contains(&local.date().weekday());
        let yesterday = self.days.contains(&local.date().weekday().previous());
        if self.from < self.to {
            today && self.from <= time && time < self.to
        } else if self.from == self.to {
            today
        } else {
            (today && time >= self.from) || (yesterday && time < self.to)
        }
    }
}

/// One layer of a schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    /// How the layer is named in the API and the calendar ("base", or its
    /// `name`).
    pub name: String,
    pub time_zone: TimeZone,
    /// Each member's turn, in whole days (7 for a weekly rotation).
    pub every_days: u32,
    pub handoff: Handoff,
    /// The first turn starts on this date (or, with a hand-off weekday, on
    /// the first such weekday from it) at the hand-off time. Nobody is on
    /// call on this layer before it.
    pub start: Date,
    /// In turn order; never empty (config refuses an empty rotation).
    pub members: Vec<PersonId>,
    /// When not empty, the layer has someone on call only inside one of
    /// these.
    pub restrictions: Vec<Restriction>,
}

/// One member's turn on a rotation: `[start, end)`, by its number from the
/// first turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub number: i64,
    pub person: PersonId,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Rotation {
    /// The date of the first hand-off.
    fn first_date(&self) -> Date {
        match self.handoff.weekday {
            None => self.start,
            Some(weekday) => {
                let ahead = self.start.weekday().until(weekday);
                add_days(self.start, i64::from(ahead))
            }
        }
    }

    /// The instant turn `number` starts.
    pub fn turn_start(&self, number: i64) -> Timestamp {
        let date = add_days(self.first_date(), number * i64::from(self.every_days));
        instant(&self.time_zone, date.to_datetime(self.handoff.time))
    }

    /// The turn under way at `at`, if the rotation has started.
    pub fn turn_at(&self, at: Timestamp) -> Option<Turn> {
        let local = self.time_zone.to_datetime(at);
        let days = days_between(self.first_date(), local.date());
        let every = i64::from(self.every_days.max(1));
        let mut number = days.div_euclid(every);
        // The division is by wall-clock dates; the hand-off time on the
        // day itself decides which side `at` is on.
        while number >= 0 && self.turn_start(number) > at {
            number -= 1;
        }
        while self.turn_start(number + 1) <= at {
            number += 1;
        }
        (number >= 0).then(|| self.turn(number))
    }

    /// Turn `number` (not before the first).
    pub fn turn(&self, number: i64) -> Turn {
        let members = i64::try_from(self.members.len()).unwrap_or(i64::MAX).max(1);
        let index = usize::try_from(number.rem_euclid(members)).unwrap_or(0);
        Turn {
            number,
            person: self.members[index.min(self.members.len().saturating_sub(1))].clone(),
            start: self.turn_start(number),
            end: self.turn_start(number + 1),
        }
    }

    /// Who this layer puts on call at `at`: the turn's member, unless its
    /// restrictions leave the instant out.
    pub fn on_call(&self, at: Timestamp) -> Option<PersonId> {
        if self.members.is_empty() {
            return None;
        }
        if !self.restrictions.is_empty() {
            let local = self.time_zone.to_datetime(at);
            if !self.restrictions.iter().any(|one| one.admits(local)) {
                return None;
            }
        }
        self.turn_at(at).map(|turn| turn.person)
    }

    /// Every instant in `(after, until]` at which this layer's answer may
    /// change: hand-offs and the restriction's edges, in order. (An edge
    /// may leave the answer as it was; callers compare.)
    pub fn changes(&self, after: Timestamp, until: Timestamp) -> Vec<Timestamp> {
        let mut changes = Vec::new();
        let mut number = self.turn_at(after).map_or(0, |turn| turn.number + 1);
        loop {
            let start = self.turn_start(number);
            if start > until {
                break;
            }
            if start > after {
                changes.push(start);
            }
            number += 1;
        }
        for restriction in &self.restrictions {
            let first = self.time_zone.to_datetime(after).date();
            let last = self.time_zone.to_datetime(until).date();
            let mut date = add_days(first, -1);
            while date <= add_days(last, 1) {
                for time in [restriction.from, restriction.to] {
                    let edge = instant(&self.time_zone, date.to_datetime(time));
                    if after < edge && edge <= until {
                        changes.push(edge);
                    }
                }
                date = add_days(date, 1);
            }
        }
        changes.sort();
        changes.dedup();
        changes
    }
}

/// `date` moved by `days` (saturating at the ends of jiff's range, which no
/// rotation reaches).
pub(crate) fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days.clamp(-7_000_000, 7_000_000)))
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

fn days_between(from: Date, to: Date) -> i64 {
    from.until(to).map_or(0, |span| i64::from(span.get_days()))
}

/// The instant a wall-clock reading names in `zone`: in a gap, the instant
/// the gap ends (the next valid one); in a fold, the first of the two.
pub(crate) fn instant(zone: &TimeZone, local: DateTime) -> Timestamp {
    let ambiguous = zone.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // With the later offset the reading lands before the gap (02:30
            // +01:00 is 01:30 +00:00 on a London spring-forward); the
            // transition following it is where the gap ends.
            let before_gap = after
                .to_timestamp(local)
                .unwrap_or_else(|_| ambiguous.compatible().unwrap_or(Timestamp::MAX));
            zone.following(before_gap)
                .next()
                .map_or(before_gap, |transition| transition.timestamp())
        }
        _ => ambiguous.earlier().unwrap_or(Timestamp::MAX),
    }
}

#[cfg(test)]
#[path = "rotation_tests.rs"]
mod tests;
