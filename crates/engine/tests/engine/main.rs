//! The engine as a whole, with a real SQLite store in a temporary directory
//! and a scripted checker: what its own maintenance task writes.

// Helpers here are test code too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rollups;
mod state_changes;
