//! TCP-level misbehaviour that an HTTP framework cannot produce: a loopback
//! listener that stalls, sends bytes and hangs up, closes at once, echoes, or
//! sends a banner and waits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// After [`RawBehaviour::SendGarbage`] has written and half-closed, how long
/// it keeps reading what the client sends before closing. Reading first makes
/// the close a clean FIN: closing a socket with unread data sends a reset,
/// which a client may see before it reads the garbage.
const GARBAGE_DRAIN: Duration = Duration::from_secs(1);

/// What a [`RawTarget`] does with each connection it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawBehaviour {
    /// Accepts and then never reads or writes; the connection stays open.
    AcceptAndStall,
    /// Writes these bytes, then closes.
    SendGarbage(Vec<u8>),
    /// Closes each connection as soon as it is accepted.
    CloseImmediately,
    /// Writes back everything it reads (for tcp send/expect probes).
    Echo,
    /// Writes this banner, then keeps the connection open (reading and
    /// discarding whatever arrives) until the client closes it.
    Banner(Vec<u8>),
}

/// A misbehaving TCP target on `127.0.0.1:0`. Dropping it stops accepting
/// and closes every connection it holds.
#[derive(Debug)]
pub struct RawTarget {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    /// Owns the connection tasks too: aborting it drops them, and their sockets.
    acceptor: JoinHandle<()>,
}

impl RawTarget {
    pub async fn spawn(behaviour: RawBehaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicU64::new(0));
        let acceptor = tokio::spawn(accept(listener, behaviour, Arc::clone(&connections)));
        Ok(Self {
            addr,
            connections,
            acceptor,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for RawTarget {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept(listener: TcpListener, behaviour: RawBehaviour, connections: Arc<AtomicU64>) {
    let mut held = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.fetch_add(1, Ordering::SeqCst);
                    held.spawn(misbehave(stream, behaviour.clone()));
                }
                // Only loopback, in tests: a failed accept is not worth a
                // retry loop; the test that needed it will see no connection.
                Err(_) => return,
            },
            Some(_) = held.join_next(), if !held.is_empty() => {}
        }
    }
}

async fn misbehave(mut stream: TcpStream, behaviour: RawBehaviour) {
    match behaviour {
        RawBehaviour::AcceptAndStall => {
            // Hold the socket without touching it until the target is dropped.
            std::future::pending::<()>().await;
            drop(stream);
        }
        RawBehaviour::SendGarbage(bytes) => {
            if stream.write_all(&bytes).await.is_ok() && stream.shutdown().await.is_ok() {
                let _ = tokio::time::timeout(GARBAGE_DRAIN, discard_until_eof(&mut stream)).await;
            }
        }
        RawBehaviour::CloseImmediately => drop(stream),
        RawBehaviour::Echo => {
            let (mut reader, mut writer) = stream.split();
            let _ = tokio::io::copy(&mut reader, &mut writer).await;
        }
        RawBehaviour::Banner(banner) => {
            if stream.write_all(&banner).await.is_ok() {
                discard_until_eof(&mut stream).await;
            }
        }
    }
}

async fn discard_until_eof(stream: &mut TcpStream) {
    let mut buffer = [0_u8; 4096];
    while let Ok(read) = stream.read(&mut buffer).await {
        if read == 0 {
            break;
        }
    }
}
