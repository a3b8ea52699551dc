//! The `watchkeeper` binary as a user runs it: `validate`, `check` and
//! `serve` (until SIGTERM or SIGINT), their output and their exit codes (0
//! good, 1 failed, 2 config); `store copy` is in `store_copy`.

use std::fmt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use jiff::Timestamp;
use nix::sys::signal::Signal;
use serde_json::Value;
use watchkeeper_testkit::{
    DemoConfig, Engine, Mode, Served, TempConfig, TestCa, leaf_params, on_both_engines,
    spawn_demo_on_loopback, spawn_tls_target,
};

use crate::process::{ServeProcess, Stopped, watchkeeper};
use crate::support::{STORAGE, db_path, monitor_id, open_store, storage};

/// How long one `validate` or `check` may take.
const COMMAND_DEADLINE: Duration = Duration::from_secs(30);

/// What a finished command did; printed whole when an assertion fails.
pub struct Finished {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.status, self.stdout, self.stderr
        )
    }
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

pub async fn run(config: &Path, args: &[&str]) -> Finished {
    run_with_env(config, args, &[]).await
}

/// [`run`] with `env` set for the command (and shown with it on failure).
pub async fn run_with_env(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Finished {
    let mut command = watchkeeper(config, args);
    command.envs(env.iter().copied());
    let output = tokio::time::timeout(COMMAND_DEADLINE, command.output())
        .await
        .unwrap_or_else(|_| panic!("watchkeeper {args:?} still running after {COMMAND_DEADLINE:?}"))
        .unwrap();
    let env: String = env
        .iter()
        .map(|(name, value)| format!("{name}={value} "))
        .collect();
    Finished {
        command: format!(
            "{env}watchkeeper --config {} {}",
            config.display(),
            args.join(" ")
        ),
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// One http monitor of the demo, every second, expecting a healthy answer,
/// stored on SQLite.
pub fn demo_monitor(url: &str) -> String {
    demo_monitor_stored(STORAGE, url)
}

/// [`demo_monitor`], stored as the `[storage]` table `storage` says.
pub fn demo_monitor_stored(storage: &str, url: &str) -> String {
    format!(
        r#"
{storage}
[[component]]
id = "api"

[[monitor]]
id = "demo"
component = "api"
interval = "1s"
timeout = "900ms"
http = {{ url = "{url}" }}
expect = ['status == 200', 'json.status == "ok"']
"#
    )
}

#[tokio::test]
async fn validate_accepts_a_valid_config() {
    let config = TempConfig::new(&demo_monitor("http://127.0.0.1:9/health")).unwrap();
    let finished = run(config.path(), &["validate"]).await;
    assert_eq!(finished.code(), Some(0), "{finished}");
    assert!(
        finished
            .stdout
            .contains("ok (1 monitor, 1 component, 1 file)"),
        "{finished}"
    );
}

#[tokio::test]
async fn validate_reports_every_error_with_its_position() {
    let broken = r#"[server]
regoin = "eu-west"

[[monitor]]
id = "api"
component = "missing"
interval = "30"
http = { url = "http://127.0.0.1:9/health" }
expect = ['status ==']
"#;
    let config = TempConfig::new(broken).unwrap();
    let finished = run(config.path(), &["validate"]).await;
    assert_eq!(finished.code(), Some(2), "{finished}");

    let file = config.path().display().to_string();
    // FILE:LINE:COL: message, pointing at the key or value at fault.
    let positioned: Vec<((usize, usize), &str)> = finished
        .stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(&file)?.strip_prefix(':')?;
            let (line_number, rest) = rest.split_once(':')?;
            let (column, message) = rest.split_once(": ")?;
            Some(((line_number.parse().ok()?, column.parse().ok()?), message))
        })
        .collect();
    let positions: Vec<(usize, usize)> = positioned.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        positions,
        [(2, 1), (6, 13), (7, 12), (9, 11)],
        "one error per problem, sorted:\n{finished}"
    );
    let expected_fragments = [
        "unknown key `regoin`",
        "unknown component `missing`",
        "invalid duration \"30\"",
        "invalid CEL expression \"status ==\"",
    ];
    for ((at, message), fragment) in positioned.iter().zip(expected_fragments) {
        assert!(
            message.contains(fragment),
            "{at:?}: {message:?} does not mention {fragment:?}\n{finished}"
        );
    }
    assert!(
        finished.stderr.contains("4 errors in the configuration"),
        "{finished}"
    );
    assert!(finished.stdout.is_empty(), "{finished}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_prints_a_table_and_exits_by_the_result() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let config = TempConfig::new(&demo_monitor(&demo.url("/health"))).unwrap();

    let ok = run(config.path(), &["check"]).await;
    assert_eq!(ok.code(), Some(0), "{ok}");
    let row = ok
        .stdout
        .lines()
        .find(|line| line.starts_with("demo "))
        .unwrap_or_else(|| panic!("no row for `demo`:\n{ok}"));
    assert_eq!(row.split_whitespace().nth(1), Some("ok"), "{ok}");
    assert!(
        ok.stdout.contains("1 checked: 1 ok, 0 degraded, 0 failed"),
        "{ok}"
    );

    demo.set_mode(Mode::Fail);
    let failed = run(config.path(), &["check"]).await;
    assert_eq!(failed.code(), Some(1), "{failed}");
    let row = failed
        .stdout
        .lines()
        .find(|line| line.starts_with("demo "))
        .unwrap_or_else(|| panic!("no row for `demo`:\n{failed}"));
    assert_eq!(row.split_whitespace().nth(1), Some("FAIL"), "{failed}");
    assert!(
        row.contains("status == 200 failed: status was 500"),
        "{failed}"
    );

    let json = run(config.path(), &["check", "--json"]).await;
    assert_eq!(json.code(), Some(1), "{json}");
    let lines: Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{json}"));
    let lines = lines
        .as_array()
        .unwrap_or_else(|| panic!("not an array:\n{json}"));
    assert_eq!(lines.len(), 1, "{json}");
    assert_eq!(lines[0]["monitor"], "demo");
    assert_eq!(lines[0]["health"], "down");
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["reason"], "status == 200 failed: status was 500");
    assert!(lines[0]["latency_ms"].is_number(), "{json}");
}

