//! The production [`Clock`]. Its steady reading (`now`) is the wall clock
//! read once at start, advanced by tokio's monotonic clock: it never jumps
//! when the system clock is stepped, and under tokio's paused test time it
//! moves exactly as far as the test advances it. Its wall reading (`wall`)
//! reads the system clock again each time, steps included, for calendar
//! schedules; a clock pinned for tests keeps both readings equal.

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;
use watchkeeper_domain::clock::Clock;

#[derive(Debug, Clone)]
pub struct SystemClock {
    wall_at_start: Timestamp,
    instant_at_start: Instant,
    /// Whether `wall` reads the system clock (in production) or follows
    /// the steady reading (a clock pinned by a test).
    reads_system_wall: bool,
}

impl SystemClock {
    pub fn new() -> Self {
        Self {
            reads_system_wall: true,
            ..Self::starting_at(read_wall_clock())
        }
    }

    /// A clock whose "now" starts at `wall` and whose wall reading follows
    /// it; tests pin it for stable values.
    pub fn starting_at(wall: Timestamp) -> Self {
        Self {
            wall_at_start: wall,
            instant_at_start: Instant::now(),
            reads_system_wall: false,
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

    fn wall(&self) -> Timestamp {
        if self.reads_system_wall {
            read_wall_clock()
        } else {
            self.now()
        }
    }
}
