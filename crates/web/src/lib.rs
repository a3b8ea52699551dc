//! Watchkeeper's HTTP surface (axum), in three routers that each take their
//! own layers:
//!
//! - [`public_routes`]: the status page (`/`, `/incidents/{id}`,
//!   `/status.css`; `status_page`), `/health`, `/metrics` and `/ack/{link}`
//!   (the acknowledgement link of a notification, its own credential), for
//!   anyone who can reach the port;
//! - [`api_routes`]: the REST API under `/api/v1`, every route from one
//!   table (`api::routes`) behind the token layer (`auth`): a bearer token
//!   of the route's role, or none for reads under `[api] public_read`;
//! - [`ops_routes`]: operations under `/-/` (reload), for operators.
//!
//! Handlers read through [`Queries`], never the store itself; the only
//! writes are an audit entry ([`audit::Audit`]) and a token's last use;
//! every error answers one JSON shape ([`error`]). Wire types live here, not in
//! `domain`, so the JSON contract can stay stable while the model evolves.
//! `serve` binds 127.0.0.1 by default. `server`
//! serves the routers with a header timeout, a request timeout and a cap on
//! open connections.

mod ack_page;
pub mod api;
pub mod audit;
pub mod auth;
pub mod error;
mod health;
mod queries;
pub mod rate_limit;
mod reload;
mod server;
pub mod status_page;

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

pub use api::acks::AckWriter;
pub use api::incidents::IncidentWriter;
pub use api::overrides::OverrideWriter;
pub use api::silences::SilenceWriter;
pub use queries::Queries;
pub use reload::{ReloadApplied, ReloadOutcome, Reloader};
pub use server::{DEFAULT_REQUEST_TIMEOUT, ServerLimits};
pub use status_page::subscribe::{SubscribeOutcome, SubscribeRequest, SubscriptionWriter};