/// A target with a bad certificate is a failed row with a plain reason,
/// and nothing else: no line from the TLS verifier on stderr (it logs each
/// certificate it rejects at ERROR), with `RUST_LOG=info` as a user runs it
/// and at `debug` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_of_a_self_signed_target_prints_only_its_table() {
    let served = Served::self_signed_localhost((2035, 1, 1)).unwrap();
    let address = spawn_tls_target(served).await.unwrap();
    let url = format!("https://localhost:{}/health", address.port());
    let config = TempConfig::new(&demo_monitor(&url)).unwrap();
    for rust_log in ["info", "debug"] {
        let output = tokio::time::timeout(
            COMMAND_DEADLINE,
            watchkeeper(config.path(), &["check"])
                .env("RUST_LOG", rust_log)
                .output(),
        )
        .await
        .unwrap()
        .unwrap();
        let finished = Finished {
            command: format!("RUST_LOG={rust_log} watchkeeper check"),
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_eq!(finished.code(), Some(1), "{finished}");
        let row = finished
            .stdout
            .lines()
            .find(|line| line.starts_with("demo "))
            .unwrap_or_else(|| panic!("no row for `demo`:\n{finished}"));
        assert!(
            row.ends_with(&format!(
                "GET {url}: tls: certificate is not trusted (unknown issuer; self-signed?)"
            )),
            "{finished}"
        );
        let stray: Vec<&str> = finished
            .stderr
            .lines()
            .filter(|line| {
                line.contains("rustls") || line.contains("ERROR") || line.contains("certificate")
            })
            .collect();
        assert!(stray.is_empty(), "stray lines {stray:?}\n{finished}");
        if rust_log == "info" {
            assert!(finished.stderr.is_empty(), "{finished}");
        }
    }
}

