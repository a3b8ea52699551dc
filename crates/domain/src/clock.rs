//! Time enters Watchkeeper only through a [`Clock`], so every decision can be
//! tested by driving a [`ManualClock`] by hand.
//!
//! A clock has two readings. [`Clock::now`] is steady: it moves forward at
//! the pace of a monotonic clock, so intervals, timeouts and recorded times
//! never jump when the system clock is stepped (NTP). [`Clock::wall`] is what
//! the system's wall clock says right now, steps included: calendar
//! schedules ("03:00 Europe/Berlin") follow it, since a person means the
//! time on the wall.

use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// A source of "now". Implementations: `ManualClock` here for tests, and the
/// engine's tokio-backed clock for the running system.
pub trait Clock: Send + Sync + 'static {
    /// The steady reading: never steps, only advances.
    fn now(&self) -> Timestamp;

    /// The wall clock as it reads now, after any step; what calendar
    /// schedules are decided on. Equal to [`Clock::now`] until the wall
    /// clock is stepped.
    fn wall(&self) -> Timestamp {
        self.now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<Readings>,
}

#[derive(Debug, Clone, Copy)]
struct Readings {
    now: Timestamp,
    /// How far the wall clock has been stepped away from `now`.
    wall_offset: SignedDuration,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            state: Mutex::new(Readings {
                now: start,
                wall_offset: SignedDuration::ZERO,
            }),
        }
    }

    /// Sets both readings to `to` (forgetting any wall clock step).
    pub fn set(&self, to: Timestamp) {
        *self.lock() = Readings {
            now: to,
            wall_offset: SignedDuration::ZERO,
        };
    }

    /// Time passes: both readings move on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut state = self.lock();
        // Saturate rather than panic: a test that advances past the end of
        // time has a bug, but not one worth a poisoned mutex.
        state.now = state.now.checked_add(by).unwrap_or(Timestamp::MAX);
    }

    /// The wall clock is stepped by `by` (forwards or back), as NTP or a
    /// person setting the time does; the steady reading does not move.
    pub fn step_wall(&self, by: SignedDuration) {
        let mut state = self.lock();
        state.wall_offset = state.wall_offset.saturating_add(by);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Readings> {
        // A poisoned lock still holds valid timestamps.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        self.lock().now
    }

    fn wall(&self) -> Timestamp {
        let state = *self.lock();
        state
            .now
            .checked_add(state.wall_offset)
            .unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_step_moves_only_the_wall_reading() {
        let start: Timestamp = "2026-03-01T01:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.wall(), start);
        clock.step_wall(SignedDuration::from_hours(1));
        assert_eq!(clock.now(), start);
        assert_eq!(clock.wall(), "2026-03-01T02:00:00Z".parse().unwrap());
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.now(), "2026-03-01T01:01:00Z".parse().unwrap());
        assert_eq!(clock.wall(), "2026-03-01T02:01:00Z".parse().unwrap());
        clock.set(start);
        assert_eq!(clock.wall(), start);
    }
}
