//! When probes are due. Pure arithmetic on timestamps, so the scheduler's
//! promises are unit-tested with a fake clock:
//!
//! - **Spread.** Each monitor has a stable phase inside its interval, derived
//!   from its id, so ten thousand monitors with the same interval do not all
//!   fire in the same millisecond, and a restart keeps every monitor's phase.
//! - **No drift.** Due times are `phase + k × interval` on the wall clock; the
//!   next one is computed from the previous *due* time, never from when the
//!   probe actually ran or finished, so lag does not accumulate.
//! - **No pile-up.** When the process falls behind (a stalled machine, a
//!   suspended VM), missed slots are skipped, not replayed in a burst.
//!
//! A [`Schedule`] is one of three kinds. Intervals (above) run on the
//! steady clock; calendar schedules — a cron expression in a time zone, or
//! one instant — run on the wall clock (`calendar`), so a step of the
//! system clock moves neither kind.

mod calendar;

use std::fmt;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use calendar::{
    CalendarError, CronSchedule, first_cron_due, next_cron_due, one_shot_due, wall_to_steady,
};

use crate::id::MonitorId;
use crate::monitor::MonitorSpec;

/// When a monitor is probed.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every interval, at the monitor's phase, on the steady clock.
    Every(Duration),
    /// At each occurrence of a cron expression in a time zone, on the wall
    /// clock. Boxed: a parsed expression and its zone are some 370 bytes,
    /// and most monitors run on an interval.
    Cron(Box<CronSchedule>),
    /// Once, at this instant on the wall clock.
    At(Timestamp),
}

impl Schedule {
    /// The interval, for an interval schedule.
    pub fn interval(&self) -> Option<Duration> {
        match self {
            Schedule::Every(interval) => Some(*interval),
            Schedule::Cron(_) | Schedule::At(_) => None,
        }
    }

    /// The shortest time between two probes, to size what holds a window
    /// of results: the interval; a minute for cron (its finest field);
    /// none for a one-shot.
    pub fn shortest_gap(&self) -> Option<Duration> {
        match self {
            Schedule::Every(interval) => Some(*interval),
            Schedule::Cron(_) => Some(Duration::from_secs(60)),
            Schedule::At(_) => None,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every(interval) => match SignedDuration::try_from(*interval) {
                Ok(signed) => write!(f, "every {signed:#}"),
                Err(_) => write!(f, "every {interval:?}"),
            },
            Schedule::Cron(cron) => write!(f, "cron {} {}", cron.expression(), cron.time_zone()),
            Schedule::At(at) => write!(f, "at {at}"),
        }
    }
}

/// The monitor's phase: a stable offset in `[0, interval)` from its id
/// (FNV-1a, chosen because it is stable across Rust versions and platforms,
/// unlike `std`'s hasher).
pub fn phase(monitor: &MonitorId, interval: Duration) -> Duration {
    let interval_ns = interval.as_nanos().max(1);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in monitor.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Spread over whole milliseconds: finer phases buy nothing.
    let interval_ms = (interval_ns / 1_000_000).max(1);
    let offset_ms = u128::from(hash) % interval_ms;
    Duration::from_millis(u64::try_from(offset_ms).unwrap_or(0))
}

/// How many probes may run at once when the config does not say: enough
/// for every connection every monitor can have open at the same time (a
/// monitor never runs twice at once; an http monitor with a fallback opens
/// two), so the bound never delays a probe, but no more than `open_files`
/// allows, since each probe in flight holds a socket or pipes. At least one.
pub fn automatic_concurrency<'a>(
    monitors: impl IntoIterator<Item = &'a MonitorSpec>,
    open_files: usize,
) -> usize {
    let connections: usize = monitors.into_iter().map(MonitorSpec::connections).sum();
    connections.min(open_files).max(1)
}

/// The first due time at or after `now`.
pub fn first_due(monitor: &MonitorId, interval: Duration, now: Timestamp) -> Timestamp {
    slot_at_or_after(phase(monitor, interval), interval, now)
}

