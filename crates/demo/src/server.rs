//! Serving the demo: binding the routes (the pretend API and the webhook
//! receiver), one task per connection, and a
//! shutdown that finishes even while `hang` requests are in flight.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Extension;
use axum::routing::{get, post, put};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::control;
use crate::health;
use crate::mode::Mode;
use crate::receiver::{self, Received, Receiver};
use crate::state::{ControlSnapshot, DemoState};

/// How long shutdown lets an in-flight (non-hanging) request finish, e.g. a
/// slow answer or a huge body, before dropping its connection.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long to wait before accepting again after `accept` failed (for
/// example when out of file descriptors), so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// How the demo starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Reported in the `/health` body, like the runbooks' `region` field.
    pub region: String,
    pub initial_mode: Mode,
    /// How long [`Mode::Slow`] waits before answering.
    pub slow_delay: Duration,
    /// The webhook receiver's Standard Webhooks secret (`whsec_…`);
    /// without it notifications are taken unsigned.
    pub receiver_secret: Option<String>,
    /// Whether the receiver prints a line per notification to stdout (the
    /// binary does; tests read [`DemoHandle::received`] instead).
    pub print_received: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            region: "eu-west".to_owned(),
            initial_mode: Mode::Ok,
            slow_delay: Duration::from_millis(2500),
            receiver_secret: None,
            print_received: false,
        }
    }
}

/// A running demo service. Dropping it stops the server without waiting;
/// [`DemoHandle::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct DemoHandle {
    pub addr: SocketAddr,
    state: Arc<DemoState>,
    receiver: Arc<Receiver>,
    stop: CancellationToken,
    /// `None` only after `shutdown` has taken it.
    server: Option<JoinHandle<()>>,
}

impl DemoHandle {
    /// `http://<addr><path>`; a missing leading `/` is added.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/') {
            format!("http://{}{}", self.addr, path)
        } else {
            format!("http://{}/{}", self.addr, path)
        }
    }

    pub fn mode(&self) -> Mode {
        self.state.mode()
    }

    /// Switches the mode directly, without an HTTP round trip.
    pub fn set_mode(&self, mode: Mode) {
        self.state.set_mode(mode);
    }

    pub fn set_slow_delay(&self, delay: Duration) {
        self.state.set_slow_delay(delay);
    }

    /// `/health` requests received since start, in any mode.
    pub fn health_requests(&self) -> u64 {
        self.state.health_requests()
    }

    /// The notifications the receiver has kept, oldest first (what
    /// `GET /hooks/watchkeeper` shows).
    pub fn received(&self) -> Vec<Received> {
        self.receiver.kept()
    }

    /// The same picture `GET /control` shows.
    pub fn control(&self) -> ControlSnapshot {
        self.state.snapshot()
    }

    /// Stops accepting, lets in-flight answers finish (up to a grace period),
    /// drops connections whose request is hanging, and waits for all of it.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take()
            && let Err(error) = server.await
        {
            tracing::warn!(error = %error, "demo server task ended abnormally");
        }
    }
}

impl Drop for DemoHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serves the demo on `listener` (bind `127.0.0.1:0` in tests) until the
/// returned handle is shut down or dropped. A receiver secret that is not
/// `whsec_` base64 is an `InvalidInput` error.
pub async fn spawn(listener: TcpListener, config: DemoConfig) -> std::io::Result<DemoHandle> {
    let addr = listener.local_addr()?;
    let DemoConfig {
        region,
        initial_mode,
        slow_delay,
        receiver_secret,
        print_received,
    } = config;
    let receiver = Arc::new(
        Receiver::new(receiver_secret.as_deref(), print_received)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidInput, error))?,
    );
    let state = Arc::new(DemoState::new(region, initial_mode, slow_delay));
    let stop = CancellationToken::new();
    let server = tokio::spawn(accept_connections(
        listener,
        routes(Arc::clone(&state), Arc::clone(&receiver)),
        stop.clone(),
    ));
    Ok(DemoHandle {
        addr,
        state,
        receiver,
        stop,
        server: Some(server),
    })
}

fn routes(state: Arc<DemoState>, receiver: Arc<Receiver>) -> Router {
    let hooks = Router::new()
        .route(receiver::PATH, post(receiver::receive).get(receiver::list))
        .with_state(receiver);
    Router::new()
        .route("/", get(control::index))
        .route("/health", get(health::health))
        .route("/control", get(control::show))
        .route("/control/mode", put(control::put_mode))
        .route("/control/mode/{name}", post(control::post_mode))
        .fallback(control::not_found)
        .with_state(state)
        .merge(hooks)
}

async fn accept_connections(listener: TcpListener, routes: Router, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, routes.clone(), stop.clone()));
                }
                Err(error) => {
                    tracing::warn!(error = %error, "demo failed to accept a connection");
                    tokio::select! {
                        () = stop.cancelled() => break,
                        () = tokio::time::sleep(ACCEPT_RETRY) => {}
                    }
                }
            },
            // Reap finished connections so the set does not grow for ever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    while let Some(joined) = connections.join_next().await {
        if let Err(error) = joined {
            tracing::warn!(error = %error, "demo connection task ended abnormally");
        }
    }
}

/// Lets a `/health` handler tell its connection that it will never answer.
#[derive(Debug, Clone)]
pub(crate) struct HangSignal(CancellationToken);

impl HangSignal {
    pub(crate) fn mark_hanging(&self) {
        self.0.cancel();
    }
}

/// HTTP/1 only: one request in flight per connection, so a connection whose
/// request hangs can be dropped at shutdown without losing any other answer.
async fn serve_connection(stream: TcpStream, routes: Router, stop: CancellationToken) {
    let hang = CancellationToken::new();
    let service = TowerToHyperService::new(routes.layer(Extension(HangSignal(hang.clone()))));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new());
    let mut connection = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = connection.as_mut() => {
            log_connection_end(result);
            return;
        }
        () = stop.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        result = connection.as_mut() => log_connection_end(result),
        () = hang.cancelled() => {
            tracing::debug!("demo dropping a hanging request at shutdown");
        }
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("demo dropping a request that outlived the shutdown grace period");
        }
    }
}

fn log_connection_end(result: Result<(), hyper::Error>) {
    if let Err(error) = result {
        tracing::debug!(error = %error, "demo connection ended with an error");
    }
}
