//! The tcp probe: resolve and refuse what the target policy refuses (both
//! in `net`), connect, optionally send a line and wait for an expected reply.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use watchkeeper_domain::condition::excerpt;
use watchkeeper_domain::monitor::TcpSpec;
use watchkeeper_domain::observation::{
    FailureKind, Observation, ObservationDetail, ProbeFailure, TcpObservation,
};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::{net, units};

/// The most a tcp probe reads while waiting for `expect` (the domain
/// knows it too: conditions' worst-case cost is judged against it).
pub(crate) const RECEIVE_LIMIT: usize = watchkeeper_domain::monitor::TCP_RECEIVE_LIMIT;

/// A reason shows at most this many characters of what was received: it is
/// stored with every result, logged and served by the API.
const RECEIVED_SHOWN_CHARS: usize = 200;

pub(crate) async fn probe(
    spec: &TcpSpec,
    timeout: Duration,
    policy: &TargetPolicy,
) -> Result<Observation, ProbeFailure> {
    let start = Instant::now();
    let deadline = start + timeout;
    let target = format!("tcp {}:{}", spec.host, spec.port);
    let timed_out = || {
        ProbeFailure::new(
            FailureKind::Timeout,
            format!("{target}: timed out after {}", units::duration(timeout)),
        )
    };
    let mut stream = tokio::time::timeout_at(deadline, connect(spec, policy, &target))
        .await
        .map_err(|_| timed_out())??;
    if let Some(send) = &spec.send {
        tokio::time::timeout_at(deadline, stream.write_all(send.as_bytes()))
            .await
            .map_err(|_| timed_out())?
            .map_err(|error| {
                ProbeFailure::new(
                    FailureKind::Io,
                    format!("{target}: send: {}", net::io_reason(&error)),
                )
            })?;
    }
    let received = match &spec.expect {
        None => None,
        Some(expected) => {
            let received = receive_until(&mut stream, expected.as_bytes(), deadline)
                .await
                .map_err(|error| {
                    ProbeFailure::new(
                        FailureKind::Io,
                        format!("{target}: receive: {}", net::io_reason(&error)),
                    )
                })?;
            if !contains(&received, expected.as_bytes()) {
                return Err(ProbeFailure::new(
                    FailureKind::Protocol,
                    format!(
                        "{target}: expected {expected:?} in reply, got {}",
                        excerpt(&String::from_utf8_lossy(&received), RECEIVED_SHOWN_CHARS)
                    ),
                ));
            }
            Some(received)
        }
    };
    Ok(Observation {
        latency: start.elapsed(),
        detail: ObservationDetail::Tcp(TcpObservation { received }),
    })
}

/// Resolves, applies the policy to each address (`net`), and connects to
/// the first allowed address that accepts.
async fn connect(
    spec: &TcpSpec,
    policy: &TargetPolicy,
    target: &str,
) -> Result<TcpStream, ProbeFailure> {
    let addresses = net::allowed_addresses(policy, &spec.host, spec.port)
        .await
        .map_err(|unreachable| {
            ProbeFailure::new(unreachable.kind(), format!("{target}: {unreachable}"))
        })?;
    let mut last_error = None;
    for address in addresses.allowed {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some((address, error)),
        }
    }
    // Name the address only when it came from resolving a name.
    let reason = match last_error {
        None => "no address to connect to".to_owned(),
        Some((address, error)) if addresses.resolved => {
            format!("{address}: {}", net::io_reason(&error))
        }
        Some((_, error)) => net::io_reason(&error),
    };
    Err(ProbeFailure::new(
        FailureKind::Connect,
        format!("{target}: connect: {reason}"),
    ))
}

/// Reads until `expected` appears, the peer closes, `RECEIVE_LIMIT` bytes
/// have arrived, or the deadline passes; returns what was read.
async fn receive_until(
    stream: &mut TcpStream,
    expected: &[u8],
    deadline: Instant,
) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while received.len() < RECEIVE_LIMIT && !contains(&received, expected) {
        let room = (RECEIVE_LIMIT - received.len()).min(buffer.len());
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer[..room])).await {
            Err(_elapsed) => break,
            Ok(Ok(0)) => break,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok(received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_expected_text_anywhere() {
        assert!(contains(b"+PONG\r\n", b"+PONG"));
        assert!(!contains(b"-ERR", b"+PONG"));
        assert!(contains(b"", b""));
    }
}
