//! The `watchkeeper-demo` binary: its command line, and a real run stopped by SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::client;

const BINARY: &str = env!("CARGO_BIN_EXE_watchkeeper-demo");

#[test]
fn help_describes_the_flags() {
    let output = std::process::Command::new(BINARY)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--region",
        "--mode",
        "--slow-delay",
        "--receiver-secret",
    ] {
        assert!(help.contains(flag), "help lacks {flag}:\n{help}");
    }
}

#[test]
fn an_unknown_mode_is_a_usage_error() {
    let output = std::process::Command::new(BINARY)
        .args(["--mode", "sideways"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown mode"), "{stderr}");
}

#[tokio::test]
async fn the_binary_serves_and_exits_cleanly_on_sigterm() {
    let mut child = Command::new(BINARY)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--region",
            "cli-region",
            "--mode",
            "degraded",
        ])
        // Not a terminal: no colour codes even though NO_COLOR is not set.
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            assert!(!line.contains('\x1b'), "colour codes in a pipe: {line:?}");
            if let Some(rest) = line.split("url=").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("the binary exited without saying where it listens");
    })
    .await
    .expect("the binary did not log its URL in time");

    let body: serde_json::Value = client()
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["region"], "cli-region");

    let pid = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("the binary did not exit after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}
