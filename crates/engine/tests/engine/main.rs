//! The engine as a whole, with a real store and a scripted checker: what
//! its own maintenance task writes. The tests of what the engine stores run
//! on both engines (`<test>::sqlite`, `<test>::postgres`), the held write
//! lock too; the full disk is SQLite's (a tmpfs under the file).

// Helpers here are test code too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod inputs;
mod recent;
mod rollups;
mod slos;
mod state_changes;
mod store_trouble;

use std::sync::Arc;
use std::time::Duration;

use watchkeeper_domain::monitor::MonitorSpec;

/// The engine's metrics in a registry of their own, as the binary builds
/// it (with the `watchkeeper` prefix).
fn metrics() -> (
    Arc<prometheus_client::registry::Registry>,
    watchkeeper_engine::Metrics,
) {
    let mut registry = prometheus_client::registry::Registry::with_prefix("watchkeeper");
    let metrics = watchkeeper_engine::Metrics::register(&mut registry);
    (Arc::new(registry), metrics)
}

/// The text exposition, as `/metrics` serves it.
fn encode(registry: &prometheus_client::registry::Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text
}

/// Opens a test database on its engine.
async fn open_store(storage: &watchkeeper_testkit::TestStorage) -> watchkeeper_store::Store {
    match watchkeeper_store::Store::open(storage.config()).await {
        Ok(store) => store,
        Err(error) => panic!("cannot open the {} store: {error}", storage.engine()),
    }
}

/// A monitor probed every second; the scripted checkers never connect.
fn monitor(id: &str, timeout: Duration) -> Arc<MonitorSpec> {
    watchkeeper_testkit::monitor(id).timeout(timeout).arc()
}
