//! An on-call schedule: rotations stacked in layers, with overrides on
//! top, and who is on call at any instant as a pure function of (schedule,
//! overrides, instant).
//!
//! The layers are listed bottom first. At an instant, the highest layer
//! that has someone on call then (inside its restriction, after its start)
//! decides; an override covering the instant wins over every layer (the
//! latest-starting one, should two given at run time overlap — config and
//! the API refuse overlapping ones). A schedule with nobody on call at an
//! instant (every layer restricted away) answers nobody: escalation then
//! goes on to its next level.

use jiff::{SignedDuration, Timestamp};

use crate::id::{PersonId, ScheduleId};
use crate::oncall::rotation::Rotation;

/// How far [`OnCallSchedule::on_call`] looks for the end (or start) of the
/// shift under way: a shift longer than this shows as ending (starting)
/// there.
pub const SHIFT_HORIZON: SignedDuration = SignedDuration::from_hours(24 * 366);

/// Someone put on call over a span, whatever the rotations say: a swap, or
/// cover for a holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The store's id for one given at run time; `None` for one in config.
    pub id: Option<i64>,
    pub person: PersonId,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Override {
    pub fn covers(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OnCallSchedule {
    pub id: ScheduleId,
    pub name: String,
    /// Bottom first; never empty.
    pub layers: Vec<Rotation>,
    /// The overrides written in config (those given at run time come from
    /// the store and are passed beside these).
    pub overrides: Vec<Override>,
}

/// Why someone is on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Their turn on the layer of this name.
    Layer(String),
    /// An override (with its store id when given at run time).
    Override(Option<i64>),
}

/// Who is on call over `[start, end)`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub person: PersonId,
    pub source: Source,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl OnCallSchedule {
    /// Who is on call at `at`, given the run-time `overrides` besides the
    /// schedule's own.
    pub fn who(&self, extra: &[Override], at: Timestamp) -> Option<(PersonId, Source)> {
        let covering = self
            .overrides
            .iter()
            .chain(extra)
            .filter(|one| one.covers(at))
            .max_by_key(|one| one.start);
        if let Some(one) = covering {
            return Some((one.person.clone(), Source::Override(one.id)));
        }
        self.layers.iter().rev().find_map(|layer| {
            layer
                .on_call(at)
                .map(|person| (person, Source::Layer(layer.name.clone())))
        })
    }

    /// The shift under way at `at`: who, why, since when and until when
    /// (each looked for up to [`SHIFT_HORIZON`] away). `None` when nobody is
    /// on call at `at`.
    pub fn on_call(&self, extra: &[Override], at: Timestamp) -> Option<Shift> {
        let (person, source) = self.who(extra, at)?;
        let far_back = at.saturating_sub(SHIFT_HORIZON).unwrap_or(Timestamp::MIN);
        let far_ahead = at.saturating_add(SHIFT_HORIZON).unwrap_or(Timestamp::MAX);
        let now = Some((person.clone(), source.clone()));
        let end = self
            .changes(extra, at, far_ahead)
            .into_iter()
            .find(|change| self.who(extra, *change) != now)
            .unwrap_or(far_ahead);
        let mut start = far_back;
        for change in self.changes(extra, far_back, at).into_iter().rev() {
            // The answer just before `change` differs: the shift began there.
            let before = change.saturating_sub(SignedDuration::from_nanos(1));
            if before.map_or(true, |before| self.who(extra, before) != now) {
                start = change;
                break;
            }
        }
        Some(Shift {
            person,
            source,
            start,
            end,
        })
    }

    /// Every shift overlapping `[from, until)`, in order, each cut to that
    /// span; spans with nobody on call are left out. For the calendar and
    /// the API's listing.
    pub fn shifts(&self, extra: &[Override], from: Timestamp, until: Timestamp) -> Vec<Shift> {
        let mut shifts: Vec<Shift> = Vec::new();
        let mut edges = vec![from];
        edges.extend(
            self.changes(extra, from, until)
                .into_iter()
                .filter(|at| *at < until),
        );
        edges.push(until);
        for pair in edges.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            if start >= end {
                continue;
            }
            let Some((person, source)) = self.who(extra, start) else {
                continue;
            };
            match shifts.last_mut() {
                Some(last)
                    if last.end == start && last.person == person && last.source == source =>
                {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    person,
                    source,
                    start,
                    end,
                }),
            }
        }
        shifts
    }

    /// Every instant in `(after, until]` where the answer may change: each
    /// layer's, and each override's start and end.
    fn changes(&self, extra: &[Override], after: Timestamp, until: Timestamp) -> Vec<Timestamp> {
        let mut changes: Vec<Timestamp> = self
            .layers
            .iter()
            .flat_map(|layer| layer.changes(after, until))
            .collect();
        for one in self.overrides.iter().chain(extra) {
            for edge in [one.start, one.end] {
                if after < edge && edge <= until {
                    changes.push(edge);
                }
            }
        }
        changes.sort();
        changes.dedup();
        changes
    }
}

/// The first pair of `overrides` (by start) that overlap, for refusing
/// them: a config's, or a new one against those stored.
pub fn first_overlap(overrides: &[Override]) -> Option<(&Override, &Override)> {
    let mut sorted: Vec<&Override> = overrides.iter().collect();
    sorted.sort_by_key(|one| (one.start, one.end));
    sorted
        .windows(2)
        .find(|pair| pair[1].start < pair[0].end)
        .map(|pair| (pair[0], pair[1]))
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
