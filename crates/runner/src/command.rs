//! The command probe: runs a program from its argv (never through a shell)
//! in its own process group, captures stdout and stderr up to a cap, and on
//! timeout — or when the probe is dropped before the program was reaped —
//! kills the whole group so nothing it started lingers.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::Instant;
use watchkeeper_domain::monitor::CommandSpec;
use watchkeeper_domain::observation::{
    CommandObservation, FailureKind, Observation, ObservationDetail, ProbeFailure,
};

use crate::units;

pub(crate) async fn probe(
    spec: &CommandSpec,
    timeout: Duration,
) -> Result<Observation, ProbeFailure> {
    let start = Instant::now();
    let Some((program, arguments)) = spec.argv.split_first() else {
        return Err(ProbeFailure::new(
            FailureKind::Spawn,
            "cannot run an empty command",
        ));
    };
    let target = format!("exec {program}");
    let mut command = Command::new(program);
    command
        .args(arguments)
        .envs(spec.env.iter().map(|(name, value)| (name, value.expose())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout can kill everything it started.
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn().map_err(|error| {
        ProbeFailure::new(
            FailureKind::Spawn,
            format!("cannot run `{program}`: {}", crate::net::io_reason(&error)),
        )
    })?;
    let process_group = child.id().and_then(|id| i32::try_from(id).ok());
    // Until the child is reaped, dropping this probe kills its whole group.
    let mut group_guard = GroupGuard(process_group);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (stdout, stderr, status) = tokio::join!(
            read_capped(stdout, spec.output_limit),
            read_capped(stderr, spec.output_limit),
            child.wait(),
        );
        (stdout, stderr, status)
    };
    match tokio::time::timeout(timeout, run).await {
        Ok((stdout, stderr, status)) => {
            if status.is_ok() {
                group_guard.disarm();
            }
            let status = status.map_err(|error| {
                ProbeFailure::new(
                    FailureKind::Io,
                    format!(
                        "{target}: waiting for it: {}",
                        crate::net::io_reason(&error)
                    ),
                )
            })?;
            Ok(Observation {
                latency: start.elapsed(),
                detail: ObservationDetail::Command(CommandObservation {
                    exit_code: status.code(),
                    stdout,
                    stderr,
                }),
            })
        }
        Err(_elapsed) => {
            if let Some(group) = process_group
                && let Err(error) = killpg(Pid::from_raw(group), Signal::SIGKILL)
            {
                tracing::warn!(error = %error, group, "cannot kill the timed-out process group");
            }
            // Reap the child; SIGKILL cannot be ignored, so this is quick.
            match child.wait().await {
                Ok(_) => group_guard.disarm(),
                Err(error) => {
                    tracing::warn!(error = %error, "cannot reap the timed-out command");
                }
            }
            Err(ProbeFailure::new(
                FailureKind::Timeout,
                format!(
                    "{target}: timed out after {} (process group killed)",
                    units::duration(timeout)
                ),
            ))
        }
    }
}

/// Kills a command's process group when dropped, unless disarmed once the
/// leader is reaped. A probe future dropped mid-run (its task aborted, say
/// at shutdown) would otherwise leave everything the command started
/// running: `kill_on_drop` reaches only the leader. Until the leader is
/// reaped its pid cannot be reused, so the group id still names its group.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.0.take()
            && let Err(error) = killpg(Pid::from_raw(group), Signal::SIGKILL)
        {
            tracing::warn!(error = %error, group, "cannot kill the abandoned process group");
        }
    }
}

/// Keeps the first `limit` bytes and drains the rest, so the child never
/// blocks on a full pipe. A read error ends the capture with what was read.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> Vec<u8> {
    let Some(mut pipe) = pipe else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) => break,
            Ok(read) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..read.min(room)]);
            }
            Err(error) => {
                tracing::debug!(error = %error, "reading command output failed");
                break;
            }
        }
    }
    kept
}
