//! examples/quickstart/run.sh as a user runs it, on free ports and with the
//! binaries of this build: SIGTERM to the script alone stops everything it
//! started, and a demo API that cannot have its port stops the script
//! before `serve` starts, naming the port. "Nothing left" is checked on the
//! script's process group, which its children share.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;
use watchkeeper_testkit::{loopback_client_builder, poll_until};

/// How long the script may take to start everything, and to stop.
const START_DEADLINE: Duration = Duration::from_secs(60);
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// The directory holding this build's `watchkeeper` and `watchkeeper-demo`.
fn bin_dir() -> PathBuf {
    let watchkeeper = Path::new(env!("CARGO_BIN_EXE_watchkeeper"));
    let dir = watchkeeper.parent().unwrap().to_owned();
    assert!(
        dir.join("watchkeeper-demo").is_file(),
        "no watchkeeper-demo beside {}: `cargo test --workspace` builds it (or run `cargo build -p watchkeeper-demo`)",
        watchkeeper.display()
    );
    dir
}

/// Three distinct loopback ports that were free a moment ago.
fn free_ports() -> [u16; 3] {
    let listeners: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().port())
        .collect();
    [ports[0], ports[1], ports[2]]
}

fn read_pipe(
    pipe: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>,
) -> JoinHandle<String> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes).await;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The running script, in a process group of its own. Dropping it kills
/// whatever is left in the group, so a failing test leaks nothing.
struct Quickstart {
    child: Child,
    group: Pid,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    _work_dir: tempfile::TempDir,
}

/// How the script ended, and everything it and its children printed.
struct Ended {
    status: ExitStatus,
    output: String,
}

impl Quickstart {
    fn start(ports: [u16; 3]) -> Quickstart {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart/run.sh");
        let work_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("bash")
            .arg(script)
            .env("QUICKSTART_PRIMARY_PORT", ports[0].to_string())
            .env("QUICKSTART_FALLBACK_PORT", ports[1].to_string())
            .env("QUICKSTART_PORT", ports[2].to_string())
            .env("QUICKSTART_BIN_DIR", bin_dir())
            .env("QUICKSTART_WORK_DIR", work_dir.path())
            .env("RUST_LOG", "info")
            .env_remove("WATCHKEEPER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let group = Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
        let stdout = Some(read_pipe(child.stdout.take()));
        let stderr = Some(read_pipe(child.stderr.take()));
        Quickstart {
            child,
            group,
            stdout,
            stderr,
            _work_dir: work_dir,
        }
    }

    /// Waits for the script to exit (the pipes close once its children
    /// are gone too, or are left holding them).
    async fn ended(&mut self) -> Ended {
        let status = tokio::time::timeout(STOP_DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("run.sh still running after {STOP_DEADLINE:?}"))
            .unwrap();
        let mut output = String::new();
        for pipe in [self.stdout.take(), self.stderr.take()]
            .into_iter()
            .flatten()
        {
            // A child left behind holds the pipe open: do not wait for it.
            match tokio::time::timeout(Duration::from_secs(5), pipe).await {
                Ok(text) => output.push_str(&text.unwrap()),
                Err(_) => output.push_str("(a pipe is still held open by a process left behind)\n"),
            }
        }
        Ended { status, output }
    }

    /// No process is left in the script's group.
    fn assert_nothing_left(&self, ended: &Ended) {
        let alive = killpg(self.group, None);
        assert_eq!(
            alive,
            Err(Errno::ESRCH),
            "a process of run.sh's group is still running\n{}",
            ended.output
        );
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = killpg(self.group, Signal::SIGKILL);
    }
}

fn refused(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_script_stops_everything_it_started() {
    let ports = free_ports();
    let mut quickstart = Quickstart::start(ports);
    let client = loopback_client_builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let health = format!("http://127.0.0.1:{}/health", ports[2]);
    poll_until(
        START_DEADLINE,
        "watchkeeper serve answers /health",
        || async {
            let response = client.get(&health).send().await.ok()?;
            response.status().is_success().then_some(())
        },
    )
    .await;

    // The script alone, as `kill PID` does, not its group.
    kill(quickstart.group, Signal::SIGTERM).unwrap();
    let ended = quickstart.ended().await;

    assert_eq!(ended.status.code(), Some(143), "{}", ended.output);
    quickstart.assert_nothing_left(&ended);
    for port in ports {
        assert!(refused(port), "port {port} still open\n{}", ended.output);
    }
    assert!(
        ended.output.contains("shutdown complete"),
        "serve did not stop cleanly\n{}",
        ended.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_port_in_use_stops_the_script_before_serve() {
    let ports = free_ports();
    // Someone else listens on the fallback's port.
    let _taken = std::net::TcpListener::bind(("127.0.0.1", ports[1])).unwrap();
    let mut quickstart = Quickstart::start(ports);
    let ended = quickstart.ended().await;

    assert_eq!(ended.status.code(), Some(1), "{}", ended.output);
    assert!(
        ended.output.contains(&format!(
            "cannot start the fallback demo API: port {} on 127.0.0.1 is already in use",
            ports[1]
        )),
        "{}",
        ended.output
    );
    assert!(!ended.output.contains("serving"), "{}", ended.output);
    quickstart.assert_nothing_left(&ended);
    assert!(
        refused(ports[0]),
        "the primary is still up\n{}",
        ended.output
    );
    assert!(refused(ports[2]), "serve started\n{}", ended.output);
}

/// A port that is bound but not listening cannot be seen from outside: the
/// demo API's own failure to listen stops the script just the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_that_cannot_listen_stops_the_script_before_serve() {
    let ports = free_ports();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("127.0.0.1:{}", ports[0]).parse().unwrap())
        .unwrap();
    let mut quickstart = Quickstart::start(ports);
    let ended = quickstart.ended().await;

    assert_eq!(ended.status.code(), Some(1), "{}", ended.output);
    assert!(
        ended.output.contains(&format!(
            "cannot start the primary demo API: it could not listen on 127.0.0.1:{}",
            ports[0]
        )),
        "{}",
        ended.output
    );
    assert!(!ended.output.contains("serving"), "{}", ended.output);
    quickstart.assert_nothing_left(&ended);
    assert!(refused(ports[2]), "serve started\n{}", ended.output);
    drop(socket);
}
