//! The demo service's runtime state: the current mode, the slow delay, and
//! how many `/health` requests it has served.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::mode::Mode;

/// Shared between the handlers and the [`crate::DemoHandle`]; all methods take
/// `&self` so tests can flip the mode while requests are in flight.
#[derive(Debug)]
pub(crate) struct DemoState {
    region: String,
    /// `Mode::index` of the current mode.
    mode: AtomicUsize,
    slow_delay: Mutex<Duration>,
    health_total: AtomicU64,
    /// Indexed by `Mode::index`: requests that arrived while that mode was current.
    health_by_mode: [AtomicU64; Mode::ALL.len()],
}

impl DemoState {
    pub(crate) fn new(region: String, mode: Mode, slow_delay: Duration) -> Self {
        Self {
            region,
            mode: AtomicUsize::new(mode.index()),
            slow_delay: Mutex::new(slow_delay),
            health_total: AtomicU64::new(0),
            health_by_mode: Default::default(),
        }
    }

    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    pub(crate) fn mode(&self) -> Mode {
        Mode::from_index(self.mode.load(Ordering::SeqCst))
    }

    /// Switches the mode and logs one line saying so.
    pub(crate) fn set_mode(&self, mode: Mode) {
        let previous = Mode::from_index(self.mode.swap(mode.index(), Ordering::SeqCst));
        tracing::info!(mode = %mode, previous = %previous, "demo mode changed");
    }

    pub(crate) fn slow_delay(&self) -> Duration {
        *self.delay_lock()
    }

    pub(crate) fn set_slow_delay(&self, delay: Duration) {
        *self.delay_lock() = delay;
        tracing::info!(delay_ms = delay.as_millis(), "demo slow delay changed");
    }

    /// Counts one `/health` request and returns the mode it must be answered in,
    /// so the count and the answer agree even if the mode changes meanwhile.
    pub(crate) fn admit_health_request(&self) -> Mode {
        let mode = self.mode();
        self.health_total.fetch_add(1, Ordering::SeqCst);
        if let Some(counter) = self.health_by_mode.get(mode.index()) {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        mode
    }

    pub(crate) fn health_requests(&self) -> u64 {
        self.health_total.load(Ordering::SeqCst)
    }

    pub(crate) fn snapshot(&self) -> ControlSnapshot {
        let count = |mode: Mode| {
            self.health_by_mode
                .get(mode.index())
                .map_or(0, |counter| counter.load(Ordering::SeqCst))
        };
        ControlSnapshot {
            mode: self.mode(),
            slow_delay_ms: u64::try_from(self.slow_delay().as_millis()).unwrap_or(u64::MAX),
            region: self.region.clone(),
            health_requests: HealthRequestCounts {
                total: self.health_requests(),
                by_mode: ModeCounts {
                    ok: count(Mode::Ok),
                    degraded: count(Mode::Degraded),
                    fail: count(Mode::Fail),
                    slow: count(Mode::Slow),
                    hang: count(Mode::Hang),
                    garbage: count(Mode::Garbage),
                    huge: count(Mode::Huge),
                },
            },
        }
    }

    fn delay_lock(&self) -> std::sync::MutexGuard<'_, Duration> {
        // A poisoned lock still holds a valid duration.
        self.slow_delay
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What `GET /control` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlSnapshot {
    pub mode: Mode,
    pub slow_delay_ms: u64,
    pub region: String,
    pub health_requests: HealthRequestCounts,
}

/// `/health` requests served since start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRequestCounts {
    pub total: u64,
    pub by_mode: ModeCounts,
}

/// `/health` requests by the mode that was current when each arrived.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModeCounts {
    pub ok: u64,
    pub degraded: u64,
    pub fail: u64,
    pub slow: u64,
    pub hang: u64,
    pub garbage: u64,
    pub huge: u64,
}
