//! The `watchkeeper` binary as a child process: the command every CLI test
//! starts from, and `serve` running until a signal stops it, with its logs
//! read as it goes so a full pipe can never block it.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use watchkeeper_testkit::poll_until;

use crate::support::{DEADLINE, authorized_client};

/// How long `serve` may take to exit after SIGTERM or SIGINT.
const SIGNAL_DEADLINE: Duration = Duration::from_secs(10);

/// `watchkeeper --config CONFIG ARGS…`, logging at info, output piped.
pub fn watchkeeper(config: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watchkeeper"));
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("WATCHKEEPER_CONFIG")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

async fn read_all(mut pipe: impl AsyncRead + Unpin) -> String {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).await.unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `watchkeeper serve` running on a free loopback port, with a client that
/// sends an admin token made by `watchkeeper token create`.
pub struct ServeProcess {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub client: reqwest::Client,
    child: Child,
    /// Everything it logs, once it has exited.
    stderr: JoinHandle<String>,
}

/// How `serve` ended.
pub struct Stopped {
    pub status: ExitStatus,
    pub stderr: String,
}

impl ServeProcess {
    /// Starts `serve` with `extra_args` before the subcommand (such as
    /// `--log-format json`) and waits until it answers `/health`.
    pub async fn start(config: &Path, extra_args: &[&str]) -> Self {
        // `serve` does not print its port in a parseable way: pick a free one.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        // An admin token made the way a user makes one, for the API.
        let name = format!("serve-test-{port}");
        let created = watchkeeper(
            config,
            &["token", "create", "--name", &name, "--role", "admin"],
        )
        .output()
        .await
        .unwrap();
        assert!(
            created.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
        let mut args = extra_args.to_vec();
        args.extend(["serve", "--listen", &listen]);
        let mut child = watchkeeper(config, &args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = tokio::spawn(read_all(child.stderr.take().unwrap()));
        let serve = Self {
            base: format!("http://{listen}"),
            client: authorized_client(&token),
            child,
            stderr,
        };
        poll_until(DEADLINE, "serve to answer /health", || async {
            let body = serve.get_json("/health").await?;
            (body["status"] == "ok").then_some(())
        })
        .await;
        serve
    }

    /// GETs `path` as JSON; `None` while it cannot answer.
    pub async fn get_json(&self, path: &str) -> Option<Value> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// Polls the monitor's detail until its state is `health`.
    pub async fn wait_for_state(&self, id: &str, health: &str) -> Value {
        poll_until(
            DEADLINE,
            &format!("monitor `{id}` to be {health}"),
            || async {
                let detail = self.get_json(&format!("/api/v1/monitors/{id}")).await?;
                (detail["state"] == health).then_some(detail)
            },
        )
        .await
    }

    /// Sends `signal` and returns at once (the process keeps running).
    pub fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        kill(pid, signal).unwrap();
    }

    /// Sends `signal` and waits for the process to exit.
    pub async fn stop_with(mut self, signal: Signal) -> Stopped {
        let pid = Pid::from_raw(i32::try_from(self.child.id().unwrap()).unwrap());
        kill(pid, signal).unwrap();
        let status = tokio::time::timeout(SIGNAL_DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("serve still running {SIGNAL_DEADLINE:?} after {signal}"))
            .unwrap();
        let stderr = self.stderr.await.unwrap();
        Stopped { status, stderr }
    }
}
