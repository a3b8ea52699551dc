//! One monitor's results within a rule's window, kept incrementally: each
//! result pushes a sample and evicts those older than the window, counters
//! follow, and latency percentiles are computed only when a rule reads
//! them (a selection over the window's samples, not a sort).
//!
//! The window slides with the results themselves (the newest result's
//! start), not with the wall clock: a rule is evaluated when a result
//! arrives, and its statistics are those of the results it has seen.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::check::CheckResult;
use crate::health::Health;

/// One result as the window keeps it.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Timestamp,
    failed: bool,
    latency: Duration,
}

/// The newest result, as `last` in a rule's `when`.
#[derive(Debug, Clone, PartialEq)]
pub struct Last {
    pub health: Health,
    pub reason: Option<String>,
    pub latency: Duration,
}

#[derive(Debug, Clone)]
pub struct Window {
    length: Duration,
    /// Whether a degraded result counts as a failure (rules say so).
    degraded_fails: bool,
    samples: VecDeque<Sample>,
    failures: usize,
    latency_total: Duration,
    consecutive_failures: u64,
    consecutive_successes: u64,
    last: Option<Last>,
}

/// What a rule's `when` sees.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowStats {
    pub samples: u64,
    /// Successes over samples; 1 when the window is empty.
    pub availability: f64,
    /// Failures over samples; 0 when the window is empty.
    pub error_rate: f64,
    /// Counted over every result seen, not only the window's.
    pub consecutive_failures: u64,
    pub consecutive_successes: u64,
    pub avg_latency: Duration,
    /// Nearest-rank percentiles of the window's latencies; `None` unless
    /// asked for (see [`Window::stats`]) or when the window is empty.
    pub percentiles: Option<Percentiles>,
    pub last: Option<Last>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
}

impl Window {
    pub fn new(length: Duration, degraded_fails: bool) -> Window {
        Window {
            length,
            degraded_fails,
            samples: VecDeque::new(),
            failures: 0,
            latency_total: Duration::ZERO,
            consecutive_failures: 0,
            consecutive_successes: 0,
            last: None,
        }
    }

    /// Takes a result in; results may arrive slightly out of order (the
    /// probes of one monitor never overlap, but a restart replays), and an
    /// older one than the newest is still counted if it is in the window.
    pub fn record(&mut self, result: &CheckResult) {
        let failed = match result.health {
            Health::Up => false,
            Health::Degraded => self.degraded_fails,
            Health::Down => true,
        };
        if failed {
            self.consecutive_failures += 1;
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes += 1;
            self.consecutive_failures = 0;
        }
        self.last = Some(Last {
            health: result.health,
            reason: result.reason.clone(),
            latency: result.latency,
        });
        let sample = Sample {
            at: result.started_at,
            failed,
            latency: result.latency,
        };
        let position = self
            .samples
            .iter()
            .rposition(|kept| kept.at <= sample.at)
            .map_or(0, |index| index + 1);
        self.samples.insert(position, sample);
        self.failures += usize::from(failed);
        self.latency_total += sample.latency;
        self.evict();
    }

    /// Drops the samples that started a whole window or more before the
    /// newest one.
    fn evict(&mut self) {
        let Some(newest) = self.samples.back().map(|sample| sample.at) else {
            return;
        };
        let length = SignedDuration::try_from(self.length).unwrap_or(SignedDuration::MAX);
        let Ok(horizon) = newest.checked_sub(length) else {
            return;
        };
        while let Some(oldest) = self.samples.front() {
            if oldest.at > horizon {
                break;
            }
            self.failures -= usize::from(oldest.failed);
            self.latency_total = self.latency_total.saturating_sub(oldest.latency);
            self.samples.pop_front();
        }
    }

    /// The window's statistics; latency percentiles only `with_percentiles`
    /// (they cost a selection over the samples).
    pub fn stats(&self, with_percentiles: bool) -> WindowStats {
        let samples = self.samples.len();
        let (availability, error_rate, avg_latency) = if samples == 0 {
            (1.0, 0.0, Duration::ZERO)
        } else {
            let error_rate = self.failures as f64 / samples as f64;
            let average = self.latency_total / u32::try_from(samples).unwrap_or(u32::MAX);
            (1.0 - error_rate, error_rate, average)
        };
        WindowStats {
            samples: samples as u64,
            availability,
            error_rate,
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            avg_latency,
            percentiles: (with_percentiles && samples > 0).then(|| self.percentiles()),
            last: self.last.clone(),
        }
    }

