//! Serving HTTP/1.1 from an accept loop of our own, so that slow or
//! numerous clients cannot hold the server (`axum::serve` has neither a
//! header timeout nor a connection cap).
//!
//! - **Header timeout.** A client must send a request's headers within
//!   `header_timeout` of connecting, or of its previous answer on a
//!   keep-alive connection; otherwise hyper closes the connection. So a
//!   client sending half a request, or an idle keep-alive connection, is cut
//!   off after `header_timeout`.
//! - **Request timeout.** A handler, including any reading of the body it
//!   does, must answer within `request_timeout`, or the client gets a 503
//!   `{"error":{"code":"timeout",…}}`. A body no handler reads is not waited for: hyper answers
//!   and closes the connection.
//! - **Connection cap.** A permit is taken *before* `accept` and released
//!   when the connection ends (its task drops it), so at most
//!   `max_connections` are open. At the cap, new connections wait in the
//!   kernel's listen backlog, unanswered but not refused, until a
//!   connection ends or is cut by the header timeout.
//! - **Shutdown.** Cancelling the token stops accepting; idle connections
//!   close at once, requests in flight are answered, and connections still
//!   open `request_timeout` later (a client that stopped reading, or one
//!   still sending headers) are dropped.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;

/// The longest a handler may take to answer. Every handler answers from
/// memory or one read query, in milliseconds; ten seconds means the store
/// is stuck, and the client is better told so than kept waiting.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait before accepting again after `accept` failed for a
/// reason other than the peer (out of file descriptors, say), as hyper's
/// and axum's examples do, so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// What the server allows a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a request's headers, from
    /// connecting or from its previous answer.
    pub header_timeout: Duration,
    /// How long a handler may take to answer; also how long shutdown waits
    /// for requests in flight.
    pub request_timeout: Duration,
    /// The most connections open at once (at least one is always allowed).
    pub max_connections: usize,
}

/// Serves `router` on `listener` within `limits` until `shutdown` is
/// cancelled, then finishes requests in flight (see the module docs).
pub(crate) async fn serve_router(
    listener: Arc<TcpListener>,
    router: Router,
    limits: ServerLimits,
    shutdown: CancellationToken,
) {
    let ServerLimits {
        header_timeout,
        request_timeout,
        max_connections,
    } = limits;
    let service = AnswerWithin {
        routes: TowerToHyperService::new(router),
        limit: request_timeout,
        peer: None,
    };
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let http = Arc::new(http);
    let permits = Arc::new(Semaphore::new(
        max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut connections = JoinSet::new();
    loop {
        // Taken before `accept`: at the cap, new clients wait in the
        // kernel's backlog instead of being accepted and left unserved.
        let permit = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                // Never closed; if it were, no connection could be served.
                Err(_) => break,
            },
        };
        let Some((stream, peer)) = accept(&listener, &shutdown).await else {
            break;
        };
        while let Some(ended) = connections.try_join_next() {
            report_panic(ended);
        }
        connections.spawn(serve_connection(
            stream,
            service.from(peer),
            Arc::clone(&http),
            shutdown.clone(),
            permit,
        ));
    }
    // The last holder closes the socket: new clients are refused at once.
    drop(listener);
    finish(connections, request_timeout).await;
}

/// The next connection and its peer, or `None` once `shutdown` is cancelled.
async fn accept(
    listener: &TcpListener,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => return None,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok(accepted) => return Some(accepted),
            // The peer gave up before we accepted: nothing to serve.
            Err(error) if is_the_peers_doing(&error) => {}
            Err(error) => {
                tracing::warn!(error = %error, "cannot accept an HTTP connection; trying again in 1 s");
                tokio::select! {
                    () = shutdown.cancelled() => return None,
                    () = tokio::time::sleep(ACCEPT_RETRY) => {}
                }
            }
        }
    }
}

fn is_the_peers_doing(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
    )
}

/// Serves one connection until it ends, holding `permit` all along.
async fn serve_connection(
    stream: TcpStream,
    service: AnswerWithin,
    http: Arc<http1::Builder>,
    shutdown: CancellationToken,
    permit: OwnedSemaphorePermit,
) {
    // Released when this task ends, however it ends: closed by the client,
    // cut by a timeout, or aborted at the end of the shutdown grace.
    let _permit = permit;
    let mut connection = pin!(http.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        ended = connection.as_mut() => {
            log_connection_end(ended);
            return;
        }
        () = shutdown.cancelled() => {}
    }
    // Closes the connection if it is idle; otherwise after the answer to
    // the request in flight.
    connection.as_mut().graceful_shutdown();
    log_connection_end(connection.await);
}

fn log_connection_end(ended: Result<(), hyper::Error>) {
    if let Err(error) = ended {
        // A header timeout, a client that went away, a malformed request:
        // the client's doing, not ours.
        tracing::debug!(error = %error, "HTTP connection ended with an error");
    }
}

/// The routes with the request timeout around all of them: one timer and
/// one allocation per request. (`Router::layer` with `from_fn` wraps every
/// route and clones it for every request; measured with callgrind on
/// `/health`, that cost four times what the header timeout does.)
#[derive(Clone)]
struct AnswerWithin {
    routes: TowerToHyperService<Router>,
    limit: Duration,
    /// The connection's client, given to handlers as axum's `ConnectInfo`
    /// (the audit log records it).
    peer: Option<SocketAddr>,
}

impl AnswerWithin {
    /// This service for the connection from `peer`.
    fn from(&self, peer: SocketAddr) -> AnswerWithin {
        AnswerWithin {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for AnswerWithin {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    /// The handler's answer, or a 503 once `limit` has passed.
    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        if let Some(peer) = self.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let answer = self.routes.call(request);
        let limit = self.limit;
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(answered) => answered,
                Err(_) => Ok(ApiError::TooSlow(limit).into_response()),
            }
        })
    }
}

/// Waits for connections to end, for at most `grace`, then drops the rest.
async fn finish(mut connections: JoinSet<()>, grace: Duration) {
    let drained = tokio::time::timeout(grace, async {
        while let Some(ended) = connections.join_next().await {
            report_panic(ended);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace = ?grace,
            "dropping HTTP connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
    }
}

fn report_panic(ended: Result<(), JoinError>) {
    if let Err(error) = ended
        && error.is_panic()
    {
        tracing::error!(error = %error, "an HTTP connection task panicked");
    }
}

#[cfg(test)]
mod tests;
