//! Loading watchkeeper.toml end to end: valid configs become the expected
//! domain values, and every rule's violation is reported at its position.

mod include;
mod rules;
mod snapshot;
mod support;
mod valid;
