//! Time enters Watchkeeper only through a [`Clock`], so every decision can be
//! tested by driving a [`ManualClock`] by hand.

use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// A source of "now". Implementations: `ManualClock` here for tests, and the
/// engine's tokio-backed clock for the running system.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, to: Timestamp) {
        *self.lock() = to;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        // Saturate rather than panic: a test that advances past the end of
        // time has a bug, but not one worth a poisoned mutex.
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        // A poisoned lock still holds a valid timestamp.
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}
