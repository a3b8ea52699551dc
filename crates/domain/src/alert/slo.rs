//! Service level objectives: "99.9 % of probes available over 30 days", or
//! "95 % of probes under 2 s over 7 days". Pure arithmetic over counts of
//! good and bad events, so the same functions serve a window read from raw
//! results and a 30-day period read from the per-minute rollups.
//!
//! - **Events.** Availability: a probe is good unless it was down (degraded
//!   counts as available, as everywhere else). Latency: a probe is good
//!   when its latency was at most the threshold, whatever its health (a
//!   failure is availability's business; a timeout is slow anyway).
//! - **Error budget.** The bad events the objective allows over the
//!   period, `(1 − objective) × total`; `remaining` is the fraction of it
//!   not yet spent (1 untouched, 0 spent, below 0 overspent).
//! - **Burn rate.** How fast the budget goes: the bad fraction divided by
//!   the allowed one. A burn rate of 1 spends exactly the budget over the
//!   period; 14.4 spends 2 % of a 30-day budget in one hour.
//! - **Multi-window, multi-burn-rate alerts** (Google's SRE workbook, ch. 5):
//!   fire when the burn rate over a long window *and* over a short one both
//!   reach the factor, so a burst pages quickly and a recovery stops paging
//!   quickly. [`burn_rate_alerts`] derives them from the objective.

use std::time::Duration;

use jiff::SignedDuration;

use crate::check::CheckResult;
use crate::health::Health;
use crate::rollup::{Rollup, RollupError, decode_histogram};

/// What an objective measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Indicator {
    Availability,
    /// Probes whose latency is at most `threshold` are good.
    Latency {
        threshold: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// The good fraction promised, in (0, 1): 0.999 for "three nines".
    pub target: f64,
    pub period: SignedDuration,
    pub indicator: Indicator,
}

/// Good and total events over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    pub good: u64,
    pub total: u64,
}

impl Events {
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }

    pub fn add(&mut self, other: Events) {
        self.good += other.good;
        self.total += other.total;
    }

    /// One raw result, judged by `indicator`.
    pub fn of_result(result: &CheckResult, indicator: Indicator) -> Events {
        let good = match indicator {
            Indicator::Availability => result.health != Health::Down,
            Indicator::Latency { threshold } => result.latency <= threshold,
        };
        Events {
            good: u64::from(good),
            total: 1,
        }
    }

    /// One rolled-up minute, judged by `indicator`. Latency is counted from
    /// the minute's histogram, whose buckets are 1 % wide: a probe within
    /// 1 % of the threshold may be counted on either side.
    pub fn of_rollup(rollup: &Rollup, indicator: Indicator) -> Result<Events, RollupError> {
        let total = u64::from(rollup.count);
        let good = match indicator {
            Indicator::Availability => u64::from(rollup.count - rollup.failures.min(rollup.count)),
            Indicator::Latency { threshold } => {
                if rollup.latency_max <= threshold {
                    total
                } else if rollup.latency_min > threshold {
                    0
                } else {
                    let histogram = decode_histogram(&rollup.histogram)?;
                    let micros = u64::try_from(threshold.as_micros()).unwrap_or(u64::MAX);
                    histogram.count_between(0, micros).min(total)
                }
            }
        };
        Ok(Events { good, total })
    }
}

/// Where an objective stands over its period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// The good fraction over the period; `None` without any event.
    pub achieved: Option<f64>,
    /// Bad events the objective allows for the events seen.
    pub allowed_bad: f64,
    pub bad: u64,
    /// The fraction of the budget not yet spent: 1 untouched, 0 spent,
    /// negative when overspent. 1 without any event.
    pub remaining: f64,
    /// Over the whole period (see [`burn_rate`]).
    pub burn_rate: f64,
}

/// The error budget of `objective` given the period's `events`.
pub fn budget(objective: &Objective, events: Events) -> Budget {
    let allowed_fraction = 1.0 - objective.target;
    let allowed_bad = allowed_fraction * events.total as f64;
    let bad = events.bad();
    let remaining = if bad == 0 {
        1.0
    } else if allowed_bad > 0.0 {
        1.0 - bad as f64 / allowed_bad
    } else {
        // An objective of 100 % allows nothing: any bad event overspends
        // it entirely.
        f64::NEG_INFINITY
    };
    Budget {
        achieved: (events.total > 0).then(|| events.good as f64 / events.total as f64),
        allowed_bad,
        bad,
        remaining,
        burn_rate: burn_rate(objective.target, events),
    }
}

