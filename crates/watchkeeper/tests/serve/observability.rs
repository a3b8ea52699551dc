//! Watchkeeper's own health and Prometheus metrics while it runs.

use watchkeeper_testkit::{DemoConfig, poll_until, spawn_demo_on_loopback};

use watchkeeper_testkit::on_both_engines;

use crate::support::{DEADLINE, metric_value, spawn_app, storage};

on_both_engines! {
    #[flavor(multi_thread)]
    async fn metrics_describe_probes_scheduling_and_the_store(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&format!(
            r#"
    {storage}
    [[monitor]]
    id = "demo"
    interval = "1s"
    timeout = "900ms"
    http = {{ url = "{}" }}
    "#,
            demo.url("/health")
        ))
        .await;

        let metrics = poll_until(DEADLINE, "results written, in /metrics", || async {
            let metrics = app.get_text("/metrics").await;
            let written = metric_value(&metrics, "watchkeeper_results_written_total")?;
            (written > 0.0).then_some(metrics)
        })
        .await;
        for line in [
            r#"watchkeeper_probe_success{monitor="demo"} 1"#,
            r#"watchkeeper_monitor_up{monitor="demo"} 1"#,
            r#"watchkeeper_monitor_degraded{monitor="demo"} 0"#,
            "watchkeeper_store_errors_total 0",
            "watchkeeper_monitors 1",
        ] {
            assert!(
                metrics.lines().any(|l| l == line),
                "no line `{line}` in:\n{metrics}"
            );
        }
        // The last probe's duration, one series per monitor.
        let duration = metric_value(
            &metrics,
            r#"watchkeeper_probe_duration_seconds{monitor="demo"}"#,
        )
        .unwrap();
        assert!(duration > 0.0 && duration < 5.0, "{metrics}");
        assert!(
            !metrics.contains("watchkeeper_probe_duration_seconds_bucket"),
            "{metrics}"
        );
        let lag_count = metric_value(&metrics, "watchkeeper_scheduler_lag_seconds_count").unwrap();
        assert!(lag_count >= 1.0, "{metrics}");
        let probes_started = metric_value(&metrics, "watchkeeper_probes_started_total").unwrap();
        assert!(probes_started >= 1.0, "{metrics}");
        assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");

        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn health_reports_version_uptime_and_region(engine) {
        let storage = storage(engine).await;
        let app = spawn_app(&format!("[server]\nregion = \"test-region\"\n{storage}")).await;
        let (status, health) = app.get_json("/health").await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "ok");
        assert_eq!(health["version"], workspace_version());
        assert!(health["uptime_seconds"].is_u64(), "{health}");
        assert_eq!(health["region"], "test-region");
        app.stop().await;
    }
}

/// The version the workspace manifest declares, read from the file (not
/// from the same `env!` the server uses, which could not disagree).
fn workspace_version() -> String {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let package = text
        .split("[workspace.package]")
        .nth(1)
        .expect("a [workspace.package] table");
    package
        .lines()
        .find_map(|line| line.trim().strip_prefix("version = "))
        .map(|quoted| quoted.trim_matches('"').to_owned())
        .expect("a version in [workspace.package]")
}
