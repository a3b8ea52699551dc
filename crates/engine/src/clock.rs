//! The production [`Clock`]: the wall clock read once at start, advanced by
//! tokio's monotonic clock. It never jumps backwards, and under tokio's
//! paused test time it moves exactly as far as the test advances it.

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;
use watchkeeper_domain::clock::Clock;

#[derive(Debug, Clone)]
pub struct SystemClock {
    wall_at_start: Timestamp,
    instant_at_start: Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        Self::starting_at(read_wall_clock())
    }

    /// A clock whose "now" starts at `wall`; tests pin it for stable values.
    pub fn starting_at(wall: Timestamp) -> Self {
        Self {
            wall_at_start: wall,
            instant_at_start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[allow(clippy::disallowed_methods)] // the one place the wall clock is read
fn read_wall_clock() -> Timestamp {
    Timestamp::now()
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let elapsed = self.instant_at_start.elapsed();
        let elapsed = SignedDuration::try_from(elapsed).unwrap_or(SignedDuration::MAX);
        self.wall_at_start
            .checked_add(elapsed)
            .unwrap_or(Timestamp::MAX)
    }
}
