//! The `command` channel: runs the notifier's program from its argv —
//! exec'd directly, never through a shell — with the event as JSON on
//! stdin and a few facts in environment variables. Values are data: no
//! part of the event is ever put into the argv or interpreted by anything.
//!
//! - Environment (besides Watchkeeper's own): `WATCHKEEPER_EVENT_TYPE`
//!   (`alert.firing` while any alert of the group fires, else
//!   `alert.resolved`), `WATCHKEEPER_DELIVERY_ID` (the same on every
//!   attempt), `WATCHKEEPER_SEVERITY` (the most urgent firing one),
//!   `WATCHKEEPER_GROUP_KEY`, `WATCHKEEPER_ALERTS` (how many fire).
//! - The program runs in its own process group; at the timeout the whole
//!   group is killed (and so it is when the delivery is dropped before the
//!   program was reaped), so nothing it started lingers. The pattern is
//!   the command probe's (`runner::command`), copied rather than shared:
//!   depending on the runner for twenty lines would bring probing along.
//! - Exit 0 is [`Outcome::Accepted`] with the first [`ANSWER_LIMIT`] of
//!   stdout as the answer; any other exit, a signal, a program that cannot
//!   start, or the timeout is [`Outcome::Failed`] (retried), with the exit
//!   code and the last [`ANSWER_LIMIT`] of stderr.

use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::Command;
use watchkeeper_domain::notifier::CommandChannel;

use crate::payload::{AlertStatus, Notification};
use crate::retry::Outcome;

/// How much of stdout (its start) and of stderr (its end) is kept.
pub const ANSWER_LIMIT: usize = 1024;

/// The environment variables a command is given, in order.
pub fn environment(notification: &Notification) -> [(&'static str, String); 5] {
    let event_type = match notification.status() {
        AlertStatus::Firing => "alert.firing",
        AlertStatus::Resolved => "alert.resolved",
    };
    [
        ("WATCHKEEPER_EVENT_TYPE", event_type.to_owned()),
        ("WATCHKEEPER_DELIVERY_ID", notification.id.clone()),
        ("WATCHKEEPER_SEVERITY", notification.severity().to_owned()),
        ("WATCHKEEPER_GROUP_KEY", notification.group_key.clone()),
        (
            "WATCHKEEPER_ALERTS",
            notification.firing().count().to_string(),
        ),
    ]
}

/// Runs `channel`'s program once for `notification`, `event` on its stdin.
pub async fn run(
    channel: &CommandChannel,
    notification: &Notification,
    event: &serde_json::Value,
) -> Outcome {
    let Some((program, arguments)) = channel.argv.split_first() else {
        return Outcome::Rejected {
            reason: "the command is empty".to_owned(),
        };
    };
    let input = event.to_string().into_bytes();
    let mut command = Command::new(program);
    command
        .args(arguments)
        .envs(environment(notification))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group, so a timeout can kill everything it started.
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return Outcome::Failed {
                reason: format!("cannot run `{program}`: {error}"),
            };
        }
    };
    let process_group = child.id().and_then(|id| i32::try_from(id).ok());
    // Until the child is reaped, dropping this delivery kills its group.
    let mut group_guard = GroupGuard(process_group);
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let exchange = async {
        let ((), stdout, stderr, status) = tokio::join!(
            feed(stdin, &input),
            read_head(stdout, ANSWER_LIMIT),
            read_tail(stderr, ANSWER_LIMIT),
            child.wait(),
        );
        (stdout, stderr, status)
    };
    match tokio::time::timeout(channel.timeout, exchange).await {
        Ok((stdout, stderr, status)) => {
            if status.is_ok() {
                group_guard.disarm();
            }
            match status {
                Ok(status) => outcome(program, status, &stdout, &stderr),
                Err(error) => Outcome::Failed {
                    reason: format!("`{program}`: waiting for it: {error}"),
                },
            }
        }
        Err(_elapsed) => {
            let group_killed = match process_group {
                Some(group) => match killpg(Pid::from_raw(group), Signal::SIGKILL) {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::warn!(error = %error, group, "cannot kill the timed-out notifier command's process group");
                        false
                    }
                },
                None => false,
            };
            if !group_killed {
                // At least the program itself, or the wait below is unbounded.
                let _ = child.start_kill();
            }
            // SIGKILL cannot be ignored: reaping is quick.
            if child.wait().await.is_ok() {
                group_guard.disarm();
            }
            Outcome::Failed {
                reason: format!(
                    "`{program}` timed out after {} s (process group killed)",
                    channel.timeout.as_secs_f64()
                ),
            }
        }
    }
}

