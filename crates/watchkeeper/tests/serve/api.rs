//! The read API's answers: JSON 404s for unknown monitors and routes, and a
//! list of every monitor with its 24 h availability once results exist; and
//! no URL password anywhere in them.

use watchkeeper_testkit::{DemoConfig, closed_port, poll_until, spawn_demo_on_loopback};

use watchkeeper_testkit::on_both_engines;

use jiff::Timestamp;
use watchkeeper_domain::Health;

use crate::support::{DEADLINE, monitor_id, open_store, spawn_app, storage};

on_both_engines! {
    #[flavor(multi_thread)]
    async fn unknown_monitors_and_routes_are_json_404s(engine) {
        let storage = storage(engine).await;
        let app = spawn_app(&storage).await;

        let (status, body) = app.get_json("/api/v1/monitors/unknown").await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`unknown`"), "{body}");

        let (status, body) = app.get_json("/nope").await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "not_found", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("/nope"), "{body}");

        app.stop().await;
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn the_list_has_every_monitor_with_its_availability(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let refused = closed_port();
        let app = spawn_app(&format!(
            r#"
    {storage}
    [[component]]
    id = "api"

    [[monitor]]
    id = "demo"
    name = "Demo health"
    component = "api"
    interval = "1s"
    timeout = "900ms"
    http = {{ url = "{}" }}

    [[monitor]]
    id = "refused"
    interval = "1s"
    timeout = "900ms"
    tcp = {{ address = "{refused}" }}
    "#,
            demo.url("/health")
        ))
        .await;

        // Availability comes from stored results: wait until each detail has it.
        for id in ["demo", "refused"] {
            poll_until(DEADLINE, &format!("availability of `{id}`"), || async {
                app.monitor(id).await["availability_24h"].as_f64()
            })
            .await;
        }

        let (status, list) = app.get_json("/api/v1/monitors").await;
        assert_eq!(status, 200);
        let monitors = list["monitors"].as_array().unwrap();
        let ids: Vec<_> = monitors.iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["demo", "refused"], "in config order");

        let demo_summary = &monitors[0];
        assert_eq!(demo_summary["name"], "Demo health");
        assert_eq!(demo_summary["component"], "api");
        assert_eq!(demo_summary["kind"], "http");
        assert_eq!(
            demo_summary["target"],
            format!("GET {}", demo.url("/health"))
        );
        assert_eq!(demo_summary["interval_seconds"], 1.0);
        assert_eq!(demo_summary["state"], "up");
        assert_eq!(demo_summary["last_result"]["health"], "up");
        let demo_availability = demo_summary["availability_24h"].as_f64().unwrap();

        let refused_summary = &monitors[1];
        assert_eq!(
            refused_summary["name"], "refused",
            "the name defaults to the id"
        );
        assert_eq!(refused_summary["component"], serde_json::Value::Null);
        assert_eq!(refused_summary["kind"], "tcp");
        assert_eq!(refused_summary["target"], format!("tcp {refused}"));
        assert_eq!(refused_summary["state"], "down");
        assert_eq!(refused_summary["availability_24h"], 0.0);
        let reason = refused_summary["reason"].as_str().unwrap();
        assert!(reason.contains("connection refused"), "{reason}");

        // The demo's availability is 1.0 unless a probe failed, and on
        // loopback only a probe that a loaded machine held past its timeout
        // can: so it is 1.0 exactly when every stored result is up.
        let config = app.stop().await;
        let store = open_store(&config).await;
        let results = store
            .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
            .await
            .unwrap();
        store.close().await;
        let failed: Vec<_> = results.iter().filter(|r| r.health != Health::Up).collect();
        for result in &failed {
            let reason = result.reason.as_deref().unwrap_or_default();
            assert!(reason.contains("timed out"), "{result:?}");
        }
        if failed.is_empty() {
            assert_eq!(demo_availability, 1.0);
        } else {
            assert!(
                demo_availability < 1.0 && demo_availability > 0.0,
                "{demo_availability}"
            );
        }
    }
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn a_url_password_never_reaches_the_api(engine) {
        let storage = storage(engine).await;
        let refused = closed_port();
        let app = spawn_app(&format!(
            r#"
    {storage}
    [[monitor]]
    id = "private"
    interval = "1s"
    timeout = "900ms"
    http = {{ url = "http://ci:s3cret@{refused}/health" }}
    "#
        ))
        .await;

        let detail = app.wait_for_state("private", "down").await;
        assert_eq!(
            detail["target"],
            format!("GET http://ci:***@{refused}/health")
        );
        assert_eq!(
            detail["reason"],
            format!("GET http://ci:***@{refused}/health: connect: connection refused")
        );
        // Nowhere in the answer: not the target, reasons, results or changes.
        let (_, list) = app.get_json("/api/v1/monitors").await;
        for body in [detail.to_string(), list.to_string()] {
            assert!(!body.contains("s3cret"), "{body}");
        }

        app.stop().await;
    }
}
