//! The command channel with real programs (`/bin/sh -c SCRIPT` as the
//! test's own argv): the event arrives on stdin and the facts in the
//! environment, an argument is never interpreted, a hanging program and
//! what it started are killed at the timeout, and a non-zero exit is a
//! failure with its stderr.

use std::time::Duration;

use serde_json::json;
use watchkeeper_domain::notifier::CommandChannel;
use watchkeeper_notify::channel::command;
use watchkeeper_notify::payload::{AlertMessage, AlertStatus, Notification};
use watchkeeper_notify::retry::Outcome;
use watchkeeper_testkit::poll_until;

fn sh(script: &str, extra: &[&str], timeout: Duration) -> CommandChannel {
    let mut argv = vec![
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        script.to_owned(),
        "sh".to_owned(),
    ];
    argv.extend(extra.iter().map(|arg| (*arg).to_owned()));
    CommandChannel { argv, timeout }
}

const TIMEOUT: Duration = Duration::from_secs(10);

fn alert(rule: &str, severity: &str, status: AlertStatus) -> AlertMessage {
    AlertMessage {
        fingerprint: format!("fp-{rule}"),
        rule: rule.into(),
        status,
        severity: severity.into(),
        labels: Default::default(),
        annotations: Default::default(),
        monitors: vec!["demo".into()],
        reason: None,
        runbook: None,
        starts_at: "2026-05-01T12:00:00Z".parse().unwrap(),
        ends_at: None,
        url: "http://127.0.0.1:8686/api/v1/alerts/fp".into(),
        ack_url: None,
    }
}

fn notification() -> Notification {
    Notification {
        id: "msg_cmd_1".into(),
        receiver: "script".into(),
        group_key: "{}:{alertname=\"demo-down\"}".into(),
        group_labels: Default::default(),
        alerts: vec![
            alert("demo-down", "P2", AlertStatus::Firing),
            alert("demo-slow", "P3", AlertStatus::Firing),
            alert("db-down", "P1", AlertStatus::Resolved),
        ],
        external_url: "http://127.0.0.1:8686".into(),
        sent_at: "2026-05-01T12:30:00Z".parse().unwrap(),
        page: None,
    }
}

fn answer(outcome: Outcome) -> String {
    match outcome {
        Outcome::Accepted { answer } => answer,
        other => panic!("not accepted: {other:?}"),
    }
}

#[tokio::test]
async fn the_event_arrives_on_stdin() {
    let event = json!({"type": "alert.firing", "data": {"summary": "it's \"down\" $(x) `y`"}});
    let outcome = command::run(&sh("cat", &[], TIMEOUT), &notification(), &event).await;
    let said: serde_json::Value = serde_json::from_str(&answer(outcome)).unwrap();
    assert_eq!(said, event);
}

#[tokio::test]
async fn the_facts_arrive_in_the_environment() {
    let script = r#"printf '%s|%s|%s|%s|%s' "$WATCHKEEPER_EVENT_TYPE" "$WATCHKEEPER_DELIVERY_ID" "$WATCHKEEPER_SEVERITY" "$WATCHKEEPER_GROUP_KEY" "$WATCHKEEPER_ALERTS""#;
    let outcome = command::run(&sh(script, &[], TIMEOUT), &notification(), &json!({})).await;
    assert_eq!(
        answer(outcome),
        "alert.firing|msg_cmd_1|P2|{}:{alertname=\"demo-down\"}|2"
    );

    let mut resolved = notification();
    for alert in &mut resolved.alerts {
        alert.status = AlertStatus::Resolved;
    }
    let outcome = command::run(&sh(script, &[], TIMEOUT), &resolved, &json!({})).await;
    assert_eq!(
        answer(outcome),
        "alert.resolved|msg_cmd_1|P1|{}:{alertname=\"demo-down\"}|0"
    );
}

#[tokio::test]
async fn an_argument_is_passed_literally_never_interpreted() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("x");
    let hostile = format!(
        "$(touch {}) `touch {}`; touch {}",
        marker.display(),
        marker.display(),
        marker.display()
    );
    // Through a shell that only prints its argument...
    let outcome = command::run(
        &sh(r#"printf '%s' "$1""#, &[&hostile], TIMEOUT),
        &notification(),
        &json!({}),
    )
    .await;
    assert_eq!(answer(outcome), hostile);
    // ...and with no shell at all.
    let direct = CommandChannel {
        argv: vec!["printf".into(), "%s".into(), hostile.clone()],
        timeout: TIMEOUT,
    };
    assert_eq!(
        answer(command::run(&direct, &notification(), &json!({})).await),
        hostile
    );
    assert!(!marker.exists(), "an argument was run by a shell");
}

#[tokio::test]
async fn a_hanging_command_and_what_it_started_are_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = r#"sleep 60 & echo $! > "$1"; wait"#;
    let started = std::time::Instant::now();
    let outcome = command::run(
        &sh(
            script,
            &[pid_file.to_str().unwrap()],
            Duration::from_millis(500),
        ),
        &notification(),
        &json!({}),
    )
    .await;
    assert_eq!(
        outcome,
        Outcome::Failed {
            reason: "`/bin/sh` timed out after 0.5 s (process group killed)".into()
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The background `sleep` was in the group: it is gone (or a zombie
    // waiting for init to reap it), not sleeping.
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    poll_until(Duration::from_secs(5), "the grandchild to die", || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(") ")
            .next()
            .and_then(|rest| rest.chars().next());
        std::future::ready(matches!(state, None | Some('Z') | Some('X')).then_some(()))
    })
    .await;
}

#[tokio::test]
async fn exit_3_is_failed_with_the_end_of_stderr() {
    let script = r#"echo progress; i=0; while [ $i -lt 200 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo "pager unreachable" >&2; exit 3"#;
    let outcome = command::run(&sh(script, &[], TIMEOUT), &notification(), &json!({})).await;
    let Outcome::Failed { reason } = outcome else {
        panic!("exit 3 is not a failure: {outcome:?}");
    };
    assert!(reason.starts_with("`/bin/sh` exited with 3: "), "{reason}");
    assert!(
        reason.ends_with("noise line 199\npager unreachable"),
        "{reason}"
    );
    assert!(reason.len() < 1100, "{} bytes", reason.len());
}

#[tokio::test]
async fn a_command_that_ignores_a_large_event_or_cannot_start() {
    // A megabyte on stdin that the program never reads: no hang, no error.
    let big = json!({"padding": "x".repeat(1 << 20)});
    let outcome = command::run(&sh("echo done", &[], TIMEOUT), &notification(), &big).await;
    assert_eq!(answer(outcome), "done");

    let missing = CommandChannel {
        argv: vec!["/nonexistent/notify-me".into()],
        timeout: TIMEOUT,
    };
    let outcome = command::run(&missing, &notification(), &json!({})).await;
    let Outcome::Failed { reason } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        reason.starts_with("cannot run `/nonexistent/notify-me`: "),
        "{reason}"
    );
}
