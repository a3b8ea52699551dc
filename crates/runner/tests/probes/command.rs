//! The command probe: exit codes, captured and capped output, environment,
//! working directory, a timeout or an abandoned probe that kills the whole
//! process group, and a program that does not exist.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use watchkeeper_domain::monitor::{CommandSpec, DEFAULT_OUTPUT_LIMIT, ProbeSpec, Secret};
use watchkeeper_domain::observation::{CommandObservation, FailureKind, ObservationDetail};

use watchkeeper_testkit::poll_until;

use crate::support::prober;

fn command(argv: &[&str]) -> CommandSpec {
    CommandSpec {
        argv: argv.iter().map(|arg| (*arg).to_owned()).collect(),
        env: Vec::new(),
        cwd: None,
        output_limit: DEFAULT_OUTPUT_LIMIT,
    }
}

async fn run(spec: CommandSpec, timeout: Duration) -> CommandObservation {
    let observation = prober()
        .probe(&ProbeSpec::Command(spec), timeout)
        .await
        .unwrap();
    match observation.detail {
        ObservationDetail::Command(command) => command,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn exit_codes_and_output_are_captured() {
    let ok = run(
        command(&["sh", "-c", "echo hello; echo oops >&2"]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(ok.exit_code, Some(0));
    assert_eq!(ok.stdout, b"hello\n");
    assert_eq!(ok.stderr, b"oops\n");
    let failed = run(command(&["sh", "-c", "exit 3"]), Duration::from_secs(10)).await;
    assert_eq!(failed.exit_code, Some(3));
}

#[tokio::test]
async fn arguments_are_never_interpreted_by_a_shell() {
    let observation = run(
        command(&["echo", "$HOME; rm -rf /"]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(observation.stdout, b"$HOME; rm -rf /\n");
}

#[tokio::test]
async fn output_is_capped_and_the_child_is_never_blocked() {
    let mut spec = command(&["sh", "-c", "head -c 1000000 /dev/zero; echo done >&2"]);
    spec.output_limit = 1000;
    let observation = run(spec, Duration::from_secs(10)).await;
    assert_eq!(observation.exit_code, Some(0));
    assert_eq!(observation.stdout.len(), 1000);
    assert_eq!(observation.stderr, b"done\n");
}

#[tokio::test]
async fn env_and_cwd_are_applied() {
    let mut spec = command(&["sh", "-c", "echo \"$GREETING\"; pwd"]);
    spec.env
        .push(("GREETING".to_owned(), Secret("hi there".to_owned())));
    spec.cwd = Some(PathBuf::from("/"));
    let observation = run(spec, Duration::from_secs(10)).await;
    assert_eq!(observation.stdout, b"hi there\n/\n");
}

#[tokio::test]
async fn a_killed_command_has_no_exit_code() {
    let observation = run(
        command(&["sh", "-c", "kill -9 $$"]),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(observation.exit_code, None);
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_failure() {
    let failure = prober()
        .probe(
            &ProbeSpec::Command(command(&["watchkeeper-no-such-program"])),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Spawn);
    assert_eq!(
        failure.message,
        "cannot run `watchkeeper-no-such-program`: No such file or directory"
    );
}

/// A live process's group, or `None` once it is gone (zombies count as
/// gone: they are dead and only wait for whoever reaps orphans).
fn live_group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) in ")".
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (state, pgrp) = (fields[0], fields[2].parse::<i32>().ok()?);
    (state != "Z" && state != "X").then_some(pgrp)
}

/// Processes in `group` that are still alive.
fn live_members(group: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| live_group_of(*pid) == Some(group))
        .collect()
}

/// The pid a command wrote to `path`, once it has.
fn written_pid(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let pid_file =
        std::env::temp_dir().join(format!("watchkeeper-runner-group-{}", std::process::id()));
    let script = format!("echo $$ > {}; sleep 30 & sleep 30", pid_file.display());
    let started = Instant::now();
    let failure = prober()
        .probe(
            &ProbeSpec::Command(command(&["sh", "-c", &script])),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(
        failure.message,
        "exec sh: timed out after 2s (process group killed)"
    );

    // The shell ran in its own group, whose id is its pid.
    let group: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::fs::remove_file(&pid_file).unwrap();
    poll_until(
        Duration::from_secs(5),
        &format!("every process in group {group} to be gone"),
        || async { live_members(group).is_empty().then_some(()) },
    )
    .await;
}

#[tokio::test]
async fn an_abandoned_probe_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    // The shell starts a grandchild and waits for it; the file's path goes
    // in as an argument ($1), never into the script.
    let spec = command(&[
        "sh",
        "-c",
        "sleep 30 & echo $! > \"$1\"; wait",
        "sh",
        pid_file.to_str().unwrap(),
    ]);
    let probe = tokio::spawn(async move {
        prober()
            .probe(&ProbeSpec::Command(spec), Duration::from_secs(60))
            .await
    });
    let grandchild = poll_until(
        Duration::from_secs(10),
        "the command to start its grandchild",
        || async { written_pid(&pid_file) },
    )
    .await;
    let group = live_group_of(grandchild).expect("the grandchild runs");

    // What shutdown does to a probe it stops waiting for.
    probe.abort();
    assert!(probe.await.unwrap_err().is_cancelled());

    poll_until(
        Duration::from_secs(5),
        &format!("grandchild {grandchild} (group {group}) to be killed"),
        || async { live_members(group).is_empty().then_some(()) },
    )
    .await;
}
