//! The status page as a person sees it, in headless Chromium driven over
//! WebDriver (chromedriver, fantoccini): with live data — a monitor down
//! and the incident it opened — at desktop and phone widths, in light and
//! dark, the banner, the bars and the incident are there, the page fits
//! the screen, dark mode is dark, and a screenshot of each is saved under
//! the target directory (`status-page-*.png`) for a person to look at.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::process::{Child, Command};
use watchkeeper_testkit::{DemoConfig, Mode, poll_until, spawn_demo_on_loopback};

use crate::support::{DEADLINE, STORAGE, spawn_app};

/// chromedriver on a free loopback port, killed when dropped.
struct Driver {
    url: String,
    _child: Child,
}

async fn chromedriver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| {
            panic!("cannot start chromedriver ({error}); ./scripts/test installs Debian's chromium-driver")
        });
    let url = format!("http://127.0.0.1:{port}");
    poll_until(DEADLINE, "chromedriver listens", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    Driver { url, _child: child }
}

async fn browser(driver: &Driver, width: u32, height: u32, dark: bool) -> Client {
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--hide-scrollbars".to_owned(),
        format!("--window-size={width},{height}"),
    ];
    // prefers-color-scheme: dark (Blink's setting: 0 dark, 1 light)
    args.push(format!(
        "--blink-settings=preferredColorScheme={}",
        if dark { 0 } else { 1 }
    ));
    let mut options = json!({ "args": args, "binary": chromium() });
    if width < 500 {
        // A headless window is never narrower than 500 px: a phone is
        // emulated, as Chrome's device toolbar does.
        options["mobileEmulation"] = json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2 }
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|error| panic!("chromedriver would not start Chromium: {error}"))
}

fn chromium() -> &'static str {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|path| std::path::Path::new(path).exists())
    .unwrap_or("chromium")
}

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("status-page-{name}.png"))
}

const CONFIG: &str = r#"
[alerting]
failure_threshold = 1
success_threshold = 1

[incidents]
open_from = "P2"

[status_page]
title = "Acme Status"
links = { Home = "https://acme.example" }
# The form shows in the screenshots, at every width.
subscribe_by_webhook = true

[[component]]
id = "payments"
name = "Payments"
group = "Backend"
description = "Card payments and confirmations"

[[component]]
id = "website"
name = "Website"
group = "Frontend"

[[monitor]]
id = "payments-health"
name = "Payments health"
component = "payments"
severity = "P1"
interval = "1s"
timeout = "900ms"
http = { url = "TARGET" }
expect = ['status == 200']

[[monitor]]
id = "website"
component = "website"
interval = "1s"
timeout = "900ms"
http = { url = "OK_TARGET" }
expect = ['status == 200']
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_reads_well_at_every_width_in_light_and_dark() {
    let failing = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let healthy = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let config = format!("{STORAGE}\n{CONFIG}")
        .replace("OK_TARGET", &healthy.url("/health"))
        .replace("TARGET", &failing.url("/health"));
    let app = spawn_app(&config).await;
    app.wait_for_state("website", "up").await;
    failing.set_mode(Mode::Fail);
    poll_until(DEADLINE, "the incident opens", || async {
        let (_, page) = app.get_json("/api/v1/incidents?status=open").await;
        (!page["incidents"].as_array().unwrap().is_empty()).then_some(())
    })
    .await;
    // The page is answered again for 5 s: wait for one made after the incident.
    tokio::time::sleep(Duration::from_secs(6)).await;

    let driver = chromedriver().await;
    for (name, width, height, dark) in [
        ("desktop-light", 1280, 1000, false),
        ("desktop-dark", 1280, 1000, true),
        ("phone-light", 390, 844, false),
        ("phone-dark", 390, 844, true),
    ] {
        let client = browser(&driver, width, height, dark).await;
        client.goto(&app.base).await.unwrap();
        let banner = client.find(Locator::Css(".banner h1")).await.unwrap();
        assert_eq!(
            banner.text().await.unwrap(),
            "Major System Outage",
            "{name}"
        );
        let incident = client
            .find(Locator::Css(".incident.active h2"))
            .await
            .unwrap();
        assert_eq!(
            incident.text().await.unwrap(),
            "Payments: Payments health is down",
            "{name}"
        );
        let bars = client
            .find_all(Locator::Css("svg.bars rect"))
            .await
            .unwrap();
        assert_eq!(bars.len(), 2 * 90, "{name}");
        let statuses = client
            .find_all(Locator::Css(".component .status"))
            .await
            .unwrap();
        let mut texts = Vec::new();
        for status in statuses {
            texts.push(status.text().await.unwrap());
        }
        assert_eq!(texts, ["Major outage", "Operational"], "{name}");
        let subscribe = client
            .find(Locator::Css(".subscribe input[name=webhook]"))
            .await
            .unwrap();
        assert!(
            subscribe.is_displayed().await.unwrap(),
            "{name}: the subscription form"
        );
        // Nothing wider than the screen.
        let (_, _, page_width, _) = client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .rectangle()
            .await
            .unwrap();
        assert_eq!(page_width, f64::from(width), "{name}: the viewport");
        let components = client.find(Locator::Css(".components")).await.unwrap();
        let (_, _, box_width, _) = components.rectangle().await.unwrap();
        assert!(box_width <= page_width, "{name}: {box_width} px wide");
        let background = client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .css_value("background-color")
            .await
            .unwrap();
        let expected = if dark {
            "rgba(17, 21, 28, 1)"
        } else {
            "rgba(246, 247, 249, 1)"
        };
        assert_eq!(background, expected, "{name}");
        let png = client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
        std::fs::write(screenshot_path(name), png).unwrap();
        client.close().await.unwrap();
    }
    app.stop().await;
}