/// Everything a handler may read. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub board: Board,
    /// The store, read-only.
    pub queries: Queries,
    /// The binary's registry, where every crate registered its metrics.
    pub registry: Arc<Registry>,
    /// The engine's progress and the store's writing, for `/health`.
    pub health: EngineHealth,
    pub clock: Arc<dyn Clock>,
    pub region: Option<String>,
    /// For `uptime_seconds` in `/health`.
    pub started: Instant,
    pub availability_cache: api::AvailabilityCache,
    /// The encoded monitor list, answered again for [`api::LIST_CACHE_FOR`].
    pub list_cache: api::ListCache,
    /// What `POST /-/reload` calls; `None`: reloading is not offered.
    pub reloader: Option<Arc<dyn Reloader>>,
    /// What `POST` and `DELETE /api/v1/silences` write through; `None`:
    /// silences are not taken.
    pub silences: Option<Arc<dyn api::silences::SilenceWriter>>,
    /// Why each quieted firing alert is not sent (fingerprint → reason),
    /// as the dispatcher last decided.
    pub quiet: tokio::sync::watch::Receiver<Arc<std::collections::BTreeMap<String, String>>>,
    /// Each SLO as last evaluated.
    pub slos: watchkeeper_engine::slos::SloBoard,
    /// People and schedules as the config has them now (replaced on reload).
    pub oncall: tokio::sync::watch::Receiver<Arc<watchkeeper_domain::oncall::Directory>>,
    /// What acknowledgements are written through (and the link key read
    /// from); `None`: not taken.
    pub acks: Option<Arc<dyn api::acks::AckWriter>>,
    /// What schedule overrides are written through; `None`: not taken.
    pub overrides: Option<Arc<dyn api::overrides::OverrideWriter>>,
    /// Tokens: looked up on every API request; whether reads are public.
    pub auth: auth::Authority,
    /// Where changes made over the API are recorded.
    pub audit: audit::Audit,
    /// What incidents are written through; `None`: not taken.
    pub incidents: Option<Arc<dyn api::incidents::IncidentWriter>>,
    /// The severities, components, templates and names incidents are
    /// checked and shown with (replaced on reload).
    pub incident_settings:
        tokio::sync::watch::Receiver<Arc<watchkeeper_incidents::plan::OpenerSettings>>,
    /// The status page's title, links and public components (replaced on
    /// reload).
    pub status_page: tokio::sync::watch::Receiver<Arc<status_page::model::PageSettings>>,
    /// The rendered status page and its daily uptime counts.
    pub page_cache: status_page::PageCache,
    /// Requests and failed authentications per client address.
    pub rate_limits: rate_limit::RateLimits,
    /// What the status page's subscriptions are written through; `None`:
    /// not taken.
    pub subscriptions: Option<Arc<dyn status_page::subscribe::SubscriptionWriter>>,
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
            auth: auth::Authority::new(store.clone(), clock.clone()),
            audit: audit::Audit::new(store.clone(), clock.clone()),
            queries: Queries::new(store),
            registry,
            health,
            clock,
            region,
            started: Instant::now(),
            availability_cache: api::AvailabilityCache::default(),
            list_cache: api::ListCache::default(),
            reloader: None,
            silences: None,
            quiet: tokio::sync::watch::channel(Arc::default()).1,
            slos: tokio::sync::watch::channel(Arc::default()).1,
            oncall: tokio::sync::watch::channel(Arc::default()).1,
            overrides: None,
            acks: None,
            incidents: None,
            incident_settings: tokio::sync::watch::channel(Arc::new(
                watchkeeper_incidents::plan::OpenerSettings::without_config(),
            ))
            .1,
            status_page: tokio::sync::watch::channel(status_page::default_settings()).1,
            page_cache: status_page::PageCache::default(),
            rate_limits: rate_limit::RateLimits::default(),
            subscriptions: None,
        }
    }

    /// Takes the status page's subscriptions, written through `writer`.
    pub fn with_subscriptions(
        mut self,
        writer: Arc<dyn status_page::subscribe::SubscriptionWriter>,
    ) -> Self {
        self.subscriptions = Some(writer);
        self
    }

    /// Limits requests and failed authentications per client address.
    pub fn with_rate_limits(mut self, limits: rate_limit::RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Shows the status page with `settings` (again on every reload).
    pub fn with_status_page(
        mut self,
        settings: tokio::sync::watch::Receiver<Arc<status_page::model::PageSettings>>,
    ) -> Self {
        self.status_page = settings;
        self
    }

    /// Takes incidents, written through `writer`, checked and shown with
    /// `settings`.
    pub fn with_incidents(
        mut self,
        writer: Arc<dyn api::incidents::IncidentWriter>,
        settings: tokio::sync::watch::Receiver<Arc<watchkeeper_incidents::plan::OpenerSettings>>,
    ) -> Self {
        self.incidents = Some(writer);
        self.incident_settings = settings;
        self
    }

    /// Shows the SLOs the evaluator publishes.
    pub fn with_slos(mut self, slos: watchkeeper_engine::slos::SloBoard) -> Self {
        self.slos = slos;
        self
    }

    /// Shows the people and schedules the binary publishes (again on
    /// every reload).
    pub fn with_oncall(
        mut self,
        oncall: tokio::sync::watch::Receiver<Arc<watchkeeper_domain::oncall::Directory>>,
    ) -> Self {
        self.oncall = oncall;
        self
    }

    /// Takes acknowledgements (API and links), written through `writer`.
    pub fn with_acks(mut self, writer: Arc<dyn api::acks::AckWriter>) -> Self {
        self.acks = Some(writer);
        self
    }

    /// Takes schedule overrides, written through `writer`.
    pub fn with_overrides(mut self, writer: Arc<dyn api::overrides::OverrideWriter>) -> Self {
        self.overrides = Some(writer);
        self
    }

    /// Takes silences, written through `writer`.
    pub fn with_silences(mut self, writer: Arc<dyn api::silences::SilenceWriter>) -> Self {
        self.silences = Some(writer);
        self
    }

    /// Shows each alert's quiet, as the dispatcher publishes it.
    pub fn with_quiet(
        mut self,
        quiet: tokio::sync::watch::Receiver<Arc<std::collections::BTreeMap<String, String>>>,
    ) -> Self {
        self.quiet = quiet;
        self
    }

    /// Lets anyone read `/api/v1` without a token (`[api] public_read`).
    pub fn with_public_read(mut self, public_read: bool) -> Self {
        self.auth = self.auth.with_public_read(public_read);
        self
    }

    /// The audit log's recorder, for handlers that change something.
    pub fn audit(&self) -> &audit::Audit {
        &self.audit
    }

    /// Offers `POST /-/reload` and `POST /api/v1/reload` through `reloader`.
    pub fn with_reloader(mut self, reloader: Arc<dyn Reloader>) -> Self {
        self.reloader = Some(reloader);
        self
    }

    /// Another cache of the encoded monitor list (tests choose how long it
    /// answers).
    pub fn with_list_cache(mut self, cache: api::ListCache) -> Self {
        self.list_cache = cache;
        self
    }
}

