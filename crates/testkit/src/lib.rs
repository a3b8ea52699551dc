//! Helpers for the integration tests of every Watchkeeper crate: builders
//! for monitors and results, the demo service, misbehaving TCP targets,
//! https targets with certificates made at test time, plain-HTTP clients, a
//! port where nothing listens, polling
//! with a deadline instead of sleeping, throwaway config files, a small real
//! filesystem to fill, a database write lock held from outside, and a
//! fresh database on either engine for each test (a throwaway PostgreSQL
//! cluster per test binary, `on_both_engines!`), and the Python
//! notification sinks of `tests/sinks/` as child processes (`PySink`).
//!
//! A normal crate, used only as a dev-dependency by the others.

#![forbid(unsafe_code)]

mod builders;
mod http_client;
mod poll;
mod port;
pub mod postgres;
mod py_sink;
mod raw_target;
mod small_filesystem;
mod temp_config;
mod test_storage;
mod tls_target;
mod write_lock;

pub use builders::{MonitorBuilder, ResultBuilder, http_probe, monitor, result};
pub use http_client::loopback_client_builder;
pub use poll::{POLL_INTERVAL, poll_until};
pub use port::closed_port;
pub use py_sink::{PySink, PySinkError, SINK_START_DEADLINE, sinks_dir};
pub use raw_target::{RawBehaviour, RawTarget};
pub use small_filesystem::{Filler, SmallFilesystem};
pub use temp_config::{CONFIG_FILE_NAME, TempConfig};
pub use test_storage::{Engine, SQLITE_FILE_NAME, TestStorage, sqlite_path, storage_toml};
pub use tls_target::{Served, TestCa, TlsTargetError, leaf_params, private_key, spawn_tls_target};
pub use watchkeeper_demo::{DemoConfig, DemoHandle, Mode, spawn as spawn_demo};
pub use watchkeeper_domain::{Clock, ManualClock};
pub use write_lock::WriteLock;

/// Starts the demo service on `127.0.0.1:0` with `config`.
pub async fn spawn_demo_on_loopback(config: DemoConfig) -> std::io::Result<DemoHandle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    spawn_demo(listener, config).await
}
