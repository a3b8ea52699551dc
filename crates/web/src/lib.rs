//! Watchkeeper's HTTP surface (axum): `/health`, `/metrics`, the read
//! API under `/api/v1` and `POST /-/reload`. Wire types live here, not in `domain`, so the JSON
//! contract can stay stable while the model evolves. Authentication comes
//! with a later issue; until then `serve` binds 127.0.0.1 by default.
//! `server` serves them with a header timeout, a request timeout and a cap
//! on open connections.

pub mod api;
mod error;
mod health;
mod reload;
mod server;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::clock::Clock;
use watchkeeper_engine::{Board, EngineHealth};
use watchkeeper_store::Store;

pub use reload::{ReloadApplied, ReloadOutcome, Reloader};
pub use server::{DEFAULT_REQUEST_TIMEOUT, ServerLimits};

/// Everything a handler may read. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub board: Board,
    pub store: Store,
    /// The binary's registry, where every crate registered its metrics.
    pub registry: Arc<Registry>,
    /// The engine's progress and the store's writing, for `/health`.
    pub health: EngineHealth,
    pub clock: Arc<dyn Clock>,
    pub region: Option<String>,
    /// For `uptime_seconds` in `/health`.
    pub started: Instant,
    pub availability_cache: api::AvailabilityCache,
    /// What `POST /-/reload` calls; `None`: reloading is not offered.
    pub reloader: Option<Arc<dyn Reloader>>,
}

impl AppState {
    pub fn new(
        board: Board,
        store: Store,
        registry: Arc<Registry>,
        health: EngineHealth,
        clock: Arc<dyn Clock>,
        region: Option<String>,
    ) -> Self {
        Self {
            board,
            store,
            registry,
            health,
            clock,
            region,
            started: Instant::now(),
            availability_cache: api::AvailabilityCache::default(),
            reloader: None,
        }
    }

    /// Offers `POST /-/reload` through `reloader`.
    pub fn with_reloader(mut self, reloader: Arc<dyn Reloader>) -> Self {
        self.reloader = Some(reloader);
        self
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/-/reload", post(reload::reload))
        .route("/api/v1/monitors", get(api::list_monitors))
        .route("/api/v1/monitors/{id}", get(api::get_monitor))
        .fallback(error::not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves the routes within `limits` until `shutdown` is cancelled, then
/// finishes requests in flight.
pub async fn serve(
    listener: Arc<TcpListener>,
    state: AppState,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    server::serve_router(listener, router(state), limits, shutdown).await;
}
