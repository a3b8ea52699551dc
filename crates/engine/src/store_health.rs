//! [`StoreHealth`]: how the recorder's writes to the store are going — ok or
//! failing since when and why, how many results wait in the write buffer,
//! how many were dropped — for `/health`, and for the report at shutdown.
//! The recorder is its only writer; readers take a [`StoreHealthSnapshot`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;

/// Whether the last write of results to the store succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    Ok,
    /// The last write failed; results wait in the buffer and are retried.
    Failing,
}

impl Writing {
    pub fn as_str(self) -> &'static str {
        match self {
            Writing::Ok => "ok",
            Writing::Failing => "failing",
        }
    }
}

/// One reading of [`StoreHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreHealthSnapshot {
    pub writing: Writing,
    /// When the first of the failed writes in a row failed.
    pub failing_since: Option<Timestamp>,
    /// The last failed write's error (the store error's text, which names
    /// the operation and SQLite's reason), while writes fail.
    pub last_error: Option<String>,
    /// Results taken from probes and not written yet (buffered, or in a
    /// write that has not finished).
    pub buffered_results: usize,
    /// How many results the buffer holds before back-pressure (or, while
    /// writes fail, dropping) starts, for the monitors of the moment.
    pub buffer_capacity: usize,
    /// Raw results dropped unwritten since start, because writes kept
    /// failing past the buffer's capacity.
    pub dropped_results: u64,
    /// Results have been dropped since writes started failing this time:
    /// data is being lost now.
    pub dropping: bool,
}

/// Cheap to clone; clones share the same state.
#[derive(Debug, Clone)]
pub struct StoreHealth {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Set again when a reload changes the monitors.
    buffer_capacity: AtomicUsize,
    /// Updated on every result, so an atomic rather than under the lock.
    buffered: AtomicUsize,
    dropped: AtomicU64,
    failure: Mutex<Option<Failure>>,
}

#[derive(Debug, Clone)]
struct Failure {
    since: Timestamp,
    last_error: String,
    /// `dropped` when this run of failures began.
    dropped_before: u64,
}

impl StoreHealth {
    pub fn new(buffer_capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                buffer_capacity: AtomicUsize::new(buffer_capacity),
                buffered: AtomicUsize::new(0),
                dropped: AtomicU64::new(0),
                failure: Mutex::new(None),
            }),
        }
    }

    pub fn snapshot(&self) -> StoreHealthSnapshot {
        let dropped = self.inner.dropped.load(Ordering::Acquire);
        let failure = self.failure().clone();
        StoreHealthSnapshot {
            writing: if failure.is_some() {
                Writing::Failing
            } else {
                Writing::Ok
            },
            failing_since: failure.as_ref().map(|failure| failure.since),
            dropping: failure
                .as_ref()
                .is_some_and(|failure| dropped > failure.dropped_before),
            last_error: failure.map(|failure| failure.last_error),
            buffered_results: self.inner.buffered.load(Ordering::Acquire),
            buffer_capacity: self.inner.buffer_capacity.load(Ordering::Acquire),
            dropped_results: dropped,
        }
    }

    pub(crate) fn set_buffer_capacity(&self, results: usize) {
        self.inner.buffer_capacity.store(results, Ordering::Release);
    }

    pub(crate) fn set_buffered(&self, results: usize) {
        self.inner.buffered.store(results, Ordering::Release);
    }

    pub(crate) fn dropped(&self, results: usize) {
        self.inner
            .dropped
            .fetch_add(results as u64, Ordering::AcqRel);
    }

    /// Records a failed write; returns true for the first failure of a run.
    pub(crate) fn write_failed(&self, at: Timestamp, error: String) -> bool {
        let dropped = self.inner.dropped.load(Ordering::Acquire);
        let mut failure = self.failure();
        match failure.as_mut() {
            Some(failure) => {
                failure.last_error = error;
                false
            }
            None => {
                *failure = Some(Failure {
                    since: at,
                    last_error: error,
                    dropped_before: dropped,
                });
                true
            }
        }
    }

    /// Records a successful write; returns when writes had been failing
    /// since, if they had.
    pub(crate) fn write_succeeded(&self) -> Option<Timestamp> {
        self.failure().take().map(|failure| failure.since)
    }

    fn failure(&self) -> std::sync::MutexGuard<'_, Option<Failure>> {
        self.inner
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    #[test]
    fn a_run_of_failures_keeps_its_start_and_the_latest_error() {
        let health = StoreHealth::new(600);
        assert_eq!(health.snapshot().writing, Writing::Ok);
        assert!(health.write_failed(at("2026-01-01T10:00:00Z"), "full".to_owned()));
        assert!(!health.write_failed(at("2026-01-01T10:00:05Z"), "fuller".to_owned()));
        let snapshot = health.snapshot();
        assert_eq!(snapshot.writing, Writing::Failing);
        assert_eq!(snapshot.failing_since, Some(at("2026-01-01T10:00:00Z")));
        assert_eq!(snapshot.last_error.as_deref(), Some("fuller"));
        assert_eq!(snapshot.buffer_capacity, 600);
        assert!(!snapshot.dropping);

        health.dropped(3);
        assert!(health.snapshot().dropping);
        assert_eq!(health.write_succeeded(), Some(at("2026-01-01T10:00:00Z")));
        let snapshot = health.snapshot();
        assert_eq!(snapshot.writing, Writing::Ok);
        assert_eq!(snapshot.last_error, None);
        assert!(!snapshot.dropping);
        assert_eq!(snapshot.dropped_results, 3);

        // Drops of an earlier run do not make a new run "dropping".
        health.write_failed(at("2026-01-01T11:00:00Z"), "full".to_owned());
        assert!(!health.snapshot().dropping);
        assert_eq!(health.write_succeeded(), Some(at("2026-01-01T11:00:00Z")));
        assert_eq!(health.write_succeeded(), None);
    }
}
