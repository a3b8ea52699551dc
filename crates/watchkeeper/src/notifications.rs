//! The outbox's configuration, made from the config's alerting sections,
//! and its task: built at start, replaced on reload (through a `watch`),
//! supervised like every other task.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::watch;
use watchkeeper_config::AlertingConfig;
use watchkeeper_notify::dispatch::DispatchConfig;

/// The dispatcher's view of the alerting config. `external_url` is where
/// links in notifications point.
pub fn dispatch_config(alerting: &AlertingConfig, external_url: &str) -> DispatchConfig {
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
    }
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
    pub fn replace(&self, alerting: &AlertingConfig) {
        let next = dispatch_config(alerting, &self.external_url);
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
        && rules(current) == rules(next)
}
