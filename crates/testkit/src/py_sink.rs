//! `PySink`: one of the Python notification sinks in `tests/sinks/` run as
//! a child process (a webhook receiver that verifies Standard Webhooks
//! signatures with the reference library, an SMTP server), its port read
//! from its `listening PORT` line and every JSON line it prints after that
//! collected for the test to read. Killed on drop.
//!
//! A missing `python3`, a missing PyPI module or a sink that dies at start
//! is an error that says so — the test fails with the reason, it is never
//! skipped (`./scripts/test` installs the modules).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::poll::POLL_INTERVAL;

/// How long a sink may take to print `listening PORT`.
pub const SINK_START_DEADLINE: Duration = Duration::from_secs(10);

/// What `./scripts/test` installs; named in errors.
const INSTALL_HINT: &str = "the sinks need python3 with the PyPI packages standardwebhooks and aiosmtpd (`./scripts/test` installs them)";

#[derive(Debug, thiserror::Error)]
pub enum PySinkError {
    #[error("cannot run `python3 {script}`: {error}; {INSTALL_HINT}")]
    Spawn {
        script: String,
        error: std::io::Error,
    },
    #[error(
        "`python3 {script}` did not say `listening PORT` within {waited:?}; it said {said:?} and on stderr:\n{stderr}\n{INSTALL_HINT}"
    )]
    NotListening {
        script: String,
        waited: Duration,
        said: Option<String>,
        stderr: String,
    },
}

/// A running sink. Its JSON lines accumulate in [`PySink::received`].
pub struct PySink {
    script: String,
    child: Child,
    addr: SocketAddr,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
    stderr: Arc<Mutex<String>>,
}

/// `tests/sinks/` at the workspace's root.
pub fn sinks_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sinks")
}

impl PySink {
    /// `python3 tests/sinks/webhook_sink.py ARGS`.
    pub async fn webhook(args: &[&str]) -> Result<Self, PySinkError> {
        Self::start("webhook_sink.py", args).await
    }

    /// `python3 tests/sinks/smtp_sink.py ARGS`.
    pub async fn smtp(args: &[&str]) -> Result<Self, PySinkError> {
        Self::start("smtp_sink.py", args).await
    }

    /// Starts `python3 tests/sinks/SCRIPT ARGS` and waits (at most
    /// [`SINK_START_DEADLINE`]) for its `listening PORT` line.
    pub async fn start(script: &str, args: &[&str]) -> Result<Self, PySinkError> {
        let mut child = Command::new("python3")
            .arg(sinks_dir().join(script))
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| PySinkError::Spawn {
                script: script.to_owned(),
                error,
            })?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (first_line, listening) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            let received = Arc::clone(&received);
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || read_stdout(out, first_line, &received, &stderr));
        }
        let stderr_reader = child.stderr.take().map(|err| {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || read_stderr(err, &stderr))
        });
        // A blocking wait off the runtime: a test on tokio's paused clock
        // must not see this deadline pass at once.
        let said = tokio::task::spawn_blocking(move || listening.recv_timeout(SINK_START_DEADLINE))
            .await
            .ok()
            .and_then(Result::ok);
        let port = said
            .as_deref()
            .and_then(|line| line.strip_prefix("listening "))
            .and_then(|port| port.trim().parse::<u16>().ok());
        let mut sink = Self {
            script: script.to_owned(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            received,
            stderr,
        };
        let Some(port) = port else {
            // Its last words (an ImportError, a traceback) are all read once
            // it is gone: the reader stops at the pipe's end.
            let _ = sink.child.kill();
            let _ = sink.child.wait();
            if let Some(reader) = stderr_reader {
                let _ = tokio::task::spawn_blocking(move || reader.join()).await;
            }
            return Err(PySinkError::NotListening {
                script: sink.script.clone(),
                waited: SINK_START_DEADLINE,
                said,
                stderr: sink.stderr_text(),
            });
        };
        sink.addr.set_port(port);
        Ok(sink)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every JSON line the sink has printed so far, in order.
    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .map(|received| received.clone())
            .unwrap_or_default()
    }

    /// What the sink wrote to stderr so far (its log).
    pub fn stderr_text(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }

    /// Waits until at least `count` lines have arrived and returns them all.
    ///
    /// # Panics
    ///
    /// When `deadline` passes first, with what did arrive and the sink's
    /// stderr.
    pub async fn wait_for(&mut self, count: usize, deadline: Duration) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if started.elapsed() >= deadline {
                let exited = self.child.try_wait().ok().flatten();
                panic!(
                    "{}: waited {deadline:?} for {count} lines, got {}{}:\n{received:#?}\nstderr:\n{}",
                    self.script,
                    received.len(),
                    exited.map_or(String::new(), |status| format!(" (it exited: {status})")),
                    self.stderr_text()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for PySink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_stdout(
    out: impl Read,
    first_line: mpsc::Sender<String>,
    received: &Mutex<Vec<serde_json::Value>>,
    stderr: &Mutex<String>,
) {
    let mut lines = BufReader::new(out).lines();
    match lines.next() {
        Some(Ok(line)) => {
            let _ = first_line.send(line);
        }
        _ => return,
    }
    for line in lines.map_while(Result::ok) {
        match serde_json::from_str(&line) {
            Ok(value) => {
                if let Ok(mut received) = received.lock() {
                    received.push(value);
                }
            }
            Err(error) => {
                if let Ok(mut stderr) = stderr.lock() {
                    stderr.push_str(&format!("(stdout, not JSON: {error}) {line}\n"));
                }
            }
        }
    }
}

fn read_stderr(err: impl Read, stderr: &Mutex<String>) {
    for line in BufReader::new(err).lines().map_while(Result::ok) {
        if let Ok(mut stderr) = stderr.lock() {
            stderr.push_str(&line);
            stderr.push('\n');
        }
    }
}
