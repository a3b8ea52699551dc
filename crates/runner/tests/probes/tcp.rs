//! The tcp probe: connect, send, and wait for an expected reply.

use std::time::Duration;

use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};
use watchkeeper_domain::observation::{FailureKind, ObservationDetail};

use crate::support::{closed_port, monitor, prober, spawn_replying, spawn_silent, start_time};

fn tcp(address: std::net::SocketAddr, send: Option<&str>, expect: Option<&str>) -> ProbeSpec {
    ProbeSpec::Tcp(TcpSpec {
        host: address.ip().to_string(),
        port: address.port(),
        send: send.map(str::to_owned),
        expect: expect.map(str::to_owned),
    })
}

#[tokio::test]
async fn a_plain_connect_succeeds() {
    let address = spawn_silent().await;
    let observation = prober()
        .probe(&tcp(address, None, None), Duration::from_secs(5))
        .await
        .unwrap();
    match observation.detail {
        ObservationDetail::Tcp(tcp) => assert_eq!(tcp.received, None),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn send_and_expect_records_the_reply() {
    let address = spawn_replying(b"+PONG\r\n").await;
    let observation = prober()
        .probe(
            &tcp(address, Some("PING\r\n"), Some("+PONG")),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    match observation.detail {
        ObservationDetail::Tcp(tcp) => assert_eq!(tcp.received.as_deref(), Some(&b"+PONG\r\n"[..])),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unexpected_reply_is_a_protocol_failure() {
    let address = spawn_replying(b"-ERR unknown command\r\n").await;
    let failure = prober()
        .probe(
            &tcp(address, Some("PING\r\n"), Some("+PONG")),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Protocol);
    assert_eq!(
        failure.message,
        format!(
            "tcp {}:{}: expected \"+PONG\" in reply, got \"-ERR unknown command\\r\\n\"",
            address.ip(),
            address.port()
        )
    );
}

#[tokio::test]
async fn a_long_unexpected_reply_is_cut_in_the_reason() {
    // Far more than a reason should carry (it is stored with every result,
    // logged and served by the API), though less than the receive limit.
    static LONG_REPLY: [u8; 5000] = [b'x'; 5000];
    let address = spawn_replying(&LONG_REPLY).await;
    let failure = prober()
        .probe(
            &tcp(address, Some("PING\r\n"), Some("+PONG")),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Protocol);
    assert_eq!(
        failure.message,
        format!(
            "tcp {}:{}: expected \"+PONG\" in reply, got \"{}…\" (5000 bytes)",
            address.ip(),
            address.port(),
            "x".repeat(200)
        )
    );
}

#[tokio::test]
async fn silence_until_the_timeout_is_a_protocol_failure_with_nothing_received() {
    let address = spawn_silent().await;
    let failure = prober()
        .probe(
            &tcp(address, Some("PING\r\n"), Some("+PONG")),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Protocol);
    assert!(
        failure
            .message
            .ends_with("expected \"+PONG\" in reply, got \"\""),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure() {
    let address = closed_port().await;
    let failure = prober()
        .probe(&tcp(address, None, None), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Connect);
    assert_eq!(
        failure.message,
        format!(
            "tcp {0}:{1}: connect: connection refused",
            address.ip(),
            address.port()
        )
    );
}

/// The check future is what the scheduler spawns (and moves) for every
/// probe: the probes inside it are boxed, so it stays small.
#[test]
fn a_check_future_is_small() {
    let prober = prober();
    // Never polled: only the future's size matters.
    let monitor = monitor(tcp(([127, 0, 0, 1], 9).into(), None, None), &[], &[]);
    let check = prober.check(&monitor, start_time());
    let size = std::mem::size_of_val(&check);
    assert!(size <= 1024, "the check future is {size} bytes");
}
