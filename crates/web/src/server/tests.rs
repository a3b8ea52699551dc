//! The accept loop's own rules, on a router made for them: a handler that
//! is too slow gets a 503, and shutdown answers requests in flight but does
//! not wait for ever on a client still sending headers. (The slowloris and
//! connection-cap tests of the whole app are in `watchkeeper/tests/serve`.)

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{ServerLimits, serve_router};

/// How long a test waits for any one thing.
const DEADLINE: Duration = Duration::from_secs(10);

struct Running {
    addr: std::net::SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
}

async fn start(router: Router, limits: ServerLimits) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_router(
        std::sync::Arc::new(listener),
        router,
        limits,
        shutdown.clone(),
    ));
    Running {
        addr,
        shutdown,
        server,
    }
}

impl Running {
    /// Cancels and asserts the server stops within the deadline.
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(DEADLINE, self.server)
            .await
            .expect("the server did not stop in time")
            .unwrap();
    }
}

/// Writes `request` on a new connection.
async fn send(addr: std::net::SocketAddr, request: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(DEADLINE, async {
        let mut buffer = [0_u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .expect("the server did not close the connection in time");
    String::from_utf8_lossy(&received).into_owned()
}

const CLOSE_REQUEST: &str = "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn a_handler_slower_than_the_request_timeout_gets_a_json_503() {
    let router = Router::new().route("/slow", get(std::future::pending::<&'static str>));
    let running = start(
        router,
        ServerLimits {
            header_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_millis(200),
            max_connections: 4,
        },
    )
    .await;
    let mut stream = send(running.addr, CLOSE_REQUEST).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":{"code":"timeout","message":"no answer within 0.2 s"}}"#),
        "{answer}"
    );
    running.stop().await;
}

#[tokio::test]
async fn shutdown_answers_the_request_in_flight_then_stops() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let handler = {
        let (started, release) = (Arc::clone(&started), Arc::clone(&release));
        move || async move {
            started.notify_one();
            release.notified().await;
            "finished"
        }
    };
    let running = start(
        Router::new().route("/slow", get(handler)),
        ServerLimits {
            header_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
            max_connections: 4,
        },
    )
    .await;
    let mut stream = send(running.addr, CLOSE_REQUEST).await;
    tokio::time::timeout(DEADLINE, started.notified())
        .await
        .expect("the handler did not start");
    running.shutdown.cancel();
    release.notify_one();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("finished"), "{answer}");
    running.stop().await;
}

#[tokio::test]
async fn shutdown_drops_a_client_still_sending_headers_after_the_grace() {
    let router = Router::new().route("/", get(|| async { "hello" }));
    let running = start(
        router,
        ServerLimits {
            header_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_millis(300),
            max_connections: 4,
        },
    )
    .await;
    let mut half = send(running.addr, "GET / HTTP/1.1\r\nHost: x\r\n").await;
    // A whole request on another connection proves both were accepted.
    let mut whole = send(
        running.addr,
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(read_until_closed(&mut whole).await.ends_with("hello"));
    running.stop().await;
    assert_eq!(read_until_closed(&mut half).await, "");
}
