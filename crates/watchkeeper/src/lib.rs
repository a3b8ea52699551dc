//! Wiring: a validated `Config` becomes a running [`App`] — store, prober,
//! engine and HTTP server — on a listener the caller bound (so tests bind
//! 127.0.0.1:0). The CLI in `main.rs` is a thin layer over this.

pub mod check_command;
pub mod logging;
pub mod open_files;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use watchkeeper_config::Config;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::schedule;
use watchkeeper_engine::{Engine, EngineConfig, EngineHandle, Metrics};
use watchkeeper_runner::Prober;
use watchkeeper_store::Store;
use watchkeeper_web::{AppState, ServerLimits};

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
}

/// A running Watchkeeper: engine started, HTTP server ready to run.
pub struct App {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
    limits: ServerLimits,
    engine: EngineHandle,
    store: Store,
    cancel: CancellationToken,
}

impl App {
    pub async fn build(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        let Config {
            server,
            storage,
            probes,
            components: _,
            monitors,
            files: _,
            ..
        } = config;
        let local_addr = listener.local_addr().map_err(AppError::Listener)?;
        let store = Store::open(&storage).await?;
        let prober = Arc::new(Prober::new(probes.policy, clock.clone())?);
        let metrics = Metrics::new();
        let cancel = CancellationToken::new();
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
        engine_config.concurrency = concurrency;
        engine_config.raw_retention = storage.raw_retention;
        engine_config.rollup_retention = storage.rollup_retention;
        let engine = Engine::start(
            engine_config,
            prober,
            store.clone(),
            clock.clone(),
            metrics.clone(),
            cancel.child_token(),
        )
        .await?;
        let state = AppState::new(
            engine.board(),
            store.clone(),
            metrics,
            engine.store_health(),
            clock,
            server.region,
        );
        Ok(App {
            listener,
            local_addr,
            state,
            limits,
            engine,
            store,
            cancel,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops the HTTP server, lets
    /// probes in flight finish, flushes results and closes the store. Results
    /// or state changes that could not be written by then are an error
    /// ([`AppError::Unwritten`]), so the process does not exit 0 having lost
    /// them.
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
            store,
            cancel,
        } = self;
        tracing::info!(address = %local_addr, "watchkeeper is serving http://{local_addr}/");
        let server_cancel = cancel.clone();
        let server = tokio::spawn(watchkeeper_web::serve(
            listener,
            state,
            limits,
            server_cancel,
        ));
        tokio::select! {
            () = shutdown => {}
            () = cancel.cancelled() => {}
        }
        tracing::info!("shutting down: finishing probes in flight and flushing results");
        cancel.cancel();
        let report = engine.shutdown().await;
        let served = server.await;
        store.close().await;
        tracing::info!("shutdown complete");
        if report.recorder_failed {
            return Err(AppError::RecorderFailed);
        }
        if !report.is_clean() {
            return Err(AppError::Unwritten {
                results: report.unwritten_results,
                state_changes: report.unwritten_state_changes,
            });
        }
        served.map_err(AppError::Serve)
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(error = %error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
