//! The public status page against a running Watchkeeper, on both engines:
//! `/` shows the banner, the public components with their status and
//! uptime bars, and an open incident with its update, with strict
//! security headers and every string escaped; a private component and an
//! incident on it appear on no public route (`/`, `/incidents/{id}`,
//! `/api/v2/*.json`, the feeds, the badges); Statuspage's JSON has its
//! field names.

use serde_json::{Value, json};
use watchkeeper_testkit::{DemoConfig, Mode, on_both_engines, poll_until, spawn_demo_on_loopback};

use crate::support::{DEADLINE, TestApp, spawn_app, storage};

fn config(storage: &str, target: &str) -> String {
    format!(
        r#"
{storage}
[alerting]
failure_threshold = 1
success_threshold = 1

[incidents]
open_from = "P2"

[status_page]
title = "Acme <Status>"
links = {{ Home = "https://acme.example" }}

[[component]]
id = "payments"
name = "Payments <img src=x onerror=alert(1)>"
group = "Backend"

[[component]]
id = "ledger"
name = "Internal ledger"
public = false

[[maintenance]]
id = "db-upgrade"
title = "Database <upgrade>"
components = ["payments"]
start = "2099-01-01T02:00:00Z"
end = "2099-01-01T03:00:00Z"

[[maintenance]]
id = "ledger-move"
title = "Ledger move"
components = ["ledger"]
schedule = "0 3 * * *"
duration = "30m"

[[monitor]]
id = "demo"
component = "payments"
severity = "P1"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 200']

# Private, in a public component, and always failing: the page neither
# shows nor counts it.
[[monitor]]
id = "payments-internal"
component = "payments"
public = false
alert = false
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 599']

[[monitor]]
id = "ledger-check"
component = "ledger"
severity = "P1"
interval = "1s"
timeout = "900ms"
http = {{ url = "{target}" }}
expect = ['status == 200']
"#
    )
}