/// What a finished command's exit means.
fn outcome(program: &str, status: ExitStatus, stdout: &[u8], stderr: &[u8]) -> Outcome {
    if status.success() {
        let said = String::from_utf8_lossy(stdout).trim_end().to_owned();
        return Outcome::Accepted {
            answer: if said.is_empty() {
                format!("`{program}` exited with 0")
            } else {
                said
            },
        };
    }
    let how = match status.code() {
        Some(code) => format!("exited with {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt as _;
            match status.signal() {
                Some(signal) => format!("was killed by signal {signal}"),
                None => "ended without an exit code".to_owned(),
            }
        }
    };
    let said = String::from_utf8_lossy(stderr).trim().to_owned();
    Outcome::Failed {
        reason: if said.is_empty() {
            format!("`{program}` {how}")
        } else {
            format!("`{program}` {how}: {said}")
        },
    }
}

/// Writes the event and closes stdin, so the program sees its end. A
/// program that exits without reading it is not an error.
async fn feed(stdin: Option<impl AsyncWrite + Unpin>, input: &[u8]) {
    if let Some(mut stdin) = stdin {
        if let Err(error) = stdin.write_all(input).await {
            tracing::debug!(error = %error, "the notifier command did not read all of stdin");
        }
        drop(stdin);
    }
}

/// Keeps the first `limit` bytes and drains the rest, so the program never
/// blocks on a full pipe.
async fn read_head(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    drain(pipe, |chunk| {
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
    })
    .await;
    kept
}

/// Keeps the last `limit` bytes: where a failing program says why.
async fn read_tail(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    drain(pipe, |chunk| {
        kept.extend_from_slice(chunk);
        let excess = kept.len().saturating_sub(limit);
        kept.drain(..excess);
    })
    .await;
    kept
}

async fn drain(pipe: Option<impl AsyncRead + Unpin>, mut keep: impl FnMut(&[u8])) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut buffer = [0u8; 8192];
    loop {
        match pipe.read(&mut buffer).await {
            Ok(0) => break,
            Ok(read) => keep(&buffer[..read]),
            Err(error) => {
                tracing::debug!(error = %error, "reading the notifier command's output failed");
                break;
            }
        }
    }
}

/// Kills a command's process group when dropped, unless disarmed once the
/// leader is reaped (as `runner::command`'s guard): `kill_on_drop` reaches
/// only the leader. Until the leader is reaped its pid cannot be reused,
/// so the group id still names its group.
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
            tracing::warn!(error = %error, group, "cannot kill an abandoned notifier command's process group");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    #[test]
    fn exit_zero_is_accepted_with_stdout_or_a_sentence() {
        let ok = ExitStatus::from_raw(0);
        assert_eq!(
            outcome("notify-send", ok, b"sent to #ops\n", b"noise"),
            Outcome::Accepted {
                answer: "sent to #ops".into()
            }
        );
        assert_eq!(
            outcome("notify-send", ok, b"", b""),
            Outcome::Accepted {
                answer: "`notify-send` exited with 0".into()
            }
        );
    }

    #[test]
    fn another_exit_or_a_signal_is_failed_with_stderr() {
        // A wait status: exit code in the high byte, a signal in the low.
        assert_eq!(
            outcome(
                "page",
                ExitStatus::from_raw(3 << 8),
                b"",
                b"\nno route to pager\n"
            ),
            Outcome::Failed {
                reason: "`page` exited with 3: no route to pager".into()
            }
        );
        assert_eq!(
            outcome("page", ExitStatus::from_raw(9), b"", b""),
            Outcome::Failed {
                reason: "`page` was killed by signal 9".into()
            }
        );
    }

    #[tokio::test]
    async fn stdout_keeps_its_head_and_stderr_its_tail() {
        let text: Vec<u8> = (0..3000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let head = read_head(Some(&text[..]), ANSWER_LIMIT).await;
        assert_eq!(head, &text[..ANSWER_LIMIT]);
        let tail = read_tail(Some(&text[..]), ANSWER_LIMIT).await;
        assert_eq!(tail, &text[text.len() - ANSWER_LIMIT..]);
        assert_eq!(read_tail(Some(&b"short"[..]), ANSWER_LIMIT).await, b"short");
    }
}