/// Every route: the three routers together, with one fallback for paths
/// no router has and one for methods a route does not take, both in the
/// JSON error shape.
pub fn router(state: AppState) -> Router {
    let limit = axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit_requests);
    Router::new()
        .merge(public_routes().layer(limit.clone()))
        .nest("/api/v1", api_routes(&state).layer(limit))
        .merge(ops_routes())
        .fallback(error::not_found)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// `/health` and `/metrics`: open to anyone who can reach the port.
pub fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/api/openapi.json", get(api::openapi::serve))
        .route("/", get(status_page::show))
        .route("/status.css", get(status_page::stylesheet))
        .route("/incidents/{id}", get(status_page::incident))
        .route("/feed.atom", get(status_page::atom))
        .route("/feed.rss", get(status_page::rss))
        .route("/badge/{file}", get(status_page::status_badge))
        .route(
            "/badge/{component}/uptime.svg",
            get(status_page::uptime_badge),
        )
        .route("/api/v2/status.json", get(status_page::statuspage::status))
        .route(
            "/api/v2/summary.json",
            get(status_page::statuspage::summary),
        )
        .route(
            "/api/v2/components.json",
            get(status_page::statuspage::components_json),
        )
        .route(
            "/api/v2/incidents.json",
            get(status_page::statuspage::incidents_json),
        )
        .route(
            "/api/v2/incidents/unresolved.json",
            get(status_page::statuspage::unresolved_json),
        )
        .route(
            "/api/v2/scheduled-maintenances.json",
            get(status_page::statuspage::scheduled),
        )
        .route(
            "/api/v2/scheduled-maintenances/upcoming.json",
            get(status_page::statuspage::upcoming),
        )
        .route(
            "/api/v2/scheduled-maintenances/active.json",
            get(status_page::statuspage::active),
        )
        .route("/subscribe", post(status_page::subscribe))
        .route(
            "/subscriptions/confirm/{token}",
            get(status_page::show_confirm).post(status_page::confirm),
        )
        .route(
            "/unsubscribe/{token}",
            get(status_page::show_unsubscribe).post(status_page::unsubscribe),
        )
        .route(
            "/ack/{link}",
            get(ack_page::show).post(ack_page::acknowledge),
        )
        .method_not_allowed_fallback(error::method_not_allowed)
        // The status page with 90 bars per component is mostly repeated
        // markup: gzip makes it a tenth, for clients that ask.
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The REST API, mounted under `/api/v1`: every route of
/// [`api::routes::API_ROUTES`], each behind the token layer with its
/// route's [`auth::Access`] (`state` gives the layer the store and
/// `public_read`).
pub fn api_routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for entry in api::routes::API_ROUTES {
        let layer =
            axum::middleware::from_fn_with_state((state.clone(), entry.access), auth::enforce);
        router = router.route(entry.path, entry.method_router().route_layer(layer));
    }
    router
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(
            api::extract::BODY_LIMIT,
        ))
}

/// Operations under `/-/`, Prometheus's prefix for them: `POST
/// /-/reload`. Its own router so it can take operator-only layers.
pub fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/-/reload", post(reload::reload))
        .method_not_allowed_fallback(error::method_not_allowed)
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