async fn public(app: &TestApp, path: &str) -> reqwest::Response {
    // No token: what anyone sees.
    watchkeeper_testkit::loopback_client_builder()
        .build()
        .unwrap()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn the_page_shows_public_components_and_incidents_and_nothing_private(engine) {
        let storage = storage(engine).await;
        let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
        let app = spawn_app(&config(&storage, &demo.url("/health"))).await;
        app.wait_for_state("demo", "up").await;
        app.wait_for_state("payments-internal", "down").await;
        let page = public(&app, "/").await;
        assert_eq!(page.status(), 200);
        let headers = page.headers().clone();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("referrer-policy"));
        let html = page.text().await.unwrap();
        assert!(html.contains("All Systems Operational"), "{html}");
        assert!(html.contains("Acme &lt;Status&gt;"), "{html}");
        assert!(!html.contains("<img src=x"), "a component name is escaped");
        assert!(!html.contains("Internal ledger"), "a private component is hidden");
        assert!(!html.contains("payments-internal"), "a private monitor is hidden");
        assert_eq!(html.matches("<rect ").count(), 90, "one bar per day");
        // The API (with a token) has every component, each with every
        // monitor: there the private monitor counts.
        let (status, listed) = app.get_json("/api/v1/components").await;
        assert_eq!(status, 200);
        let seen: Vec<(&str, bool, &str)> = listed["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_str().unwrap(), c["public"].as_bool().unwrap(), c["status"].as_str().unwrap()))
            .collect();
        // One of its two monitors down: a partial outage.
        assert_eq!(seen, [("payments", true, "partial_outage"), ("ledger", false, "operational")]);
        assert_eq!(listed["components"][0]["monitors"], json!(["demo", "payments-internal"]));
        let (_, windows) = app.get_json("/api/v1/maintenance").await;
        let ids: Vec<&str> = windows["maintenance"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["db-upgrade", "ledger-move"]);
        assert_eq!(windows["maintenance"][1]["schedule"], "cron 0 3 * * * UTC for 30m");
        assert!(windows["maintenance"][1]["next"]["start"].is_string(), "{windows}");
        let gzipped = watchkeeper_testkit::loopback_client_builder()
            .build()
            .unwrap()
            .get(format!("{}/", app.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gzipped.headers()["content-encoding"], "gzip");

        demo.set_mode(Mode::Fail);
        // Two incidents open: one on payments (public), one on the ledger (private).
        let incidents: Vec<Value> = poll_until(DEADLINE, "both monitors' alerts open incidents", || async {
            let (_, page) = app.get_json("/api/v1/incidents?status=open").await;
            let incidents = page["incidents"].as_array().unwrap().clone();
            (incidents.len() == 2).then_some(incidents)
        })
        .await;
        let private = incidents.iter().find(|i| i["components"][0]["id"] == "ledger").unwrap();
        let public_one = incidents.iter().find(|i| i["components"][0]["id"] == "payments").unwrap();
        let html = poll_until(DEADLINE, "the page shows the outage", || async {
            let html = public(&app, "/").await.text().await.unwrap();
            html.contains("Major System Outage").then_some(html)
        })
        .await;
        // Its only monitor is down: a major outage, worse than the P1
        // incident's partial outage.
        assert!(html.contains("Major outage"), "{html}");
        assert!(html.contains("Investigating"), "{html}");
        assert!(!html.contains("Internal ledger"), "{html}");
        let detail = public(&app, &format!("/incidents/{}", public_one["id"])).await;
        assert_eq!(detail.status(), 200);
        let hidden = public(&app, &format!("/incidents/{}", private["id"])).await;
        assert_eq!(hidden.status(), 404, "private is not found, not forbidden");
        assert_eq!(public(&app, "/incidents/999").await.status(), 404);

        // Statuspage's JSON.
        let summary = public(&app, "/api/v2/summary.json").await;
        assert_eq!(summary.headers()["access-control-allow-origin"], "*");
        let summary: Value = summary.json().await.unwrap();
        assert_eq!(summary["status"], json!({"indicator": "critical", "description": "Major System Outage"}));
        let components = summary["components"].as_array().unwrap();
        assert_eq!(components.len(), 2, "the group and payments: {summary}");
        assert_eq!(components[0]["group"], true);
        assert_eq!(components[1]["status"], "major_outage");
        assert_eq!(components[1]["group_id"], components[0]["id"]);
        let open = summary["incidents"].as_array().unwrap();
        assert_eq!(open.len(), 1, "only the public incident: {summary}");
        assert_eq!(open[0]["status"], "investigating");
        assert_eq!(open[0]["impact"], "major");
        assert_eq!(open[0]["incident_updates"][0]["status"], "investigating");
        // Feeds and badges.
        let atom = public(&app, "/feed.atom").await;
        assert_eq!(atom.headers()["content-type"], "application/atom+xml; charset=utf-8");
        let atom = atom.text().await.unwrap();
        assert!(atom.contains("[Investigating] Payments"), "{atom}");
        assert!(!atom.contains("<img"), "{atom}");
        let rss = public(&app, "/feed.rss").await.text().await.unwrap();
        assert!(rss.contains("<item>"), "{rss}");
        for feed in [&atom, &rss] {
            assert!(!feed.contains("Internal ledger") && !feed.contains("ledger-check"), "{feed}");
        }
        let badge = public(&app, "/badge/payments.svg").await;
        assert_eq!(badge.status(), 200);
        assert_eq!(badge.headers()["content-type"], "image/svg+xml; charset=utf-8");
        assert!(badge.text().await.unwrap().contains(">major outage</text>"));
        let uptime = public(&app, "/badge/payments/uptime.svg?days=30").await;
        assert_eq!(uptime.status(), 200);
        assert!(uptime.text().await.unwrap().contains("uptime 30d"));
        assert_eq!(public(&app, "/badge/payments/uptime.svg?days=0").await.status(), 400);
        for hidden in ["/badge/ledger.svg", "/badge/ledger/uptime.svg", "/badge/nothing.svg"] {
            assert_eq!(public(&app, hidden).await.status(), 404, "{hidden}");
        }
        // Maintenance: the public window is far ahead (not listed yet), the
        // daily ledger one is private.
        let scheduled: Value = public(&app, "/api/v2/scheduled-maintenances.json").await.json().await.unwrap();
        assert_eq!(scheduled["scheduled_maintenances"], json!([]), "{scheduled}");
        for path in ["/api/v2/scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/active.json"] {
            let text = public(&app, path).await.text().await.unwrap();
            assert!(!text.contains("Ledger move"), "{path}: {text}");
        }
        for path in ["/api/v2/status.json", "/api/v2/components.json", "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json"] {
            let text = public(&app, path).await.text().await.unwrap();
            assert!(!text.contains("ledger") && !text.contains("Internal ledger"), "{path}: {text}");
        }
        app.stop().await;
    }
}