    fn percentiles(&self) -> Percentiles {
        let mut latencies: Vec<Duration> = self.samples.iter().map(|s| s.latency).collect();
        let mut rank = |quantile: f64| {
            // nearest rank: the smallest value with at least `quantile` of
            // the samples at or below it
            let count = latencies.len();
            let index = ((quantile * count as f64).ceil() as usize).clamp(1, count) - 1;
            *latencies.select_nth_unstable(index).1
        };
        Percentiles {
            p50: rank(0.50),
            p95: rank(0.95),
            p99: rank(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::MonitorId;

    fn result(second: i64, health: Health, latency_ms: u64) -> CheckResult {
        let at = Timestamp::from_second(1_800_000_000 + second).unwrap();
        CheckResult {
            monitor: MonitorId::parse("api").unwrap(),
            due_at: at,
            started_at: at,
            latency: Duration::from_millis(latency_ms),
            evaluation: Duration::ZERO,
            health,
            reason: (health != Health::Up).then(|| "boom".to_owned()),
            fallback: None,
        }
    }

    #[test]
    fn counts_follow_the_window_as_it_slides() {
        let mut window = Window::new(Duration::from_secs(60), false);
        for second in (0..60).step_by(10) {
            window.record(&result(second, Health::Up, 100));
        }
        window.record(&result(60, Health::Down, 5000));
        // the sample at 0 s is a whole window before 60 s: evicted
        let stats = window.stats(false);
        assert_eq!(stats.samples, 6);
        assert!((stats.error_rate - 1.0 / 6.0).abs() < 1e-12);
        assert!((stats.availability - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(stats.consecutive_failures, 1);
        assert_eq!(stats.consecutive_successes, 0);
        assert_eq!(stats.avg_latency, Duration::from_millis(5500) / 6);
        assert_eq!(
            stats.last.as_ref().map(|last| last.health),
            Some(Health::Down)
        );
        for second in (70..=130).step_by(10) {
            window.record(&result(second, Health::Up, 100));
        }
        let stats = window.stats(false);
        assert_eq!(stats.samples, 6, "{stats:?}");
        assert_eq!(stats.error_rate, 0.0);
        assert_eq!(stats.consecutive_successes, 7);
    }

    #[test]
    fn degraded_counts_as_a_failure_only_when_the_rule_says_so() {
        let mut lenient = Window::new(Duration::from_secs(60), false);
        let mut strict = Window::new(Duration::from_secs(60), true);
        for window in [&mut lenient, &mut strict] {
            window.record(&result(0, Health::Degraded, 100));
        }
        assert_eq!(lenient.stats(false).error_rate, 0.0);
        assert_eq!(strict.stats(false).error_rate, 1.0);
        assert_eq!(strict.stats(false).consecutive_failures, 1);
    }

    #[test]
    fn percentiles_are_nearest_rank_and_only_when_asked() {
        let mut window = Window::new(Duration::from_secs(1000), false);
        for (index, latency) in (1..=100).enumerate() {
            window.record(&result(index as i64, Health::Up, latency));
        }
        assert_eq!(window.stats(false).percentiles, None);
        assert_eq!(
            window.stats(true).percentiles,
            Some(Percentiles {
                p50: Duration::from_millis(50),
                p95: Duration::from_millis(95),
                p99: Duration::from_millis(99),
            })
        );
        let empty = Window::new(Duration::from_secs(60), false);
        let stats = empty.stats(true);
        assert_eq!((stats.samples, stats.availability), (0, 1.0));
        assert_eq!(stats.percentiles, None);
    }

    #[test]
    fn a_late_result_is_placed_in_order_and_evicted_in_turn() {
        let mut window = Window::new(Duration::from_secs(30), false);
        window.record(&result(20, Health::Up, 10));
        window.record(&result(10, Health::Down, 10));
        window.record(&result(45, Health::Up, 10));
        // 10 s and 20 s... 45 − 30 = 15: only the sample at 10 s goes
        let stats = window.stats(false);
        assert_eq!(stats.samples, 2);
        assert_eq!(stats.error_rate, 0.0);
    }
}
