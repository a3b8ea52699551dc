//! Wiring: a validated `Config` becomes a running [`App`] — store, prober,
//! engine and HTTP server — on a listener the caller bound (so tests bind
//! 127.0.0.1:0). The CLI in `main.rs` is a thin layer over this.
//!
//! [`App::run`] owns every long-running task through one [`Supervisor`]:
//! the engine's scheduler and recorder are fatal (their death ends the run
//! with [`AppError::TaskDied`], exit code 3), maintenance, the HTTP server
//! and the `SIGHUP` listener restart with backoff. The metrics registry is
//! built here and passed to each crate that registers metrics.

pub mod check_command;
pub mod client;
pub mod incidents;
pub mod logging;
pub mod notifications;
pub mod notify_command;
pub mod oncall;
pub mod open_files;
pub mod reload;
pub mod status_page;
pub mod subscriptions;
pub mod token_command;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use watchkeeper_config::Config;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::schedule;
use watchkeeper_engine::{Engine, EngineConfig, EngineControl, EngineHandle, Metrics, Supervisor};
use watchkeeper_runner::Prober;
use watchkeeper_store::Store;
use watchkeeper_web::{AppState, ServerLimits};

use crate::notifications::{DispatchUpdates, dispatch_config};
use crate::reload::{ConfigReloader, StartSettings};
use watchkeeper_engine::slos::{SloEvaluator, SloMetrics};
use watchkeeper_notify::dispatch::DispatchConfig;
use watchkeeper_notify::metrics::NotifyMetrics;
use watchkeeper_notify::outbox::Notifications;
use watchkeeper_notify::retry::RetryPolicy;
use watchkeeper_notify::subscriptions::SubscriptionConfig;
use watchkeeper_notify::subscriptions::sender::Subscriptions;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] watchkeeper_store::StoreError),
    #[error("cannot start the prober: {0}")]
    Runner(#[from] watchkeeper_runner::RunnerError),
    #[error(transparent)]
    Engine(#[from] watchkeeper_engine::EngineError),
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
    #[error("cannot read or make the acknowledgement link key: {0}")]
    LinkKey(String),
    #[error("the HTTP server failed: {0}")]
    Serve(tokio::task::JoinError),
    #[error(
        "{results} results and {state_changes} state changes could not be written to the store before exiting; they are lost"
    )]
    Unwritten {
        results: usize,
        state_changes: usize,
    },
    #[error("the recorder failed; the results it had not written yet are lost")]
    RecorderFailed,
    #[error("the {task} task died ({error}); exiting so the service manager restarts watchkeeper")]
    TaskDied { task: &'static str, error: String },
}

/// A running Watchkeeper: engine started, HTTP server ready to run.
pub struct App {
    listener: Arc<TcpListener>,
    local_addr: SocketAddr,
    state: AppState,
    limits: ServerLimits,
    engine: EngineHandle,
    reloader: Arc<ConfigReloader>,
    supervisor: Supervisor,
    store: Store,
    notifications: Arc<Notifications>,
    dispatch: tokio::sync::watch::Receiver<Arc<DispatchConfig>>,
    silences: tokio::sync::watch::Receiver<u64>,
    slo_evaluator: Arc<SloEvaluator>,
    opener: Arc<watchkeeper_incidents::opener::Opener>,
    incident_settings:
        tokio::sync::watch::Receiver<Arc<watchkeeper_incidents::plan::OpenerSettings>>,
    incident_metrics: incidents::IncidentMetrics,
    incidents_seen: tokio::sync::watch::Receiver<u64>,
    subscriptions: Arc<Subscriptions>,
    subscription_config: tokio::sync::watch::Receiver<Arc<SubscriptionConfig>>,
    clock: Arc<dyn Clock>,
    cancel: CancellationToken,
}

