//! Reload without restart: `SIGHUP` and `POST /-/reload` both call
//! [`ConfigReloader::reload`]. It loads and validates the config file again;
//! an invalid one leaves the running config untouched, and every error is
//! logged with its position and returned. A valid one's monitors are applied
//! to the running engine (`EngineControl::reload`); settings that apply only
//! at start are compared with the running ones and reported, never silently
//! ignored ([`restart_required`]).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use watchkeeper_config::{ApiConfig, Config, ProbesConfig, ServerConfig, StorageConfig};
use watchkeeper_domain::alert::slo_tracker::SloSpec;
use watchkeeper_engine::EngineControl;
use watchkeeper_web::{ReloadApplied, ReloadOutcome, Reloader};

use crate::notifications::DispatchUpdates;

/// The settings the process started with that a reload cannot change.
#[derive(Debug, Clone, PartialEq)]
pub struct StartSettings {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub probes: ProbesConfig,
    /// The SLOs the evaluator tracks, read at start.
    pub slos: Vec<SloSpec>,
    pub api: ApiConfig,
}

impl StartSettings {
    pub fn of(config: &Config) -> Self {
        Self {
            server: config.server.clone(),
            storage: config.storage.clone(),
            probes: config.probes.clone(),
            slos: crate::notifications::slo_specs(&config.alerting),
            api: config.api,
        }
    }
}

pub struct ConfigReloader {
    /// The main config file, as given at start.
    path: PathBuf,
    engine: EngineControl,
    started: StartSettings,
    dispatch: DispatchUpdates,
    /// The people and schedules the API reads, replaced on every reload.
    oncall: tokio::sync::watch::Sender<std::sync::Arc<watchkeeper_domain::oncall::Directory>>,
    /// The incident policy, templates and names, replaced on every reload.
    incidents:
        tokio::sync::watch::Sender<std::sync::Arc<watchkeeper_incidents::plan::OpenerSettings>>,
    /// The status page's settings, replaced on every reload.
    page: tokio::sync::watch::Sender<
        std::sync::Arc<watchkeeper_web::status_page::model::PageSettings>,
    >,
    /// How subscribers are served, replaced on every reload, with the
    /// server's own address for links when `[status_page] url` is unset.
    subscriptions: Option<(
        tokio::sync::watch::Sender<
            std::sync::Arc<watchkeeper_notify::subscriptions::SubscriptionConfig>,
        >,
        String,
    )>,
}

impl ConfigReloader {
    pub fn new(
        path: PathBuf,
        engine: EngineControl,
        started: StartSettings,
        dispatch: DispatchUpdates,
        oncall: tokio::sync::watch::Sender<std::sync::Arc<watchkeeper_domain::oncall::Directory>>,
        incidents: tokio::sync::watch::Sender<
            std::sync::Arc<watchkeeper_incidents::plan::OpenerSettings>,
        >,
        page: tokio::sync::watch::Sender<
            std::sync::Arc<watchkeeper_web::status_page::model::PageSettings>,
        >,
    ) -> Self {
        Self {
            path,
            engine,
            started,
            dispatch,
            oncall,
            incidents,
            page,
            subscriptions: None,
        }
    }

    /// Replaces the subscriptions' config on every reload too.
    pub fn with_subscriptions(
        mut self,
        updates: tokio::sync::watch::Sender<
            std::sync::Arc<watchkeeper_notify::subscriptions::SubscriptionConfig>,
        >,
        own_url: String,
    ) -> Self {
        self.subscriptions = Some((updates, own_url));
        self
    }

