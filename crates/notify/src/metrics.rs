//! The outbox's Prometheus metrics, registered in the binary's registry:
//! notifications made and attempts by outcome, per notifier, the
//! deliveries waiting, and escalation levels paged.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NotifierLabels {
    notifier: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AttemptLabels {
    notifier: String,
    /// delivered, retry, failed, disabled; dropped (a subscriber left)
    result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PageLabels {
    policy: String,
    /// From 1.
    level: String,
}

#[derive(Clone, Default)]
pub struct NotifyMetrics {
    pages: Family<PageLabels, Counter>,
    created: Family<NotifierLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    pending: Family<NotifierLabels, Gauge>,
}

impl NotifyMetrics {
    pub fn register(registry: &mut Registry) -> NotifyMetrics {
        let metrics = NotifyMetrics::default();
        registry.register(
            "notifications",
            "Notifications written to the outbox, per notifier",
            metrics.created.clone(),
        );
        registry.register(
            "notification_attempts",
            "Delivery attempts, per notifier and result (delivered, retry, failed, disabled; dropped: a subscriber left)",
            metrics.attempts.clone(),
        );
        registry.register(
            "escalation_pages",
            "Escalation levels paged, per policy and level (each level once per alert firing and round)",
            metrics.pages.clone(),
        );
        registry.register(
            "notifications_pending",
            "Deliveries waiting for an attempt, per notifier",
            metrics.pending.clone(),
        );
        metrics
    }

    pub(crate) fn notification_created(&self, notifier: &str) {
        self.created
            .get_or_create(&NotifierLabels {
                notifier: notifier.to_owned(),
            })
            .inc();
    }

    pub(crate) fn level_paged(&self, policy: &str, level: usize) {
        self.pages
            .get_or_create(&PageLabels {
                policy: policy.to_owned(),
                level: (level + 1).to_string(),
            })
            .inc();
    }

    pub(crate) fn attempt(&self, notifier: &str, result: &str) {
        self.attempts
            .get_or_create(&AttemptLabels {
                notifier: notifier.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// The pending counts as the store has them; notifiers not listed have
    /// none.
    pub(crate) fn set_pending(&self, pending: &[(String, u64)]) {
        self.pending.clear();
        for (notifier, count) in pending {
            self.pending
                .get_or_create(&NotifierLabels {
                    notifier: notifier.clone(),
                })
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }
}
