//! The `[[slo]]`s at run time: each SLO's events per minute read from the
//! rollups (the whole period at start, the last 15 minutes each minute
//! after, so a minute rolled up late is counted), evaluated once a minute
//! by `domain::alert::slo_tracker`, their budget and burn rates published
//! (for `/api/v1/slos` and `/metrics`), and their burn-rate alerts' changes
//! written to the store as every alert's are. The notification dispatcher
//! finds those changes at its next look (at most 10 s later), since they
//! do not come with a result.
//!
//! Burn rates come from rolled-up minutes only, so a burst is seen a
//! minute or two after it starts: the short windows (5 m, 30 m) are there
//! to stop paging quickly after a recovery, which minutes serve well.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::alert::slo::Events;
use watchkeeper_domain::alert::slo_tracker::{SLO, SloSpec, SloStatus, SloTracker};
use watchkeeper_domain::clock::Clock;
use watchkeeper_store::{Batch, Store, StoreError};

/// How often SLOs are evaluated.
const EVERY: Duration = Duration::from_secs(60);
/// How far back each evaluation reads the rollups again.
const REFRESH: SignedDuration = SignedDuration::from_mins(15);

/// What `/api/v1/slos` shows: each SLO's last status.
pub type SloBoard = watch::Receiver<Arc<Vec<SloStatus>>>;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SloLabels {
    slo: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct WindowLabels {
    slo: String,
    window: String,
}

#[derive(Clone, Default)]
pub struct SloMetrics {
    remaining: Family<SloLabels, Gauge<f64, AtomicU64>>,
    achieved: Family<SloLabels, Gauge<f64, AtomicU64>>,
    burn_rate: Family<WindowLabels, Gauge<f64, AtomicU64>>,
}

impl SloMetrics {
    pub fn register(registry: &mut Registry) -> SloMetrics {
        let metrics = SloMetrics::default();
        registry.register(
            "slo_error_budget_remaining",
            "Fraction of each SLO's error budget not yet spent over its period (1 untouched, below 0 overspent)",
            metrics.remaining.clone(),
        );
        registry.register(
            "slo_achieved",
            "Good fraction of each SLO's events over its period",
            metrics.achieved.clone(),
        );
        registry.register(
            "slo_burn_rate",
            "Burn rate of each SLO's budget over a window (1 spends it exactly over the period)",
            metrics.burn_rate.clone(),
        );
        metrics
    }

    fn publish(&self, status: &SloStatus) {
        let slo = SloLabels {
            slo: status.id.clone(),
        };
        self.remaining
            .get_or_create(&slo)
            .set(status.budget.remaining);
        if let Some(achieved) = status.budget.achieved {
            self.achieved.get_or_create(&slo).set(achieved);
        }
        for (window, rate) in &status.burn_rates {
            self.burn_rate
                .get_or_create(&WindowLabels {
                    slo: status.id.clone(),
                    window: format!("{}m", window.as_mins()),
                })
                .set(*rate);
        }
    }
}

pub struct SloEvaluator {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub specs: Vec<SloSpec>,
    pub metrics: SloMetrics,
    pub board: watch::Sender<Arc<Vec<SloStatus>>>,
}

impl SloEvaluator {
    /// A board to read and an evaluator that publishes on it.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        specs: Vec<SloSpec>,
        metrics: SloMetrics,
    ) -> (SloEvaluator, SloBoard) {
        let (board, view) = watch::channel(Arc::new(Vec::new()));
        (
            SloEvaluator {
                store,
                clock,
                specs,
                metrics,
                board,
            },
            view,
        )
    }

    /// Evaluates every minute until `cancel`; returns on a store error
    /// (the supervisor starts it again, from the store).
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        if self.specs.is_empty() {
            cancel.cancelled().await;
            return;
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            ended = self.evaluate_forever() => {
                if let Err(error) = ended {
                    tracing::error!(error = %error, "SLO evaluation stopped; it starts again from the store");
                }
            }
        }
    }

    async fn evaluate_forever(&self) -> Result<(), StoreError> {
        let mut trackers = self.start().await?;
        loop {
            self.step(&mut trackers).await?;
            tokio::time::sleep(EVERY).await;
        }
    }

    /// The trackers, their alerts' states from the store and their minutes
    /// from the rollups over each period.
    pub async fn start(&self) -> Result<Vec<SloTracker>, StoreError> {
        let stored: HashMap<String, _> = self
            .store
            .alerts()
            .await?
            .into_iter()
            .filter(|alert| alert.labels.contains_key(SLO))
            .map(|alert| (alert.fingerprint.clone(), alert.state))
            .collect();
        let mut trackers: Vec<SloTracker> = self
            .specs
            .iter()
            .map(|spec| SloTracker::new(spec.clone(), |fp| stored.get(fp).cloned()))
            .collect();
        let now = self.clock.now();
        for tracker in &mut trackers {
            let period = tracker.spec().objective.period;
            self.fill(
                tracker,
                now.checked_sub(period).unwrap_or(Timestamp::MIN),
                now,
            )
            .await?;
        }
        Ok(trackers)
    }

    /// One evaluation: the last minutes read again, every SLO evaluated,
    /// its alerts' changes written, the statuses published and returned.
    pub async fn step(&self, trackers: &mut [SloTracker]) -> Result<Vec<SloStatus>, StoreError> {
        let now = self.clock.now();
        for tracker in trackers.iter_mut() {
            self.fill(tracker, now.checked_sub(REFRESH).unwrap_or(now), now)
                .await?;
        }
        let mut statuses = Vec::new();
        let mut changes = Vec::new();
        for tracker in trackers.iter_mut() {
            let (status, mut changed) = tracker.evaluate(now);
            self.metrics.publish(&status);
            statuses.push(status);
            changes.append(&mut changed);
        }
        if !changes.is_empty() {
            self.store
                .write(Batch {
                    results: &[],
                    changes: &[],
                    alerts: &changes,
                })
                .await?;
            for change in &changes {
                tracing::warn!(
                    alert = %change.fingerprint,
                    slo = %change.labels.get(SLO).map_or("", String::as_str),
                    transition = change.transition.as_str(),
                    reason = change.reason.as_deref().unwrap_or(""),
                    "SLO burn-rate alert"
                );
            }
        }
        self.board.send_replace(Arc::new(statuses.clone()));
        Ok(statuses)
    }

    /// Reads the tracker's monitors' rollups over `[from, to)` and sets
    /// each minute's events, all monitors together.
    async fn fill(
        &self,
        tracker: &mut SloTracker,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(), StoreError> {
        let indicator = tracker.spec().objective.indicator;
        let mut minutes: BTreeMap<Timestamp, Events> = BTreeMap::new();
        for monitor in tracker.spec().monitors.clone() {
            for rollup in self.store.rollups(&monitor, from, to).await? {
                match Events::of_rollup(&rollup, indicator) {
                    Ok(events) => minutes.entry(rollup.minute).or_default().add(events),
                    Err(error) => {
                        tracing::warn!(monitor = %monitor, minute = %rollup.minute, error = %error, "a rollup's histogram cannot be read; its minute is left out of the SLO");
                    }
                }
            }
        }
        for (minute, events) in minutes {
            tracker.set_minute(minute, events);
        }
        Ok(())
    }
}
