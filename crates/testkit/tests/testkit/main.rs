//! Tests of the helpers themselves: each RawTarget behaviour, the closed
//! port, poll_until's answer and its panic, TempConfig, the demo
//! re-export, the Python sinks; and the workspace's tidy rules.

// Helpers here are test code too: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod poll;
mod py_sink;
mod raw_target;
mod support;
mod tidy;