/// `check --json` on `config` with `SSL_CERT_FILE` naming `ca_file`, or
/// with neither it nor `SSL_CERT_DIR` set: each monitor's health and reason.
async fn check_trusting(
    config: &Path,
    ca_file: Option<&Path>,
) -> (Finished, Vec<(String, String)>) {
    let mut command = watchkeeper(config, &["check", "--json"]);
    command
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(ca_file) = ca_file {
        command.env("SSL_CERT_FILE", ca_file);
    }
    let output = tokio::time::timeout(COMMAND_DEADLINE, command.output())
        .await
        .unwrap()
        .unwrap();
    let finished = Finished {
        command: format!("SSL_CERT_FILE={ca_file:?} watchkeeper check --json"),
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let lines: Value = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{finished}"));
    let rows = lines
        .as_array()
        .unwrap_or_else(|| panic!("not an array:\n{finished}"))
        .iter()
        .map(|line| {
            (
                line["health"].as_str().unwrap_or_default().to_owned(),
                line["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (finished, rows)
}

/// The way docs/probes.md tells a user to trust a private CA: its
/// certificate in `SSL_CERT_FILE`. With it, a target whose certificate the
/// CA issued for `localhost` is up and one issued for another name is down
/// with the name-mismatch reason; without it, the first is down as not
/// trusted. Reasons in words, as documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_trusts_a_private_ca_named_by_ssl_cert_file() {
    let ca = TestCa::new("Watchkeeper CLI Test CA").unwrap();
    let good = spawn_tls_target(ca.issue(leaf_params(&["localhost"]).unwrap()).unwrap())
        .await
        .unwrap();
    let other = spawn_tls_target(ca.issue(leaf_params(&["other.test"]).unwrap()).unwrap())
        .await
        .unwrap();
    let good_url = format!("https://localhost:{}/health", good.port());
    let other_url = format!("https://localhost:{}/health", other.port());
    let config = TempConfig::new(&format!(
        "{STORAGE}\n\
         [[monitor]]\nid = \"good\"\nhttp = {{ url = \"{good_url}\" }}\nexpect = ['status == 200']\n\n\
         [[monitor]]\nid = \"other\"\nhttp = {{ url = \"{other_url}\" }}\nexpect = ['status == 200']\n"
    ))
    .unwrap();
    let ca_file = config.dir().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    let (finished, rows) = check_trusting(config.path(), Some(&ca_file)).await;
    assert_eq!(finished.code(), Some(1), "{finished}");
    assert_eq!(
        rows,
        [
            ("up".to_owned(), String::new()),
            (
                "down".to_owned(),
                format!(
                    "GET {other_url}: tls: certificate is not valid for this host name \
                     (it is for other.test)"
                )
            ),
        ],
        "{finished}"
    );

    let (finished, rows) = check_trusting(config.path(), None).await;
    assert_eq!(finished.code(), Some(1), "{finished}");
    assert_eq!(
        rows[0],
        (
            "down".to_owned(),
            format!(
                "GET {good_url}: tls: certificate is not trusted (unknown issuer; self-signed?)"
            )
        ),
        "{finished}"
    );
}

#[tokio::test]
async fn check_of_an_unknown_monitor_is_a_config_error() {
    let config = TempConfig::new(&demo_monitor("http://127.0.0.1:9/health")).unwrap();
    let finished = run(config.path(), &["check", "unknown-id"]).await;
    assert_eq!(finished.code(), Some(2), "{finished}");
    assert!(
        finished.stderr.contains("unknown monitor `unknown-id`"),
        "{finished}"
    );
    assert!(
        finished.stderr.contains("known monitors: demo"),
        "{finished}"
    );
}

/// `serve` until `signal`: it probes, answers, and on the signal finishes,
/// exits 0 and leaves its results and its one state change stored.
async fn serve_until(engine: Engine, signal: Signal) {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let storage = storage(engine).await;
    let config = TempConfig::new(&demo_monitor_stored(&storage, &demo.url("/health"))).unwrap();
    let serve = ServeProcess::start(config.path(), &[]).await;
    serve.wait_for_state("demo", "up").await;

    let Stopped { status, stderr } = serve.stop_with(signal).await;
    assert_eq!(
        status.code(),
        Some(0),
        "stopped by {signal}; stderr:\n{stderr}"
    );
    assert!(stderr.contains("shutdown complete"), "stderr:\n{stderr}");

    if engine == Engine::Sqlite {
        assert!(db_path(&config).exists());
    }
    let store = open_store(&config).await;
    let results = store
        .results_between(&monitor_id("demo"), Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap();
    assert!(!results.is_empty(), "no results stored; stderr:\n{stderr}");
    let changes = store.state_changes(&monitor_id("demo"), 100).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    store.close().await;
}

on_both_engines! {
    #[flavor(multi_thread)]
    async fn serve_runs_until_sigterm_then_exits_cleanly_with_results_stored(engine) {
        serve_until(engine, Signal::SIGTERM).await;
    }

    #[flavor(multi_thread)]
    async fn serve_runs_until_sigint_then_exits_cleanly_with_results_stored(engine) {
        serve_until(engine, Signal::SIGINT).await;
    }
}

/// The block of `help` from its `Exit codes:` line to its end.
fn exit_codes_of(help: &Finished) -> &str {
    let start = help
        .stdout
        .find("Exit codes:")
        .unwrap_or_else(|| panic!("no exit codes in the help:\n{help}"));
    help.stdout[start..].trim_end()
}

#[tokio::test]
async fn each_command_s_help_lists_its_exit_codes() {
    let unused = Path::new("unused.toml");

    let token = run(unused, &["token", "create", "--help"]).await;
    assert_eq!(token.code(), Some(0), "{token}");
    assert_eq!(
        exit_codes_of(&token),
        watchkeeper::token_command::TOKEN_EXITS
    );

    let check = run(unused, &["check", "--help"]).await;
    assert_eq!(check.code(), Some(0), "{check}");
    assert_eq!(
        exit_codes_of(&check),
        "Exit codes:
  0  every monitor checked passed (up or degraded)
  1  a monitor failed (down), or the probes could not start
  2  the configuration is invalid, a named monitor is not in it,
     or the command line is invalid",
        "{check}"
    );

    let validate = run(unused, &["validate", "--help"]).await;
    assert_eq!(validate.code(), Some(0), "{validate}");
    assert_eq!(
        exit_codes_of(&validate),
        "Exit codes:
  0  the configuration is valid
  2  the configuration is invalid (every error printed as FILE:LINE:COL: message),
     or the command line is",
        "{validate}"
    );

    let serve = run(unused, &["serve", "--help"]).await;
    assert_eq!(serve.code(), Some(0), "{serve}");
    assert_eq!(
        exit_codes_of(&serve),
        "Exit codes:
  0  stopped by SIGTERM or SIGINT, every result written
  1  could not start (the address, the store, the probes), failed while running,
     or results or state changes could not be written before exiting
  2  the configuration or the command line is invalid
  3  a task serve cannot run without (the scheduler, the recorder) died;
     a supervisor such as systemd should restart it",
        "{serve}"
    );

    let top = run(unused, &["--help"]).await;
    assert_eq!(top.code(), Some(0), "{top}");
    assert!(
        top.stdout
            .contains("Each command's --help lists its exit codes."),
        "{top}"
    );
}

/// The 2s the help promises besides an invalid file: a wrong command line,
/// and `serve` refusing an invalid config before it listens.
#[tokio::test]
async fn a_wrong_command_line_and_serve_of_an_invalid_config_exit_2() {
    let usage = run(Path::new("unused.toml"), &["check", "--no-such-flag"]).await;
    assert_eq!(usage.code(), Some(2), "{usage}");
    assert!(
        usage
            .stderr
            .contains("unexpected argument '--no-such-flag'"),
        "{usage}"
    );

    let config = TempConfig::new("[server]\nregoin = \"eu-west\"\n").unwrap();
    let serve = run(config.path(), &["serve", "--listen", "127.0.0.1:0"]).await;
    assert_eq!(serve.code(), Some(2), "{serve}");
    assert!(serve.stderr.contains("unknown key `regoin`"), "{serve}");
}

/// The tagline names what the binary does today. When runbooks land, they
/// join it and this test with them.
#[tokio::test]
async fn the_tagline_promises_only_what_is_built() {
    let help = run(Path::new("unused.toml"), &["--help"]).await;
    assert_eq!(help.code(), Some(0), "{help}");
    let tagline = help.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        tagline,
        "Monitors services, pages people and runs incidents from one TOML file: probes, state history, alert rules and SLOs, notifications, on-call and escalation, incidents and postmortems, a status page, Prometheus metrics, a JSON API",
        "{help}"
    );
    assert!(
        !help.stdout.to_lowercase().contains("runbook"),
        "the help promises runbooks, which are not built yet:\n{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_while_serving() {
    let demo = spawn_demo_on_loopback(DemoConfig::default()).await.unwrap();
    let url = demo.url("/health");
    let config = TempConfig::new(&demo_monitor(&url)).unwrap();
    let serve = ServeProcess::start(config.path(), &[]).await;
    serve.wait_for_state("demo", "up").await;

    // A second monitor appears on SIGHUP; the first keeps running. (An
    // invalid file takes the same path as `POST /-/reload`, tested there.)
    let with_second = format!(
        "{}\n[[monitor]]\nid = \"second\"\ninterval = \"1s\"\ntimeout = \"900ms\"\nhttp = {{ url = \"{url}\" }}\n",
        demo_monitor(&url)
    );
    std::fs::write(config.path(), &with_second).unwrap();
    serve.signal(Signal::SIGHUP);
    serve.wait_for_state("second", "up").await;
    serve.wait_for_state("demo", "up").await;

    let Stopped { status, stderr } = serve.stop_with(Signal::SIGTERM).await;
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("monitors reloaded"), "stderr:\n{stderr}");
}
