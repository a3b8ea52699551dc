//! The engine's Prometheus metrics (`GET /metrics`), registered in the
//! registry the binary owns and passes in (each crate registers its own;
//! the binary gives the registry the `watchkeeper` prefix). Per-monitor
//! handles are created when a monitor starts (at start or on reload), so
//! recording a result costs a few atomic operations and no allocation or
//! map lookup; a monitor removed by a reload takes its series with it.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MonitorLabels {
    monitor: String,
}

/// Scheduling lag: 100 µs to ~6.5 s.
fn lag_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 17)
}

#[derive(Clone)]
pub struct Metrics {
    inner: Arc<MetricsInner>,
}

struct MetricsInner {
    probe_success: Family<MonitorLabels, Gauge>,
    monitor_up: Family<MonitorLabels, Gauge>,
    monitor_degraded: Family<MonitorLabels, Gauge>,
    probe_duration: Family<MonitorLabels, Gauge<f64, AtomicU64>>,
    scheduler_lag: Histogram,
    condition_evaluation: Histogram,
    probes_started: Counter,
    probes_skipped: Counter,
    results_written: Counter,
    results_buffered: Gauge,
    results_dropped: Counter,
    store_errors: Counter,
    state_changes: Counter,
    monitors: Gauge,
    rollup_rows: Counter,
    pruned_rows: Counter,
    recent_saves: Counter,
    store_size: Gauge<f64, AtomicU64>,
}

/// One monitor's metric handles, created once.
#[derive(Clone)]
pub struct MonitorMetrics {
    probe_success: Gauge,
    monitor_up: Gauge,
    monitor_degraded: Gauge,
    probe_duration: Gauge<f64, AtomicU64>,
}

