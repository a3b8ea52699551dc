//! The command probe: exit codes, captured and capped output, environment,
//! working directory, a timeout that kills the whole process group, and a
//! program that does not exist.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use watchkeeper_domain::monitor::{CommandSpec, DEFAULT_OUTPUT_LIMIT, ProbeSpec, Secret};
use watchkeeper_domain::observation::{CommandObservation, FailureKind, ObservationDetail};

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

/// Processes in `group` that are still alive (zombies do not count: they
/// are dead and only wait for whoever reaps orphans).
fn live_members(group: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may contain spaces) in ")".
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (state, pgrp) = (fields[0], fields[2].parse::<i32>().unwrap_or(-1));
        if pgrp == group && state != "Z" && state != "X" {
            members.push(pid);
        }
    }
    members
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
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut alive = live_members(group);
    while !alive.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        alive = live_members(group);
    }
    assert!(alive.is_empty(), "still alive in group {group}: {alive:?}");
}
