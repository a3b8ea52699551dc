//! TempConfig and the demo re-export.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use watchkeeper_testkit::{
    CONFIG_FILE_NAME, Clock, DemoConfig, ManualClock, Mode, TempConfig, spawn_demo_on_loopback,
};

#[test]
fn temp_config_writes_the_file_and_removes_it_on_drop() {
    let toml = "[server]\nlisten = \"127.0.0.1:0\"\n";
    let config = TempConfig::new(toml).unwrap();
    assert_eq!(config.path().file_name().unwrap(), CONFIG_FILE_NAME);
    assert_eq!(config.path().parent().unwrap(), config.dir());
    assert_eq!(std::fs::read_to_string(config.path()).unwrap(), toml);

    let runbook = config
        .write_file("runbooks/failover.toml", "id = \"failover\"\n")
        .unwrap();
    assert!(runbook.starts_with(config.dir()));
    assert_eq!(
        std::fs::read_to_string(&runbook).unwrap(),
        "id = \"failover\"\n"
    );

    let dir = config.dir().to_path_buf();
    drop(config);
    assert!(!dir.exists(), "the temp dir outlived its TempConfig");
}

#[test]
fn two_temp_configs_do_not_share_a_directory() {
    let first = TempConfig::new("").unwrap();
    let second = TempConfig::new("").unwrap();
    assert_ne!(first.dir(), second.dir());
}

#[tokio::test]
async fn the_demo_is_reachable_through_the_testkit() {
    let demo = spawn_demo_on_loopback(DemoConfig {
        initial_mode: Mode::Fail,
        ..DemoConfig::default()
    })
    .await
    .unwrap();
    let mut stream = TcpStream::connect(demo.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: demo\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response))
        .await
        .unwrap()
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(response.contains("database unavailable"), "{response}");
    demo.shutdown().await;
}

#[test]
fn manual_clock_is_re_exported() {
    let start = "2026-01-01T00:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    clock.advance(Duration::from_secs(30));
    assert_eq!(clock.now().as_second() - start.as_second(), 30);
}