/// The bad fraction of `events` divided by the fraction `target` allows:
/// 1 spends the budget exactly over the period. 0 without any event.
pub fn burn_rate(target: f64, events: Events) -> f64 {
    if events.total == 0 {
        return 0.0;
    }
    let bad_fraction = events.bad() as f64 / events.total as f64;
    let allowed_fraction = 1.0 - target;
    if allowed_fraction <= 0.0 {
        return if events.bad() == 0 {
            0.0
        } else {
            f64::INFINITY
        };
    }
    bad_fraction / allowed_fraction
}

/// One multi-window alert: fires while the burn rate over `long` and over
/// `short` are both at least `factor`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRateAlert {
    pub long: SignedDuration,
    pub short: SignedDuration,
    pub factor: f64,
    /// The share of the period's budget that burning at `factor` for
    /// `long` spends (2 % and 5 % for the workbook's two page alerts).
    pub budget_spent: f64,
}

impl BurnRateAlert {
    pub fn fires(&self, target: f64, long: Events, short: Events) -> bool {
        // Exactly at the factor fires; `1 - 0.999` is not exactly 0.001 in
        // floating point, so compare with a relative tolerance.
        let reached = |rate: f64| rate >= self.factor * (1.0 - 1e-9);
        reached(burn_rate(target, long)) && reached(burn_rate(target, short))
    }
}

