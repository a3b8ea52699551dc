//! The one place where results have effects: each result updates the
//! monitor's state (recording a state change exactly once per change of
//! health), its metrics and the board, and goes into the [`WriteBuffer`]
//! for a batched write. Writes run beside the recorder, never inside it, so
//! a slow, busy or full store never stops it taking results: the board's
//! `last_result` stays current and probes keep their slots. Only past the
//! buffer's bound does a slow store hold the recorder back (see
//! `write_buffer`). [`UnwrittenSince`] tells maintenance how far back the
//! unwritten results reach.

mod write_buffer;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use watchkeeper_domain::check::{CheckResult, StateChange, transition};
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::schedule;
use watchkeeper_store::Store;

use crate::board::Board;
use crate::metrics::{Metrics, MonitorMetrics};
use crate::scheduler::Finished;
use crate::store_health::StoreHealth;
pub use write_buffer::Unwritten;
use write_buffer::WriteBuffer;

/// How much time's worth of results the write buffer holds by default.
pub const WRITE_BUFFER_WINDOW: Duration = Duration::from_secs(60);

/// How many results `monitors` produce in `window` at their intervals:
/// the sum over monitors of `window / interval`, each rounded up.
pub fn results_within(window: Duration, monitors: &[Arc<MonitorSpec>]) -> usize {
    let window = window.as_millis();
    monitors
        .iter()
        .map(|monitor| {
            let interval = monitor.interval.as_millis().max(1);
            usize::try_from(window.div_ceil(interval)).unwrap_or(usize::MAX)
        })
        .fold(0, usize::saturating_add)
}

/// The start of the oldest result the recorder holds but has not written
/// yet (buffered, in a write in flight, or kept after a failed write), if
/// any.
#[derive(Debug, Clone)]
pub struct UnwrittenSince(Arc<AtomicI64>);

impl Default for UnwrittenSince {
    fn default() -> Self {
        Self(Arc::new(AtomicI64::new(NOTHING_UNWRITTEN)))
    }
}

/// Nothing unwritten (0 is a valid millisecond, so zero cannot mean none).
const NOTHING_UNWRITTEN: i64 = i64::MAX;

impl UnwrittenSince {
    pub fn get(&self) -> Option<Timestamp> {
        match self.0.load(Ordering::Acquire) {
            NOTHING_UNWRITTEN => None,
            millis => Timestamp::from_millisecond(millis).ok(),
        }
    }

    fn set(&self, oldest: Option<Timestamp>) {
        let millis = oldest.map_or(NOTHING_UNWRITTEN, |at| at.as_millisecond());
        self.0.store(millis, Ordering::Release);
    }
}

/// What a [`Recorder`] is made of.
pub struct RecorderParts {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub board: Board,
    pub metrics: Metrics,
    /// Written by the recorder: how its writes are going.
    pub health: StoreHealth,
    pub unwritten: UnwrittenSince,
    /// A write starts once this many results are buffered…
    pub batch_size: usize,
    /// …or at the latest this often.
    pub flush_interval: Duration,
    /// Results held unwritten (buffered plus in flight) before the bound
    /// applies.
    pub buffer_capacity: usize,
}

pub struct Recorder {
    board: Board,
    metrics: Metrics,
    monitor_metrics: Vec<MonitorMetrics>,
    flush_interval: Duration,
    buffer: WriteBuffer,
}

impl Recorder {
    pub fn new(parts: RecorderParts, monitors: &[Arc<MonitorSpec>]) -> Self {
        let RecorderParts {
            store,
            clock,
            board,
            metrics,
            health,
            unwritten,
            batch_size,
            flush_interval,
            buffer_capacity,
        } = parts;
        let monitor_metrics: Vec<MonitorMetrics> =
            monitors.iter().map(|m| metrics.for_monitor(m)).collect();
        board.with_all(|views| {
            for (view, handles) in views.iter().zip(&monitor_metrics) {
                if let Some(status) = &view.status {
                    let last = view
                        .last()
                        .map(|last| (last.health != Health::Down, last.latency));
                    handles.restore(last, status.health);
                }
            }
        });
        let buffer = WriteBuffer::new(
            write_buffer::Shared {
                store,
                clock,
                metrics: metrics.clone(),
                health,
                unwritten,
            },
            buffer_capacity,
            batch_size,
        );
        Self {
            board,
            metrics,
            monitor_metrics,
            flush_interval,
            buffer,
        }
    }

    /// Runs until every sender is gone, then writes what is left (a few
    /// attempts) and returns what could not be written.
    pub async fn run(mut self, mut incoming: mpsc::Receiver<Finished>) -> Unwritten {
        let mut ticker = tokio::time::interval(self.flush_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let now = Instant::now();
            let mut next_write = self.buffer.next_write_at(now);
            if next_write.is_some_and(|at| at <= now) {
                self.buffer.start_write();
                next_write = None;
            }
            let accepting = self.buffer.accepting();
            let writing = self.buffer.is_writing();
            tokio::select! {
                received = incoming.recv(), if accepting => match received {
                    Some(Finished { result, in_flight }) => {
                        self.record(result);
                        // Only now, with the result counted in `unwritten`,
                        // may maintenance stop waiting for the probe.
                        drop(in_flight);
                    }
                    None => break,
                },
                written = self.buffer.written(), if writing => self.buffer.finish(written),
                _ = ticker.tick() => self.buffer.request_flush(),
                () = sleep_until(next_write.unwrap_or(now)), if next_write.is_some() => {}
            }
        }
        self.buffer.drain().await
    }