impl App {
    pub async fn build(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        let started = StartSettings::of(&config);
        let (incident_updates, incident_settings) =
            tokio::sync::watch::channel(incidents::opener_settings(&config));
        let (page_updates, page_settings) =
            tokio::sync::watch::channel(status_page::page_settings(&config));
        let own_url = format!(
            "http://{}",
            listener.local_addr().map_err(AppError::Listener)?
        );
        let (subscription_updates, subscription_config) =
            tokio::sync::watch::channel(subscriptions::subscription_config(&config, &own_url));
        let Config {
            server,
            storage,
            probes,
            components: _,
            monitors,
            files,
            alerting,
            oncall,
            api,
            ..
        } = config;
        // Reloads read the main file again.
        let config_path = files.into_iter().next().unwrap_or_default();
        let local_addr = listener.local_addr().map_err(AppError::Listener)?;
        let store = Store::open(&storage).await?;
        let policy = Arc::new(probes.policy.clone());
        let prober = Arc::new(Prober::new(probes.policy, clock.clone())?);
        // The binary's registry; each crate registers its own metrics in it.
        let mut registry = Registry::with_prefix("watchkeeper");
        let metrics = Metrics::register(&mut registry);
        let notify_metrics = NotifyMetrics::register(&mut registry);
        let external_url = format!("http://{local_addr}");
        let (dispatch_updates, dispatch) =
            DispatchUpdates::new(dispatch_config(&alerting, &oncall, &external_url));
        let (quiet, quiet_view) = tokio::sync::watch::channel(Arc::default());
        let (silences_changed, silences) = tokio::sync::watch::channel(0u64);
        let silences_changed = Arc::new(silences_changed);
        let link_key = oncall::link_key(&store).await.map_err(AppError::LinkKey)?;
        let notifications = Arc::new(Notifications {
            link_key: Some(link_key.clone()),
            store: store.clone(),
            clock: clock.clone(),
            policy: policy.clone(),
            retry: RetryPolicy::default(),
            metrics: notify_metrics.clone(),
            quiet,
        });
        let subscription_sender = Arc::new(Subscriptions {
            store: store.clone(),
            clock: clock.clone(),
            policy: policy.clone(),
            retry: RetryPolicy::default(),
            metrics: notify_metrics,
            key: link_key.clone(),
        });
        let subscription_writer = Arc::new(subscriptions::StoreSubscriptions {
            store: store.clone(),
            clock: clock.clone(),
            key: link_key.clone(),
            policy,
            config: subscription_config.clone(),
            asked: Default::default(),
        });
        let (slo_evaluator, slo_board) = SloEvaluator::new(
            store.clone(),
            clock.clone(),
            notifications::slo_specs(&alerting),
            SloMetrics::register(&mut registry),
        );
        let slo_evaluator = Arc::new(slo_evaluator);
        let silence_writer = Arc::new(notifications::StoreSilences {
            store: store.clone(),
            clock: clock.clone(),
            changed: silences_changed.clone(),
        });
        let (oncall_updates, oncall_view) =
            tokio::sync::watch::channel(Arc::new(oncall::directory(&oncall)));
        let override_writer = Arc::new(oncall::StoreOverrides {
            store: store.clone(),
        });
        // Acknowledgements wake the dispatcher as silences do: it reads both again.
        let ack_metrics = oncall::AckMetrics::register(&mut registry);
        let incident_metrics = incidents::IncidentMetrics::register(&mut registry);
        let (incidents_changed, incidents_seen) = tokio::sync::watch::channel(0u64);
        let incidents_changed = Arc::new(incidents_changed);
        let opener = Arc::new(watchkeeper_incidents::opener::Opener {
            store: store.clone(),
            clock: clock.clone(),
            changed: incidents_changed.clone(),
        });
        let incident_writer = Arc::new(incidents::StoreIncidents {
            store: store.clone(),
            changed: incidents_changed.clone(),
        });
        let cancel = CancellationToken::new();
        let supervisor = Supervisor::new(cancel.clone());
        let budget =
            open_files::FileBudget::split(open_files::soft_limit(), server.max_connections);
        let limits = ServerLimits {
            header_timeout: server.header_timeout,
            request_timeout: watchkeeper_web::DEFAULT_REQUEST_TIMEOUT,
            max_connections: budget.http_connections,
        };
        tracing::info!(
            max_connections = limits.max_connections,
            automatic = server.max_connections.is_none(),
            header_timeout = ?limits.header_timeout,
            open_files = budget.limit,
            "HTTP connections are bounded"
        );
        if budget.overcommitted() {
            tracing::warn!(
                max_connections = limits.max_connections,
                open_files = budget.limit,
                "[server] max_connections is more than the open-files limit leaves; accepting will fail with too many open files before the cap"
            );
        }
        let concurrency = probes.concurrency.unwrap_or_else(|| {
            schedule::automatic_concurrency(
                monitors.iter().map(|monitor| monitor.as_ref()),
                budget.probes,
            )
        });
        tracing::info!(
            monitors = monitors.len(),
            concurrency,
            automatic = probes.concurrency.is_none(),
            "probes in flight are bounded"
        );
        let mut engine_config = EngineConfig::new(monitors);
        engine_config.alert_rules = alerting.rule_set();
        engine_config.concurrency = concurrency;
        engine_config.raw_retention = storage.raw_retention;
        engine_config.rollup_retention = storage.rollup_retention;
        let engine = Engine::start_supervised(
            engine_config,
            prober,
            store.clone(),
            clock.clone(),
            metrics,
            cancel.child_token(),
            &supervisor,
        )
        .await?;
        let control = engine.control();
        let ack_writer = Arc::new(oncall::StoreAcks {
            store: store.clone(),
            changed: silences_changed.clone(),
            key: tokio::sync::OnceCell::new_with(Some(link_key)),
            metrics: ack_metrics,
            engine: control.external_results(),
            incidents_changed,
        });
        let reloader = Arc::new(
            ConfigReloader::new(
                config_path,
                control.clone(),
                started,
                dispatch_updates,
                oncall_updates,
                incident_updates,
                page_updates,
            )
            .with_subscriptions(subscription_updates, own_url),
        );
        let state = AppState::new(
            control.board(),
            store.clone(),
            Arc::new(registry),
            control.health(),
            clock.clone(),
            server.region,
        )
        .with_public_read(api.public_read)
        .with_rate_limits(watchkeeper_web::rate_limit::RateLimits::new(
            server.requests_per_second,
            server.auth_failures_per_minute,
        ))
        .with_reloader(reloader.clone())
        .with_silences(silence_writer)
        .with_quiet(quiet_view)
        .with_slos(slo_board)
        .with_oncall(oncall_view)
        .with_overrides(override_writer)
        .with_acks(ack_writer)
        .with_incidents(incident_writer, incident_settings.clone())
        .with_status_page(page_settings)
        .with_subscriptions(subscription_writer);
        Ok(App {
            listener: Arc::new(listener),
            local_addr,
            state,
            limits,
            engine,
            reloader,
            supervisor,
            store,
            notifications,
            dispatch,
            silences,
            slo_evaluator,
            opener,
            incident_settings,
            incident_metrics,
            incidents_seen,
            subscriptions: subscription_sender,
            subscription_config,
            clock,
            cancel,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Replaces the notifications' retry policy before the app runs (tests
    /// shorten its delays).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        if let Some(notifications) = Arc::get_mut(&mut self.notifications) {
            notifications.retry = retry;
        }
        if let Some(subscriptions) = Arc::get_mut(&mut self.subscriptions) {
            subscriptions.retry = retry;
        }
        self
    }

    /// The running engine: board, health, outside results, reloads.
    pub fn engine(&self) -> EngineControl {
        self.engine.control()
    }

    /// The supervisor of every task (tests use its kill hook).
    pub fn supervisor(&self) -> Supervisor {
        self.supervisor.clone()
    }

    /// Serves until `shutdown` completes (or a fatal task dies), then stops
    /// the HTTP server, lets probes in flight finish, flushes results and
    /// closes the store. Results or state changes that could not be written
    /// by then are an error ([`AppError::Unwritten`]), so the process does
    /// not exit 0 having lost them; so is a dead task
    /// ([`AppError::TaskDied`]).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AppError> {
        let App {
            listener,
            local_addr,
            state,
            limits,
            engine,
            reloader,
            supervisor,
            store,
            notifications,
            dispatch,
            silences,
            slo_evaluator,
            opener,
            incident_settings,
            incident_metrics,
            incidents_seen,
            subscriptions,
            subscription_config,
            clock,
            cancel,
        } = self;
        tracing::info!(address = %local_addr, "watchkeeper is serving http://{local_addr}/");
        let server_cancel = cancel.clone();
        let server = supervisor.spawn_restarting("http", move || {
            watchkeeper_web::serve(
                listener.clone(),
                state.clone(),
                limits,
                server_cancel.clone(),
            )
        });
        let events = engine.control().committed_alert_events();
        let notify_cancel = cancel.clone();
        let notify = supervisor.spawn_restarting("notifications", move || {
            notifications.clone().run(
                dispatch.clone(),
                events.clone(),
                silences.clone(),
                notify_cancel.clone(),
            )
        });
        let opener_events = engine.control().committed_alert_events();
        let opener_cancel = cancel.clone();
        let opener_task = supervisor.spawn_restarting("incidents", move || {
            let run = opener.clone().run(
                incident_settings.clone(),
                opener_events.clone(),
                opener_cancel.clone(),
            );
            async move {
                if let Err(error) = run.await {
                    tracing::error!(error = %error, "incidents stopped; they start again from the store");
                }
            }
        });
        let metrics_cancel = cancel.clone();
        let metrics_store = store.clone();
        let incident_metrics_task = supervisor.spawn_restarting("incident-metrics", move || {
            incident_metrics.clone().run(
                metrics_store.clone(),
                clock.clone(),
                incidents_seen.clone(),
                metrics_cancel.clone(),
            )
        });
        let subscriptions_cancel = cancel.clone();
        let subscriptions_task = supervisor.spawn_restarting("subscriptions", move || {
            subscriptions
                .clone()
                .run(subscription_config.clone(), subscriptions_cancel.clone())
        });
        let slo_cancel = cancel.clone();
        let slos = supervisor.spawn_restarting("slos", move || {
            slo_evaluator.clone().run(slo_cancel.clone())
        });
        let signal_cancel = cancel.clone();
        let signal = supervisor.spawn_restarting("reload-signal", move || {
            reload_on_sighup(reloader.clone(), signal_cancel.clone())
        });
        let death = tokio::select! {
            () = shutdown => None,
            () = cancel.cancelled() => None,
            death = supervisor.died() => Some(death),
        };
        tracing::info!("shutting down: finishing probes in flight and flushing results");
        cancel.cancel();
        let report = engine.shutdown().await;
        let served = server.await;
        let _ = notify.await;
        let _ = slos.await;
        let _ = opener_task.await;
        let _ = incident_metrics_task.await;
        let _ = subscriptions_task.await;
        let _ = signal.await;
        store.close().await;
        tracing::info!("shutdown complete");
        if let Some(death) = death.or_else(|| supervisor.first_death()) {
            return Err(AppError::TaskDied {
                task: death.task,
                error: death.error,
            });
        }
        if report.recorder_failed {
            return Err(AppError::RecorderFailed);
        }
        if !report.is_clean() {
            return Err(AppError::Unwritten {
                results: report.unwritten_results,
                state_changes: report.unwritten_state_changes + report.unwritten_alert_changes,
            });
        }
        served.map_err(AppError::Serve)
    }
}