/// The due time after `previous_due`, skipping any slot already in the past
/// at `now`. Returns the next due time and how many slots were skipped.
pub fn next_due(
    monitor: &MonitorId,
    interval: Duration,
    previous_due: Timestamp,
    now: Timestamp,
) -> (Timestamp, u64) {
    let interval_ns = i128::try_from(interval.as_nanos())
        .unwrap_or(i128::MAX)
        .max(1);
    let candidate_ns = previous_due.as_nanosecond().saturating_add(interval_ns);
    let candidate = Timestamp::from_nanosecond(candidate_ns).unwrap_or(Timestamp::MAX);
    if candidate >= now {
        return (candidate, 0);
    }
    let next = slot_at_or_after(phase(monitor, interval), interval, now);
    let skipped = (next.as_nanosecond() - candidate_ns) / interval_ns;
    (next, u64::try_from(skipped).unwrap_or(u64::MAX))
}

/// Smallest `t >= now` with `t ≡ phase (mod interval)` counted from the epoch.
fn slot_at_or_after(phase: Duration, interval: Duration, now: Timestamp) -> Timestamp {
    let interval_ns = i128::try_from(interval.as_nanos())
        .unwrap_or(i128::MAX)
        .max(1);
    let phase_ns = i128::try_from(phase.as_nanos()).unwrap_or(0);
    let now_ns = now.as_nanosecond();
    let since_phase = now_ns - phase_ns;
    let k = since_phase.div_euclid(interval_ns);
    let mut slot = phase_ns + k * interval_ns;
    if slot < now_ns {
        slot += interval_ns;
    }
    Timestamp::from_nanosecond(slot).unwrap_or(Timestamp::MAX)
}