/// The workbook's two page alerts for `period`: 2 % of the budget spent
/// in 1 h (checked over 1 h and 5 m) and 5 % in 6 h (over 6 h and 30 m).
/// For the workbook's 30-day period the factors are its 14.4 and 6; for
/// another period they scale with it (the same shares of its budget), so a
/// 7-day objective pages at 3.36× and 1.4×.
pub fn burn_rate_alerts(period: SignedDuration) -> [BurnRateAlert; 2] {
    let alert = |long_hours: i64, short_minutes: i64, budget_spent: f64| {
        let long = SignedDuration::from_hours(long_hours);
        BurnRateAlert {
            long,
            short: SignedDuration::from_mins(short_minutes),
            factor: budget_spent * period.as_secs_f64() / long.as_secs_f64(),
            budget_spent,
        }
    };
    [alert(1, 5, 0.02), alert(6, 30, 0.05)]
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::id::MonitorId;
    use crate::rollup::RollupBuilder;

    fn events(good: u64, total: u64) -> Events {
        Events { good, total }
    }

    fn three_nines() -> Objective {
        Objective {
            target: 0.999,
            period: SignedDuration::from_hours(24 * 30),
            indicator: Indicator::Availability,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_budget_is_what_the_objective_allows_and_remaining_is_what_is_left() {
        // 100,000 probes at 99.9 % allow 100 bad ones.
        let untouched = budget(&three_nines(), events(100_000, 100_000));
        assert!(close(untouched.allowed_bad, 100.0));
        assert_eq!(untouched.remaining, 1.0);
        assert_eq!(untouched.achieved, Some(1.0));

        let quarter = budget(&three_nines(), events(99_975, 100_000));
        assert_eq!(quarter.bad, 25);
        assert!(close(quarter.remaining, 0.75), "{quarter:?}");
        assert!(close(quarter.burn_rate, 0.25), "{quarter:?}");

        let overspent = budget(&three_nines(), events(99_800, 100_000));
        assert!(close(overspent.remaining, -1.0), "{overspent:?}");
        assert!(close(overspent.burn_rate, 2.0), "{overspent:?}");

        let nothing = budget(&three_nines(), Events::default());
        assert_eq!(nothing.achieved, None);
        assert_eq!(nothing.remaining, 1.0);
        assert_eq!(nothing.burn_rate, 0.0);
    }

    #[test]
    fn an_objective_of_one_hundred_percent_is_overspent_by_one_bad_event() {
        let perfect = Objective {
            target: 1.0,
            ..three_nines()
        };
        assert_eq!(budget(&perfect, events(10, 10)).remaining, 1.0);
        let one_bad = budget(&perfect, events(9, 10));
        assert_eq!(one_bad.remaining, f64::NEG_INFINITY);
        assert_eq!(one_bad.burn_rate, f64::INFINITY);
    }

    #[test]
    fn the_workbook_alerts_for_thirty_days_are_fourteen_point_four_and_six() {
        let [fast, slow] = burn_rate_alerts(SignedDuration::from_hours(24 * 30));
        assert_eq!(fast.long, SignedDuration::from_hours(1));
        assert_eq!(fast.short, SignedDuration::from_mins(5));
        assert!(close(fast.factor, 14.4), "{fast:?}");
        assert_eq!(slow.long, SignedDuration::from_hours(6));
        assert_eq!(slow.short, SignedDuration::from_mins(30));
        assert!(close(slow.factor, 6.0), "{slow:?}");
        // A 7-day period: the same shares of a smaller budget.
        let [fast, slow] = burn_rate_alerts(SignedDuration::from_hours(24 * 7));
        assert!(close(fast.factor, 3.36), "{fast:?}");
        assert!(close(slow.factor, 1.4), "{slow:?}");
    }

    #[test]
    fn a_burn_rate_alert_needs_both_windows_burning() {
        let [fast, _] = burn_rate_alerts(SignedDuration::from_hours(24 * 30));
        // 2 % bad at 99.9 % is a burn rate of 20.
        let burning = events(980, 1_000);
        let calm = events(1_000, 1_000);
        assert!(fast.fires(0.999, burning, burning));
        // Recovered: the hour still burns, the last five minutes do not.
        assert!(!fast.fires(0.999, burning, calm));
        // A blip: five bad minutes inside a calm hour.
        assert!(!fast.fires(0.999, calm, burning));
        // Exactly at the factor fires: 1.44 % bad.
        let at_factor = events(98_560, 100_000);
        assert!(fast.fires(0.999, at_factor, at_factor));
    }

    fn result(health: Health, latency_ms: u64) -> CheckResult {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        CheckResult {
            monitor: MonitorId::parse("api").unwrap(),
            due_at: at,
            started_at: at,
            latency: Duration::from_millis(latency_ms),
            evaluation: Duration::ZERO,
            health,
            reason: None,
            fallback: None,
        }
    }

    #[test]
    fn results_are_good_or_bad_by_the_indicator() {
        let latency = Indicator::Latency {
            threshold: Duration::from_secs(2),
        };
        let slow_up = result(Health::Up, 2_500);
        let fast_down = result(Health::Down, 3);
        let degraded = result(Health::Degraded, 2_000);
        assert_eq!(Events::of_result(&slow_up, Indicator::Availability).good, 1);
        assert_eq!(
            Events::of_result(&fast_down, Indicator::Availability).good,
            0
        );
        assert_eq!(
            Events::of_result(&degraded, Indicator::Availability).good,
            1
        );
        assert_eq!(Events::of_result(&slow_up, latency).good, 0);
        assert_eq!(Events::of_result(&fast_down, latency).good, 1);
        // At the threshold is good.
        assert_eq!(Events::of_result(&degraded, latency).good, 1);
    }

    #[test]
    fn a_rolled_up_minute_counts_as_its_results_would() {
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut builder = RollupBuilder::new(at).unwrap();
        let results = [
            result(Health::Up, 100),
            result(Health::Up, 1_500),
            result(Health::Degraded, 2_600),
            result(Health::Down, 5_000),
            result(Health::Up, 400),
        ];
        for r in &results {
            builder.add(r.health, r.latency);
        }
        let rollup = builder.finish().unwrap();
        for indicator in [
            Indicator::Availability,
            Indicator::Latency {
                threshold: Duration::from_secs(2),
            },
            Indicator::Latency {
                threshold: Duration::from_secs(10),
            },
            Indicator::Latency {
                threshold: Duration::from_millis(50),
            },
        ] {
            let mut from_results = Events::default();
            for r in &results {
                from_results.add(Events::of_result(r, indicator));
            }
            assert_eq!(
                Events::of_rollup(&rollup, indicator).unwrap(),
                from_results,
                "{indicator:?}"
            );
        }
    }
}