/// Reloads the config on every `SIGHUP` until `stop`.
async fn reload_on_sighup(reloader: Arc<ConfigReloader>, stop: CancellationToken) {
    #[cfg(unix)]
    {
        let mut hangups = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::hangup(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGHUP; reload with POST /-/reload");
                stop.cancelled().await;
                return;
            }
        };
        loop {
            tokio::select! {
                received = hangups.recv() => {
                    if received.is_none() {
                        stop.cancelled().await;
                        return;
                    }
                    let _ = reloader.reload().await;
                }
                () = stop.cancelled() => return,
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = reloader;
        stop.cancelled().await;
    }
}

/// Completes when `signal` arrives; never without a handler.
#[cfg(unix)]
async fn wait_for(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this
/// is called, not when the future is first polled: a signal sent as soon
/// as `serve` says it listens is not lost (nor does it kill the process
/// with the default action). Call it inside the runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind: SignalKind, name: &'static str| match signal(kind) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::error!(error = %error, signal = name, "cannot listen for the signal");
                None
            }
        };
        (
            install(SignalKind::interrupt(), "SIGINT"),
            install(SignalKind::terminate(), "SIGTERM"),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let (interrupt, terminate) = signals;
            tokio::select! {
                () = wait_for(interrupt) => {}
                () = wait_for(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    }
}
