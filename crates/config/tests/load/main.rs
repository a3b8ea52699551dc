//! Loading watchkeeper.toml end to end: valid configs become the expected
//! domain values, and every rule's violation is reported at its position.

// Helpers outside #[test] functions may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerting;
mod alerting_errors;
mod cost;
mod incidents;
mod include;
mod oncall;
mod rules;
mod secret_files;
mod snapshot;
mod status_page;
mod storage;
mod support;
mod valid;
