//! Probe integration tests against real loopback targets (port 0 only):
//! http, redirects, fallback and parity, target policy, TLS, tcp, dns and
//! command.

// Helpers outside `#[test]` functions unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod command;
mod dns;
mod fallback;
mod http;
mod judging;
mod policy;
mod redirect;
mod support;
mod tcp;
mod tls;
