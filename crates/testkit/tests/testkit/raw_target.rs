//! Each [`RawBehaviour`], seen by a real TCP client on loopback.

use std::io::ErrorKind;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use watchkeeper_testkit::{RawBehaviour, RawTarget, closed_port, poll_until};

const QUIET: Duration = Duration::from_millis(300);
const DEADLINE: Duration = Duration::from_secs(5);

/// Reads until EOF, treating a reset as the end.
async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 1024];
    tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) => break,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
                Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
                Err(error) => panic!("read failed: {error}"),
            }
        }
    })
    .await
    .expect("the target never closed the connection");
    received
}

async fn wait_for_connections(target: &RawTarget, count: u64) {
    poll_until(DEADLINE, "the target to accept", || async {
        (target.connections() >= count).then_some(())
    })
    .await;
}

#[tokio::test]
async fn accept_and_stall_accepts_then_stays_silent_and_open() {
    let target = RawTarget::spawn(RawBehaviour::AcceptAndStall)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(target.addr()).await.unwrap();
    stream.write_all(b"hello?\r\n").await.unwrap();
    wait_for_connections(&target, 1).await;
    let mut buffer = [0_u8; 16];
    let read = tokio::time::timeout(QUIET, stream.read(&mut buffer)).await;
    assert!(
        read.is_err(),
        "a stalled target answered or closed: {read:?}"
    );
}

#[tokio::test]
async fn send_garbage_writes_the_bytes_then_closes() {
    let garbage = b"\xff\x00not a protocol\r\n".to_vec();
    let target = RawTarget::spawn(RawBehaviour::SendGarbage(garbage.clone()))
        .await
        .unwrap();
    let mut stream = TcpStream::connect(target.addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(read_all(&mut stream).await, garbage);
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn close_immediately_sends_nothing() {
    let target = RawTarget::spawn(RawBehaviour::CloseImmediately)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(target.addr()).await.unwrap();
    assert_eq!(read_all(&mut stream).await, b"");
    wait_for_connections(&target, 1).await;
}

#[tokio::test]
async fn echo_writes_back_what_it_reads() {
    let target = RawTarget::spawn(RawBehaviour::Echo).await.unwrap();
    let mut stream = TcpStream::connect(target.addr()).await.unwrap();
    stream.write_all(b"PING 42\n").await.unwrap();
    let mut echoed = [0_u8; 8];
    tokio::time::timeout(DEADLINE, stream.read_exact(&mut echoed))
        .await
        .expect("no echo")
        .unwrap();
    assert_eq!(&echoed, b"PING 42\n");
}

#[tokio::test]
async fn banner_is_sent_and_the_connection_stays_open() {
    let banner = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
    let target = RawTarget::spawn(RawBehaviour::Banner(banner.clone()))
        .await
        .unwrap();
    let mut stream = TcpStream::connect(target.addr()).await.unwrap();
    let mut received = vec![0_u8; banner.len()];
    tokio::time::timeout(DEADLINE, stream.read_exact(&mut received))
        .await
        .expect("no banner")
        .unwrap();
    assert_eq!(received, banner);
    let mut more = [0_u8; 16];
    let read = tokio::time::timeout(QUIET, stream.read(&mut more)).await;
    assert!(
        read.is_err(),
        "the banner target closed or said more: {read:?}"
    );
}

#[tokio::test]
async fn connections_are_counted() {
    let target = RawTarget::spawn(RawBehaviour::CloseImmediately)
        .await
        .unwrap();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(target.addr()).await.unwrap();
        read_all(&mut stream).await;
    }
    wait_for_connections(&target, 3).await;
    assert_eq!(target.connections(), 3);
}

#[tokio::test]
async fn dropping_the_target_closes_held_connections_and_the_port() {
    let target = RawTarget::spawn(RawBehaviour::AcceptAndStall)
        .await
        .unwrap();
    let addr = target.addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    wait_for_connections(&target, 1).await;
    drop(target);
    assert_eq!(read_all(&mut stream).await, b"");
    poll_until(DEADLINE, "the dropped target's port to refuse", || async {
        TcpStream::connect(addr).await.is_err().then_some(())
    })
    .await;
}

#[tokio::test]
async fn nothing_listens_on_a_closed_port() {
    let addr = closed_port();
    assert!(addr.ip().is_loopback());
    let error = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
}
