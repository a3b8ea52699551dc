//! Clients that hold the HTTP server's connections: half-sent requests
//! (slowloris), idle keep-alive connections and bodies that never arrive
//! are cut off, and at the connection cap a new client waits until a
//! connection ends, while `/health` keeps answering a normal client.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use watchkeeper_testkit::on_both_engines;

use crate::support::{DEADLINE, TestApp, spawn_app, storage};

/// Sent by each slow client: a request line and a header, and never the
/// blank line that ends the headers.
const HALF_A_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";

/// A whole request that keeps its connection open.
const KEEP_ALIVE_HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

/// A client that opens a connection per request and closes it after the
/// answer, so the test's own requests never hold one of the server's
/// connections.
fn fresh_client() -> reqwest::Client {
    watchkeeper_testkit::loopback_client_builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn health_status(app: &TestApp) -> reqwest::StatusCode {
    fresh_client()
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET /health: {error}"))
        .status()
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Opens a connection and writes `bytes` on it.
async fn connect_and_send(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr(app)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Whether the server has closed `stream`, without waiting: no bytes are
/// waiting on a slow client's connection, so a read either would block
/// (open) or sees the end (closed).
fn still_open(stream: &TcpStream) -> bool {
    let mut byte = [0_u8; 1];
    matches!(stream.try_read(&mut byte), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
}

/// Reads until the server closes `stream` (end of stream or a reset),
/// failing the test if that takes longer than `deadline`. Returns what the
/// server sent.
async fn closed_by_server_within(stream: &mut TcpStream, deadline: Duration) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(deadline, async {
        let mut buffer = [0_u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the server kept the connection open for {deadline:?}"));
    received
}

/// Reads one whole answer (headers and a `content-length` body) from a
/// connection the server keeps open, and returns its status line.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    tokio::time::timeout(DEADLINE, async {
        loop {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "closed before a whole answer: {received:?}");
            received.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&received);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        line.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .expect("an answer with a content-length")
                    .parse()
                    .unwrap();
                if body.len() >= length {
                    return head.lines().next().unwrap_or_default().to_owned();
                }
            }
        }
    })
    .await
    .expect("no whole answer in time")
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn slowloris_connections_are_cut_by_the_header_timeout_while_health_answers(engine) {
        let storage = storage(engine).await;
        const SLOW_CLIENTS: usize = 150;
        let header_timeout = Duration::from_secs(2);
        let app = spawn_app(&format!(
            "[server]\nheader_timeout = \"{}s\"\n{storage}",
            header_timeout.as_secs()
        ))
        .await;
        assert_eq!(health_status(&app).await, 200, "before the slow clients");

        let opened = Instant::now();
        let mut slow = Vec::with_capacity(SLOW_CLIENTS);
        for _ in 0..SLOW_CLIENTS {
            slow.push(connect_and_send(&app, HALF_A_REQUEST).await);
        }
        assert_eq!(
            health_status(&app).await,
            200,
            "while the slow clients wait"
        );
        let open = slow.iter().filter(|stream| still_open(stream)).count();
        assert_eq!(
            open,
            SLOW_CLIENTS,
            "slow clients closed before the header timeout ({:?} after opening)",
            opened.elapsed()
        );

        for stream in &mut slow {
            let left = (header_timeout + DEADLINE).saturating_sub(opened.elapsed());
            closed_by_server_within(stream, left).await;
        }
        assert!(
            opened.elapsed() >= header_timeout,
            "cut after {:?}, before the header timeout",
            opened.elapsed()
        );
        assert_eq!(health_status(&app).await, 200, "after the slow clients");
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout(engine) {
        let storage = storage(engine).await;
        let app = spawn_app(&format!("[server]\nheader_timeout = \"1s\"\n{storage}")).await;
        let mut stream = connect_and_send(&app, KEEP_ALIVE_HEALTH).await;
        assert_eq!(read_answer(&mut stream).await, "HTTP/1.1 200 OK");
        assert!(still_open(&stream), "closed right after the answer");
        closed_by_server_within(&mut stream, DEADLINE).await;
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_body_that_never_arrives_does_not_hold_the_connection(engine) {
        let storage = storage(engine).await;
        // A long header timeout: only the server giving up on the body can
        // close the connection within the deadline.
        let app = spawn_app(&format!("[server]\nheader_timeout = \"5m\"\n{storage}")).await;
        let mut stream = connect_and_send(
            &app,
            b"POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc",
        )
        .await;
        let answer = closed_by_server_within(&mut stream, DEADLINE).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn at_the_connection_cap_a_new_client_waits_until_a_connection_ends(engine) {
        let storage = storage(engine).await;
        const CAP: usize = 4;
        let app = spawn_app(&format!(
            "[server]\nmax_connections = {CAP}\nheader_timeout = \"5m\"\n{storage}"
        ))
        .await;
        // Each held connection has been answered, so the server accepted it,
        // and is idle: it holds one of the CAP connections.
        let mut held = Vec::new();
        for _ in 0..CAP {
            let mut stream = connect_and_send(&app, KEEP_ALIVE_HEALTH).await;
            assert_eq!(read_answer(&mut stream).await, "HTTP/1.1 200 OK");
            held.push(stream);
        }

        let url = format!("{}/health", app.base);
        let mut waiting = tokio::spawn(async move { fresh_client().get(url).send().await });
        assert!(
            tokio::time::timeout(Duration::from_millis(500), &mut waiting)
                .await
                .is_err(),
            "answered beyond the cap of {CAP} connections"
        );

        drop(held.pop());
        let answer = tokio::time::timeout(DEADLINE, waiting)
            .await
            .expect("still waiting after a connection ended")
            .unwrap()
            .unwrap();
        assert_eq!(answer.status(), 200);
        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn at_the_connection_cap_slow_clients_cut_by_the_header_timeout_make_room(engine) {
        let storage = storage(engine).await;
        const CAP: usize = 4;
        let app = spawn_app(&format!(
            "[server]\nmax_connections = {CAP}\nheader_timeout = \"1s\"\n{storage}"
        ))
        .await;
        let mut slow = Vec::new();
        for _ in 0..CAP {
            slow.push(connect_and_send(&app, HALF_A_REQUEST).await);
        }
        // Answered once the header timeout has cut the slow clients, within
        // the client's own 5 s timeout.
        assert_eq!(health_status(&app).await, 200);
        for stream in &mut slow {
            closed_by_server_within(stream, DEADLINE).await;
        }
        app.stop().await;
    }
}