    fn record(&mut self, result: CheckResult) {
        let Some(position) = self.board.position(&result.monitor) else {
            tracing::warn!(monitor = %result.monitor, "result for an unknown monitor dropped");
            return;
        };
        self.metrics
            .observe_lag(schedule::lag(result.due_at, result.started_at));
        self.metrics.observe_evaluation(result.evaluation);

        let mut change = None;
        let mut health_after = result.health;
        self.board.update(position, |view| {
            change = transition(view.status.as_ref(), &result);
            if let Some(change) = &change {
                view.status = Some(change.status_after());
            }
            if let Some(status) = &view.status {
                health_after = status.health;
            }
            view.push(result.clone());
        });
        if let Some(metrics) = self.monitor_metrics.get(position) {
            metrics.record(result.health != Health::Down, health_after, result.latency);
        }
        if let Some(change) = change {
            log_change(&change);
            self.metrics.state_change();
            self.buffer.push_change(change);
        }
        self.buffer.push_result(result);
    }
}

fn log_change(change: &StateChange) {
    let from = change.from.map_or("unknown", |h| h.as_str());
    let reason = change.reason.as_deref().unwrap_or("");
    match change.to {
        Health::Up => tracing::info!(monitor = %change.monitor, from, to = "up", "monitor is up"),
        Health::Degraded => {
            tracing::warn!(monitor = %change.monitor, from, to = "degraded", reason, "monitor is degraded")
        }
        Health::Down => {
            tracing::warn!(monitor = %change.monitor, from, to = "down", reason, "monitor is down")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use watchkeeper_domain::check::MonitorStatus;
    use watchkeeper_domain::id::MonitorId;
    use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};
    use watchkeeper_domain::storage::StorageConfig;

    use super::*;

    fn every(id: &str, interval: Duration) -> Arc<MonitorSpec> {
        Arc::new(MonitorSpec {
            id: MonitorId::parse(id).unwrap(),
            name: id.to_owned(),
            component: None,
            interval,
            timeout: Duration::from_secs(1),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port: 9,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        })
    }

    #[test]
    fn a_minute_of_results_is_the_sum_over_monitors_rounded_up() {
        let monitors = [
            every("a", Duration::from_secs(1)),
            every("b", Duration::from_secs(10)),
            every("c", Duration::from_secs(7)),
            every("d", Duration::from_secs(3600)),
        ];
        // 60 + 6 + ceil(60 / 7) = 9 + one daily result.
        assert_eq!(results_within(WRITE_BUFFER_WINDOW, &monitors), 76);
        let fleet: Vec<_> = (0..10_000)
            .map(|n| every(&format!("m{n}"), Duration::from_secs(10)))
            .collect();
        assert_eq!(results_within(WRITE_BUFFER_WINDOW, &fleet), 60_000);
        assert_eq!(results_within(WRITE_BUFFER_WINDOW, &[]), 0);
    }

    #[test]
    fn unwritten_since_round_trips_and_clears() {
        let unwritten = UnwrittenSince::default();
        assert_eq!(unwritten.get(), None);
        let at: Timestamp = "2026-01-01T09:52:30.123Z".parse().unwrap();
        unwritten.set(Some(at));
        assert_eq!(unwritten.get(), Some(at));
        unwritten.set(None);
        assert_eq!(unwritten.get(), None);
    }

    #[tokio::test]
    async fn gauges_start_from_the_state_loaded_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageConfig::sqlite(dir.path().join("watchkeeper.db")))
            .await
            .unwrap();
        let spec = Arc::new(MonitorSpec {
            id: MonitorId::parse("db").unwrap(),
            name: "db".to_owned(),
            component: None,
            interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port: 5432,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        });
        let mut states = HashMap::new();
        states.insert(
            spec.id.clone(),
            MonitorStatus {
                health: Health::Degraded,
                since: Timestamp::UNIX_EPOCH,
                reason: Some("slow".to_owned()),
            },
        );
        let board = Board::new(std::slice::from_ref(&spec), states, HashMap::new());
        let metrics = Metrics::new();
        let _recorder = Recorder::new(
            RecorderParts {
                store,
                clock: Arc::new(crate::SystemClock::new()),
                board,
                metrics: metrics.clone(),
                health: StoreHealth::new(10),
                unwritten: UnwrittenSince::default(),
                batch_size: 10,
                flush_interval: Duration::from_secs(1),
                buffer_capacity: 10,
            },
            std::slice::from_ref(&spec),
        );
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("watchkeeper_monitor_up{monitor=\"db\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("watchkeeper_monitor_degraded{monitor=\"db\"} 1"),
            "{text}"
        );
    }
}
