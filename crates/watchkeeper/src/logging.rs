//! Log output: human-readable lines by default, one JSON object per line
//! with `--log-format json`. Filtered by `RUST_LOG` (default `info`).
//!
//! One dependency is silenced unless `RUST_LOG` names it: the TLS platform
//! verifier (`rustls_platform_verifier`) logs every certificate it rejects
//! at ERROR, through `log`. A target's bad certificate is data, not our
//! error: the probe's result already says why (`tls: certificate has
//! expired …`), once per state change in `serve` and in `check`'s table, so
//! the verifier's line would only repeat it on every probe, raw. rustls
//! itself is silenced for the same reason: the email channel's lettre
//! builds it with its `logging` feature, after which every handshake of
//! every probe logs at DEBUG and every refused certificate at WARN.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Targets whose logs are off unless `RUST_LOG` mentions them.
const QUIET_TARGETS: &[&str] = &["rustls_platform_verifier", "rustls"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

pub fn init(format: LogFormat) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(rust_log.as_deref()))
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never in files or journald.
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `RUST_LOG`'s directives (or `info`), with [`QUIET_TARGETS`] off unless
/// they are named there (a target is named by any directive that contains
/// it: `rustls_platform_verifier=error` lets rustls through too). A `RUST_LOG` that does not parse falls back to
/// `info`, as before.
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let given = rust_log.filter(|directives| !directives.trim().is_empty());
    let mut filter = given
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    for target in QUIET_TARGETS {
        if given.is_some_and(|directives| directives.contains(target)) {
            continue;
        }
        if let Ok(directive) = format!("{target}=off").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects what a subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What is logged when the verifier and Watchkeeper each log an error
    /// and a warning, under `RUST_LOG` = `rust_log`.
    fn logged(rust_log: Option<&str>) -> String {
        // tracing caches each call site's interest globally: tests running
        // their own subscribers at once could see another's filter. One at
        // a time, with the cache rebuilt under each.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(rust_log))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            tracing::error!(target: "rustls_platform_verifier::verification::others", "failed to verify TLS certificate");
            tracing::debug!(target: "rustls::client::hs", "No cached session for localhost");
            tracing::error!(target: "watchkeeper_engine::recorder", "cannot write results");
            tracing::warn!(target: "watchkeeper", "cannot raise the open-files limit");
        });
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_verifiers_errors_are_off_and_ours_are_kept() {
        for rust_log in [None, Some("info"), Some("debug"), Some("warn"), Some("")] {
            let logged = logged(rust_log);
            assert!(
                !logged.contains("failed to verify"),
                "{rust_log:?}: {logged}"
            );
            assert!(
                !logged.contains("No cached session"),
                "{rust_log:?}: {logged}"
            );
            assert!(
                logged.contains("cannot write results"),
                "{rust_log:?}: {logged}"
            );
            assert!(
                logged.contains("open-files limit"),
                "{rust_log:?}: {logged}"
            );
        }
    }

    #[test]
    fn naming_the_verifier_in_rust_log_lets_it_through() {
        let logged = logged(Some("info,rustls_platform_verifier=error"));
        assert!(logged.contains("failed to verify"), "{logged}");
        let logged = logged_debug_named_rustls();
        assert!(logged.contains("No cached session"), "{logged}");
        assert!(logged.contains("cannot write results"), "{logged}");
    }

    fn logged_debug_named_rustls() -> String {
        logged(Some("info,rustls=debug"))
    }

    #[test]
    fn an_unparsable_rust_log_still_logs_at_info() {
        let logged = logged(Some("info,=nonsense=="));
        assert!(logged.contains("cannot write results"), "{logged}");
        assert!(!logged.contains("failed to verify"), "{logged}");
    }
}
