//! The outbox's configuration, made from the config's alerting and on-call
//! sections,
//! and its task: built at start, replaced on reload (through a `watch`),
//! supervised like every other task.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use watchkeeper_config::{AlertingConfig, OnCallConfig};
use watchkeeper_domain::alert::slo_tracker::SloSpec;
use watchkeeper_notify::dispatch::DispatchConfig;

/// The dispatcher's view of the alerting and on-call config.
/// `external_url` is where links in notifications point.
pub fn dispatch_config(
    alerting: &AlertingConfig,
    oncall: &OnCallConfig,
    external_url: &str,
) -> DispatchConfig {
    DispatchConfig {
        routes: alerting.routes.clone(),
        inhibitions: alerting.inhibitions.clone(),
        maintenance: alerting.maintenance.clone(),
        notifiers: alerting.notifiers.clone(),
        rules: alerting.rule_set(),
        depends_on: alerting
            .monitors
            .iter()
            .filter(|monitor| !monitor.depends_on.is_empty())
            .map(|monitor| (monitor.monitor.clone(), monitor.depends_on.clone()))
            .collect::<HashMap<_, _>>(),
        external_url: external_url.trim_end_matches('/').to_owned(),
        escalations: oncall.escalations.clone(),
        directory: crate::oncall::directory(oncall),
        link_expiry: oncall.link_expiry,
    }
}

/// The `[[slo]]`s as the evaluator tracks them. They are read at start; a
/// reload that changes them says a restart is needed.
pub fn slo_specs(alerting: &AlertingConfig) -> Vec<SloSpec> {
    alerting
        .slos
        .iter()
        .map(|slo| SloSpec {
            id: slo.id.to_string(),
            monitors: slo.monitors.clone(),
            objective: slo.objective.clone(),
            severity: slo.severity.clone(),
            labels: slo.labels.clone(),
        })
        .collect()
}

/// Where a reload sends the new configuration.
#[derive(Clone)]
pub struct DispatchUpdates {
    sender: Arc<watch::Sender<Arc<DispatchConfig>>>,
    external_url: String,
}

impl DispatchUpdates {
    pub fn new(first: DispatchConfig) -> (Self, watch::Receiver<Arc<DispatchConfig>>) {
        let external_url = first.external_url.clone();
        let (sender, receiver) = watch::channel(Arc::new(first));
        let updates = Self {
            sender: Arc::new(sender),
            external_url,
        };
        (updates, receiver)
    }

    /// Sends the reloaded alerting config, if it changes anything the
    /// outbox uses (an unchanged one does not restart the senders).
    pub fn replace(&self, alerting: &AlertingConfig, oncall: &OnCallConfig) {
        let next = dispatch_config(alerting, oncall, &self.external_url);
        self.sender.send_if_modified(|current| {
            if same(current, &next) {
                return false;
            }
            *current = Arc::new(next);
            true
        });
    }
}

fn same(current: &DispatchConfig, next: &DispatchConfig) -> bool {
    // Rules hold compiled CEL, which has no equality: compare what the
    // dispatcher reads of them.
    let rules = |config: &DispatchConfig| {
        config
            .rules
            .rules
            .iter()
            .map(|rule| {
                (
                    rule.name.clone(),
                    rule.monitors.clone(),
                    rule.annotations.clone(),
                    rule.runbook.clone(),
                    rule.severity.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    format!("{:?}", current.routes) == format!("{:?}", next.routes)
        && current.inhibitions == next.inhibitions
        && current.maintenance == next.maintenance
        && current.notifiers == next.notifiers
        && current.depends_on == next.depends_on
        && current.escalations == next.escalations
        && current.directory == next.directory
        && current.link_expiry == next.link_expiry
        && rules(current) == rules(next)
}

/// Silences made over the API: written to the store, then the dispatcher
/// is told to read them again.
pub struct StoreSilences {
    pub store: watchkeeper_store::Store,
    pub clock: Arc<dyn watchkeeper_domain::clock::Clock>,
    pub changed: std::sync::Arc<watch::Sender<u64>>,
}

impl StoreSilences {
    fn bump(&self) {
        self.changed.send_modify(|generation| *generation += 1);
    }
}

impl watchkeeper_web::SilenceWriter for StoreSilences {
    fn add(
        &self,
        silence: watchkeeper_domain::alert::silence::Silence,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let now = self.clock.wall();
            self.store
                .add_silence(&silence, now)
                .await
                .map_err(|error| error.to_string())?;
            tracing::info!(silence = %silence.id, created_by = %silence.created_by, "silence added");
            self.bump();
            Ok(())
        })
    }

    fn expire(
        &self,
        id: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<bool, String>> + Send + '_>> {
        Box::pin(async move {
            let expired = self
                .store
                .expire_silence(&id, self.clock.wall())
                .await
                .map_err(|error| error.to_string())?;
            if expired {
                tracing::info!(silence = %id, "silence expired");
                self.bump();
            }
            Ok(expired)
        })
    }
}