impl Metrics {
    /// Registers the engine's metrics in `registry`.
    pub fn register(registry: &mut Registry) -> Self {
        let probe_success = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "probe_success",
            "Whether the monitor's last probe passed its expect conditions (1) or not (0)",
            probe_success.clone(),
        );
        let monitor_up = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "monitor_up",
            "Whether the monitor is up or degraded (1) or down (0)",
            monitor_up.clone(),
        );
        let monitor_degraded = Family::<MonitorLabels, Gauge>::default();
        registry.register(
            "monitor_degraded",
            "Whether the monitor is degraded (1): it works but meets a degraded_if condition",
            monitor_degraded.clone(),
        );
        // A gauge, as blackbox_exporter exports it: a histogram per monitor
        // is 19 series each (230,000 lines and 16 MB per scrape at 10,000
        // monitors); latency percentiles per minute are in the rollups.
        let probe_duration = Family::<MonitorLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "probe_duration_seconds",
            "How long the monitor's last probe took",
            probe_duration.clone(),
        );
        let scheduler_lag = Histogram::new(lag_buckets());
        registry.register(
            "scheduler_lag_seconds",
            "Actual probe start minus due time",
            scheduler_lag.clone(),
        );
        // 10 µs to about 1.3 s: a condition's runtime budget is about half
        // a second
        let condition_evaluation = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.00001, 2.0, 18),
        );
        registry.register(
            "condition_evaluation_seconds",
            "Time spent judging an answer with its monitor's conditions",
            condition_evaluation.clone(),
        );
        let probes_started = Counter::default();
        registry.register("probes_started", "Probes started", probes_started.clone());
        let probes_skipped = Counter::default();
        registry.register(
            "probes_skipped",
            "Due probes not started because the previous probe of the same monitor was still running, or the process fell behind",
            probes_skipped.clone(),
        );
        let results_written = Counter::default();
        registry.register(
            "results_written",
            "Check results written to the store",
            results_written.clone(),
        );
        let results_buffered = Gauge::default();
        registry.register(
            "results_buffered",
            "Check results taken from probes and not yet written to the store (in the write buffer or a write in flight)",
            results_buffered.clone(),
        );
        let results_dropped = Counter::default();
        registry.register(
            "results_dropped",
            "Check results dropped unwritten because the store kept failing while the write buffer was full",
            results_dropped.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "store_errors",
            "Failed store operations (writes are retried)",
            store_errors.clone(),
        );
        let state_changes = Counter::default();
        registry.register(
            "state_changes",
            "Monitor state changes recorded",
            state_changes.clone(),
        );
        let monitors = Gauge::default();
        registry.register("monitors", "Configured monitors", monitors.clone());
        let rollup_rows = Counter::default();
        registry.register(
            "rollup_rows",
            "Per-minute rollup rows written",
            rollup_rows.clone(),
        );
        let pruned_rows = Counter::default();
        registry.register(
            "pruned_rows",
            "Raw results and rollups deleted by retention",
            pruned_rows.clone(),
        );
        let recent_saves = Counter::default();
        registry.register(
            "recent_results_saves",
            "Times every monitor's recent results were saved to the store (every 5 minutes and at shutdown)",
            recent_saves.clone(),
        );
        let store_size = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "store_size_bytes",
            "Size of the database as of the last maintenance run",
            store_size.clone(),
        );
        Self {
            inner: Arc::new(MetricsInner {
                probe_success,
                monitor_up,
                monitor_degraded,
                probe_duration,
                scheduler_lag,
                condition_evaluation,
                probes_started,
                probes_skipped,
                results_written,
                results_buffered,
                results_dropped,
                store_errors,
                state_changes,
                monitors,
                rollup_rows,
                pruned_rows,
                recent_saves,
                store_size,
            }),
        }
    }

    pub fn for_monitor(&self, spec: &MonitorSpec) -> MonitorMetrics {
        let labels = MonitorLabels {
            monitor: spec.id.to_string(),
        };
        MonitorMetrics {
            probe_success: self.inner.probe_success.get_or_create_owned(&labels),
            monitor_up: self.inner.monitor_up.get_or_create_owned(&labels),
            monitor_degraded: self.inner.monitor_degraded.get_or_create_owned(&labels),
            probe_duration: self.inner.probe_duration.get_or_create_owned(&labels),
        }
    }

    /// Drops a removed monitor's series, so `/metrics` stops exporting it.
    pub fn remove_monitor(&self, id: &MonitorId) {
        let labels = MonitorLabels {
            monitor: id.to_string(),
        };
        self.inner.probe_success.remove(&labels);
        self.inner.monitor_up.remove(&labels);
        self.inner.monitor_degraded.remove(&labels);
        self.inner.probe_duration.remove(&labels);
    }

    pub fn observe_lag(&self, lag: Duration) {
        self.inner.scheduler_lag.observe(lag.as_secs_f64());
    }

    pub fn observe_evaluation(&self, evaluation: Duration) {
        self.inner
            .condition_evaluation
            .observe(evaluation.as_secs_f64());
    }

    pub fn probe_started(&self) {
        self.inner.probes_started.inc();
    }

    pub fn probe_skipped(&self, count: u64) {
        self.inner.probes_skipped.inc_by(count);
    }

    pub fn results_written(&self, count: usize) {
        self.inner.results_written.inc_by(count as u64);
    }

    pub fn set_results_buffered(&self, count: usize) {
        self.inner
            .results_buffered
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn results_dropped(&self, count: usize) {
        self.inner.results_dropped.inc_by(count as u64);
    }

    pub fn store_error(&self) {
        self.inner.store_errors.inc();
    }

    pub fn state_change(&self) {
        self.inner.state_changes.inc();
    }

    pub fn set_monitor_count(&self, count: usize) {
        self.inner
            .monitors
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    pub fn rollup_rows(&self, count: u64) {
        self.inner.rollup_rows.inc_by(count);
    }

    pub fn pruned_rows(&self, count: u64) {
        self.inner.pruned_rows.inc_by(count);
    }

    pub fn recent_results_saved(&self) {
        self.inner.recent_saves.inc();
    }

    pub fn set_store_size(&self, bytes: u64) {
        self.inner.store_size.set(bytes as f64);
    }
}

impl MonitorMetrics {
    /// Sets the gauges from the state loaded at start, so a restart does
    /// not export every monitor as down until its next probe.
    /// `last`: whether the last stored result passed, and how long it took.
    pub fn restore(&self, last: Option<(bool, Duration)>, health: Health) {
        if let Some((passed, latency)) = last {
            self.probe_success.set(i64::from(passed));
            self.probe_duration.set(latency.as_secs_f64());
        }
        self.monitor_up.set(i64::from(health != Health::Down));
        self.monitor_degraded
            .set(i64::from(health == Health::Degraded));
    }

    /// `passed`: the probe met its expect conditions; `health`: the
    /// monitor's state after this result.
    pub fn record(&self, passed: bool, health: Health, latency: Duration) {
        self.probe_success.set(i64::from(passed));
        self.monitor_up.set(i64::from(health != Health::Down));
        self.monitor_degraded
            .set(i64::from(health == Health::Degraded));
        self.probe_duration.set(latency.as_secs_f64());
    }
}

/// The text exposition of `registry`, for tests that read metrics back.
#[cfg(test)]
pub(crate) fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
    out
}

/// A registry with the binary's prefix and the engine's metrics in it.
#[cfg(test)]
pub(crate) fn for_tests() -> (Registry, Metrics) {
    let mut registry = Registry::with_prefix("watchkeeper");
    let metrics = Metrics::register(&mut registry);
    (registry, metrics)
}
