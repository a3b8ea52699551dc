//! [`ProbesInFlight`]: when each running probe started, until the recorder
//! has taken its result. The scheduler holds one [`Slot`] per monitor (a
//! monitor never has two probes in flight); starting and finishing a probe
//! costs one atomic store each. Maintenance reads the oldest start, so a
//! minute is not rolled up while a probe that started in it can still add
//! a result — also a probe of a monitor a reload removed, since its
//! [`InFlight`] mark keeps the slot alive until the result is taken. When a
//! reload removes a monitor, the scheduler gives up its slot for a
//! [`LastProbe`], which tells the recorder when the monitor's last probe
//! is over.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use jiff::Timestamp;

/// Every monitor's slot, held weakly: a slot lives while the scheduler
/// schedules its monitor or a probe of it is in flight.
#[derive(Debug, Clone, Default)]
pub struct ProbesInFlight(Arc<Mutex<Vec<Weak<AtomicI64>>>>);

/// An empty slot (0 is a valid millisecond, so zero cannot mean none).
const NOT_RUNNING: i64 = i64::MAX;

impl ProbesInFlight {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new monitor's slot.
    pub(crate) fn slot(&self) -> Slot {
        let slot = Arc::new(AtomicI64::new(NOT_RUNNING));
        self.lock().push(Arc::downgrade(&slot));
        Slot(slot)
    }

    /// The start of the oldest probe in flight (or whose result the recorder
    /// has not taken yet), if any.
    pub fn oldest(&self) -> Option<Timestamp> {
        let mut slots = self.lock();
        slots.retain(|slot| slot.strong_count() > 0);
        let oldest = slots
            .iter()
            .filter_map(Weak::upgrade)
            .map(|slot| slot.load(Ordering::Acquire))
            .min()
            .unwrap_or(NOT_RUNNING);
        match oldest {
            NOT_RUNNING => None,
            millis => Timestamp::from_millisecond(millis).ok(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<AtomicI64>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One monitor's mark, held by the scheduler.
#[derive(Debug)]
pub(crate) struct Slot(Arc<AtomicI64>);

impl Slot {
    pub(crate) fn is_running(&self) -> bool {
        self.0.load(Ordering::Acquire) != NOT_RUNNING
    }

    /// Marks the monitor as probing since `at` (rounded down to the
    /// millisecond) until the returned mark is dropped.
    pub(crate) fn start(&self, at: Timestamp) -> InFlight {
        self.0.store(at.as_millisecond(), Ordering::Release);
        InFlight(self.0.clone())
    }

    /// The scheduler no longer schedules this monitor (a reload removed
    /// it): no probe of it starts after this. What is left tells whether
    /// the last one is still in flight.
    pub(crate) fn unschedule(self) -> LastProbe {
        LastProbe(Arc::downgrade(&self.0))
    }
}

/// The last probe of a monitor the scheduler no longer schedules: in flight
/// until its [`InFlight`] mark is dropped (by the recorder once it has
/// taken the result, or on the way if the probe task died), and then never
/// again — the slot is held only by that mark now.
#[derive(Debug, Clone)]
pub struct LastProbe(Weak<AtomicI64>);

impl LastProbe {
    pub fn in_flight(&self) -> bool {
        self.0.strong_count() > 0
    }
}

/// Marks a monitor's probe as in flight until dropped — by the recorder once
/// it has taken the result, or on the way when the probe task panics or is
/// aborted, so a monitor is never left unscheduled.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicI64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.store(NOT_RUNNING, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    #[test]
    fn probes_in_flight_report_the_oldest_start_until_released() {
        let in_flight = ProbesInFlight::new();
        let (a, b, c) = (in_flight.slot(), in_flight.slot(), in_flight.slot());
        assert_eq!(in_flight.oldest(), None);
        let first = c.start(at("2026-01-01T00:00:05.250Z"));
        let second = a.start(at("2026-01-01T00:00:07Z"));
        assert!(c.is_running() && a.is_running());
        assert!(!b.is_running());
        assert_eq!(in_flight.oldest(), Some(at("2026-01-01T00:00:05.250Z")));
        drop(first);
        assert!(!c.is_running());
        assert_eq!(in_flight.oldest(), Some(at("2026-01-01T00:00:07Z")));
        drop(second);
        assert_eq!(in_flight.oldest(), None);
    }

    #[test]
    fn a_removed_monitors_probe_counts_until_its_result_is_taken() {
        let in_flight = ProbesInFlight::new();
        let slot = in_flight.slot();
        let mark = slot.start(at("2026-01-01T00:00:05Z"));
        // A reload removes the monitor: the scheduler drops its slot.
        drop(slot);
        assert_eq!(in_flight.oldest(), Some(at("2026-01-01T00:00:05Z")));
        drop(mark);
        assert_eq!(in_flight.oldest(), None);
        assert!(in_flight.lock().is_empty(), "a dead slot is forgotten");
    }

    #[test]
    fn an_unscheduled_monitors_last_probe_is_in_flight_until_its_mark_goes() {
        let in_flight = ProbesInFlight::new();
        let idle = in_flight.slot().unschedule();
        assert!(!idle.in_flight(), "no probe was running");

        let slot = in_flight.slot();
        let mark = slot.start(at("2026-01-01T00:00:05Z"));
        let last = slot.unschedule();
        assert!(last.in_flight());
        drop(mark);
        assert!(!last.in_flight());
    }
}