/// How late a probe started: `started - due`, zero if it started early.
pub fn lag(due: Timestamp, started: Timestamp) -> Duration {
    let lag = started.duration_since(due);
    if lag <= SignedDuration::ZERO {
        Duration::ZERO
    } else {
        lag.unsigned_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};

    fn id(raw: &str) -> MonitorId {
        MonitorId::parse(raw).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn monitor(n: usize, fallback: bool) -> MonitorSpec {
        use crate::monitor::{HttpSpec, Parity, ProbeSpec, RedirectPolicy};
        MonitorSpec {
            id: id(&format!("m{n}")),
            name: format!("m{n}"),
            component: None,
            schedule: Schedule::Every(Duration::from_secs(10)),
            timeout: Duration::from_secs(5),
            probe: ProbeSpec::Http(HttpSpec {
                url: "http://127.0.0.1/".parse().unwrap(),
                method: "GET".to_owned(),
                headers: Vec::new(),
                body: None,
                redirects: RedirectPolicy::None,
                verify_tls: true,
                body_limit: 1024,
                fallback_url: fallback.then(|| "http://127.0.0.1:2/".parse().unwrap()),
                parity: Parity::Off,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        }
    }

    #[test]
    fn automatic_concurrency_covers_every_connection_up_to_the_open_files() {
        let monitors: Vec<_> = (0..300).map(|n| monitor(n, n % 3 == 0)).collect();
        // 200 monitors with one connection, 100 with a fallback (two).
        assert_eq!(automatic_concurrency(&monitors, 10_000), 400);
        assert_eq!(automatic_concurrency(&monitors, 250), 250);
        assert_eq!(automatic_concurrency(&[], 250), 1);
        assert_eq!(automatic_concurrency(&monitors, 0), 1);
    }

    #[test]
    fn phase_is_pinned_per_id_and_interval() {
        // Pinned so a change to the hash (which would move every monitor's
        // phase after an upgrade) is a deliberate decision.
        let ms = Duration::from_millis;
        assert_eq!(phase(&id("api-health"), Duration::from_secs(10)), ms(7_228));
        // The same hash, reduced modulo another interval (values computed
        // independently with a Python FNV-1a).
        assert_eq!(phase(&id("api-health"), Duration::from_secs(1)), ms(228));
        assert_eq!(phase(&id("api-health"), Duration::from_secs(60)), ms(7_228));
        // Another id, another phase.
        assert_eq!(phase(&id("api"), Duration::from_secs(10)), ms(7_879));
        // Intervals of a millisecond or less have only one phase.
        assert_eq!(phase(&id("api-health"), ms(1)), Duration::ZERO);
        assert_eq!(
            phase(&id("api-health"), Duration::from_micros(10)),
            Duration::ZERO
        );
    }

    #[test]
    fn first_runs_spread_evenly_across_the_interval() {
        let interval = Duration::from_secs(10);
        let start = ts("2026-01-01T00:00:00Z");
        let mut per_second = [0u32; 10];
        for n in 0..10_000 {
            let monitor = id(&format!("monitor-{n}"));
            let due = first_due(&monitor, interval, start);
            let offset = due.duration_since(start);
            // `start` is on a slot boundary, so the first run is its phase.
            assert_eq!(
                offset,
                SignedDuration::try_from(phase(&monitor, interval)).unwrap()
            );
            per_second[usize::try_from(offset.as_secs()).unwrap()] += 1;
        }
        // 1,000 expected per one-second bucket; no bucket holds a herd.
        for (second, count) in per_second.iter().enumerate() {
            assert!(
                (850..=1150).contains(count),
                "second {second} has {count} first runs"
            );
        }
    }

    #[test]
    fn does_not_drift_over_hours_even_when_probes_run_late() {
        let monitor = id("api-health");
        let interval = Duration::from_secs(10);
        let clock = ManualClock::new(ts("2026-01-01T00:00:00Z"));
        let first = first_due(&monitor, interval, clock.now());
        let mut due = first;
        // Six hours of checks, each starting 37 ms late and taking 1.2 s.
        for _ in 0..(6 * 360) {
            clock.set(due);
            clock.advance(Duration::from_millis(37 + 1_200));
            let (next, skipped) = next_due(&monitor, interval, due, clock.now());
            assert_eq!(skipped, 0);
            due = next;
        }
        assert_eq!(due.duration_since(first), SignedDuration::from_hours(6));
    }

    #[test]
    fn skips_missed_slots_instead_of_replaying_them() {
        let monitor = id("api-health");
        let interval = Duration::from_secs(10);
        let start = ts("2026-01-01T00:00:00Z");
        let due = first_due(&monitor, interval, start);
        // The machine stalls for 65 s after this due time.
        let now = due.checked_add(SignedDuration::from_secs(65)).unwrap();
        let (next, skipped) = next_due(&monitor, interval, due, now);
        assert_eq!(next.duration_since(due), SignedDuration::from_secs(70));
        assert_eq!(skipped, 6);
        assert!(next >= now);
    }

    #[test]
    fn keeps_its_phase_across_a_restart() {
        let monitor = id("db");
        let interval = Duration::from_secs(30);
        let a = first_due(&monitor, interval, ts("2026-01-01T00:00:00Z"));
        let b = first_due(&monitor, interval, ts("2026-01-01T05:17:03.5Z"));
        let apart = b.duration_since(a).as_nanos();
        assert_eq!(apart % interval.as_nanos() as i128, 0);
    }

    #[test]
    fn a_schedule_says_what_it_is() {
        assert_eq!(
            Schedule::Every(Duration::from_secs(90)).to_string(),
            "every 1m 30s"
        );
        let cron = CronSchedule::parse("0 3 * * *", "Europe/Berlin").unwrap();
        assert_eq!(
            Schedule::Cron(Box::new(cron)).to_string(),
            "cron 0 3 * * * Europe/Berlin"
        );
        assert_eq!(
            Schedule::At(ts("2026-01-01T06:00:00Z")).to_string(),
            "at 2026-01-01T06:00:00Z"
        );
    }

    #[test]
    fn lag_is_never_negative() {
        let due = ts("2026-01-01T00:00:10Z");
        assert_eq!(lag(due, ts("2026-01-01T00:00:09Z")), Duration::ZERO);
        assert_eq!(
            lag(due, ts("2026-01-01T00:00:10.25Z")),
            Duration::from_millis(250)
        );
    }
}