    /// Loads the config again and applies it; see the module docs.
    pub async fn reload(&self) -> ReloadOutcome {
        tracing::info!(config = %self.path.display(), "reloading the configuration");
        let path = self.path.clone();
        // Reading files and compiling conditions: off the async runtime.
        let loaded =
            match tokio::task::spawn_blocking(move || watchkeeper_config::load(&path)).await {
                Ok(loaded) => loaded,
                Err(error) => {
                    tracing::error!(error = %error, "loading the configuration failed");
                    return ReloadOutcome::Failed {
                        error: format!("loading the configuration failed: {error}"),
                    };
                }
            };
        let config = match loaded {
            Ok(config) => config,
            Err(errors) => {
                for error in errors.iter() {
                    tracing::error!(error = %error, "invalid configuration; the running one is kept");
                }
                return ReloadOutcome::Rejected {
                    errors: errors.iter().map(ToString::to_string).collect(),
                };
            }
        };
        let restart_required = restart_required(&self.started, &StartSettings::of(&config));
        for setting in &restart_required {
            tracing::warn!(
                setting = %setting,
                "this setting changed, but applies only after a restart; the running value is kept"
            );
        }
        match self
            .engine
            .reload(config.monitors.clone(), Some(config.alerting.rule_set()))
            .await
        {
            Ok(plan) => {
                self.dispatch.replace(&config.alerting, &config.oncall);
                self.oncall
                    .send_replace(std::sync::Arc::new(crate::oncall::directory(
                        &config.oncall,
                    )));
                self.incidents
                    .send_replace(crate::incidents::opener_settings(&config));
                self.page
                    .send_replace(crate::status_page::page_settings(&config));
                if let Some((subscriptions, own_url)) = &self.subscriptions {
                    subscriptions
                        .send_replace(crate::subscriptions::subscription_config(&config, own_url));
                }
                ReloadOutcome::Applied(ReloadApplied {
                    added: plan.added.iter().map(ToString::to_string).collect(),
                    removed: plan.removed.iter().map(ToString::to_string).collect(),
                    changed: plan.changed.iter().map(|c| c.id.to_string()).collect(),
                    unchanged: plan.unchanged,
                    restart_required,
                })
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot apply the reloaded configuration");
                ReloadOutcome::Failed {
                    error: error.to_string(),
                }
            }
        }
    }
}

impl Reloader for ConfigReloader {
    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>> {
        Box::pin(ConfigReloader::reload(self))
    }
}

/// The settings that differ between the running config and a new one but
/// apply only at start, as `[section] key`.
pub fn restart_required(running: &StartSettings, new: &StartSettings) -> Vec<String> {
    let StartSettings {
        server:
            ServerConfig {
                listen,
                region,
                header_timeout,
                max_connections,
                requests_per_second,
                auth_failures_per_minute,
            },
        storage:
            StorageConfig {
                database,
                raw_retention,
                rollup_retention,
            },
        probes: ProbesConfig {
            policy,
            concurrency,
        },
        slos,
        api: ApiConfig { public_read },
    } = running;
    let mut changed = Vec::new();
    let mut check = |differs: bool, key: &str| {
        if differs {
            changed.push(key.to_owned());
        }
    };
    check(*listen != new.server.listen, "[server] listen");
    check(*region != new.server.region, "[server] region");
    check(
        *header_timeout != new.server.header_timeout,
        "[server] header_timeout",
    );
    check(
        *max_connections != new.server.max_connections,
        "[server] max_connections",
    );
    check(
        *requests_per_second != new.server.requests_per_second,
        "[server] requests_per_second",
    );
    check(
        *auth_failures_per_minute != new.server.auth_failures_per_minute,
        "[server] auth_failures_per_minute",
    );
    check(*database != new.storage.database, "[storage] url");
    check(
        *raw_retention != new.storage.raw_retention,
        "[storage] raw_retention",
    );
    check(
        *rollup_retention != new.storage.rollup_retention,
        "[storage] rollup_retention",
    );
    check(*policy != new.probes.policy, "[probes] allow");
    check(
        *concurrency != new.probes.concurrency,
        "[probes] concurrency",
    );
    check(*slos != new.slos, "[[slo]]");
    check(*public_read != new.api.public_read, "[api] public_read");
    changed
}
