//! Requests through the router in-process (no socket, no real time): every
//! route of every router, its answers and its errors.

// Test helpers unwrap: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod alerts;
mod errors;
mod health;
mod history;
mod monitors;
mod oncall;
mod reload;
mod support;
