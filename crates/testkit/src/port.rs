//! Loopback addresses for tests that need a port where nothing listens.

use std::net::{SocketAddr, TcpListener};

/// A loopback address where nothing listens: bound to port 0, read back, and
/// released. Connecting to it is refused (unless, rarely, another test has
/// just been given the same port).
///
/// # Panics
///
/// If no loopback port can be bound at all, which no network test survives.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|error| panic!("cannot bind a loopback port: {error}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|error| panic!("cannot read a bound loopback address: {error}"));
    drop(listener);
    addr
}
