//! Integration tests of notification delivery against real receivers on
//! loopback: the Python sinks of `tests/sinks/` (testkit's `PySink`).

// Helpers here are test code too: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod command;
mod email;
mod signature_reference;
