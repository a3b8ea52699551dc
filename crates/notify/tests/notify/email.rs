//! The email channel against a real SMTP server on loopback
//! (`tests/sinks/smtp_sink.py`, aiosmtpd): what arrives, AUTH, and which
//! failures are final (a 5xx) and which are retried (a 4xx, no server, no
//! answer, STARTTLS or TLS the server does not speak).

use std::time::Duration;

use watchkeeper_domain::notifier::{EmailChannel, Secret, SmtpCredentials, SmtpTls};
use watchkeeper_notify::channel::email;
use watchkeeper_notify::payload::{Message, Notification};
use watchkeeper_notify::retry::Outcome;
use watchkeeper_testkit::{PySink, RawBehaviour, RawTarget, closed_port};

const TIMEOUT: Duration = Duration::from_secs(10);

fn channel(port: u16, to: &[&str]) -> EmailChannel {
    EmailChannel {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        credentials: None,
        from: "Watchkeeper <wk@example.com>".into(),
        to: to.iter().map(|to| (*to).to_owned()).collect(),
    }
}

fn notification() -> Notification {
    Notification {
        id: "msg_email_1".into(),
        receiver: "mail".into(),
        group_key: "{}:{alertname=\"demo-down\"}".into(),
        group_labels: Default::default(),
        alerts: Vec::new(),
        external_url: "http://127.0.0.1:8686".into(),
        sent_at: "2026-05-01T12:30:00Z".parse().unwrap(),
        page: None,
    }
}

fn message() -> Message {
    Message {
        title: "[FIRING:1] demo-down".into(),
        text: "FIRING P2 demo-down: 3 failures in a row & counting\nhttp://127.0.0.1:8686/api/v1/alerts/ab12\n"
            .into(),
    }
}

fn reason(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Failed { reason } | Outcome::Rejected { reason } => reason,
        other => panic!("not a failure: {other:?}"),
    }
}

#[tokio::test]
async fn the_message_arrives_with_subject_both_parts_and_every_recipient() {
    let mut sink = PySink::smtp(&[]).await.unwrap();
    let channel = channel(
        sink.addr().port(),
        &["oncall@example.com", "Second Line <l2@example.org>"],
    );
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    let Outcome::Accepted { answer } = &outcome else {
        panic!("not accepted: {outcome:?}\n{}", sink.stderr_text());
    };
    assert_eq!(answer, "250 Message accepted for delivery");

    let received = sink.wait_for(1, TIMEOUT).await;
    let mail = &received[0];
    assert_eq!(mail["mail_from"], "wk@example.com");
    assert_eq!(
        mail["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "l2@example.org"])
    );
    assert_eq!(mail["subject"], "[FIRING:1] demo-down");
    assert_eq!(
        mail["text"].as_str().unwrap().replace("\r\n", "\n"),
        message().text
    );
    let html = mail["html"].as_str().unwrap();
    assert!(
        html.contains("3 failures in a row &amp; counting"),
        "{html}"
    );
    assert!(html.contains("<a href="), "{html}");
    assert_eq!(mail["headers"]["message-id"], "<msg_email_1@example.com>");
    assert_eq!(mail["auth_user"], serde_json::Value::Null);
}

#[tokio::test]
async fn auth_with_the_notifiers_credentials_and_a_wrong_password_is_final() {
    let mut sink = PySink::smtp(&["--auth", "wk:s3cret"]).await.unwrap();
    let mut channel = channel(sink.addr().port(), &["oncall@example.com"]);

    // Without credentials the server refuses MAIL: 530, final.
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    assert!(reason(&outcome).contains("530"), "{outcome:?}");

    channel.credentials = Some(SmtpCredentials {
        username: "wk".into(),
        password: Secret("wrong".into()),
    });
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    assert!(matches!(outcome, Outcome::Rejected { .. }), "{outcome:?}");
    assert!(!reason(&outcome).contains("wrong"), "{outcome:?}");

    channel.credentials = Some(SmtpCredentials {
        username: "wk".into(),
        password: Secret("s3cret".into()),
    });
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let received = sink.wait_for(1, TIMEOUT).await;
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0]["auth_user"], "wk");
}

#[tokio::test]
async fn a_refused_recipient_is_rejected_and_a_deferred_one_is_retried() {
    let sink = PySink::smtp(&[
        "--refuse",
        "gone@example.com",
        "--defer",
        "busy@example.com",
    ])
    .await
    .unwrap();
    let port = sink.addr().port();

    let refused = email::send(
        &channel(port, &["gone@example.com"]),
        &message(),
        &notification(),
        TIMEOUT,
    )
    .await;
    assert!(matches!(refused, Outcome::Rejected { .. }), "{refused:?}");
    assert!(reason(&refused).contains("550"), "{refused:?}");
    assert!(
        reason(&refused).contains(&format!("127.0.0.1:{port}")),
        "{refused:?}"
    );

    let deferred = email::send(
        &channel(port, &["busy@example.com"]),
        &message(),
        &notification(),
        TIMEOUT,
    )
    .await;
    assert!(matches!(deferred, Outcome::Failed { .. }), "{deferred:?}");
    assert!(reason(&deferred).contains("451"), "{deferred:?}");
    assert!(sink.received().is_empty(), "{:#?}", sink.received());
}

#[tokio::test]
async fn no_server_or_no_answer_is_failed_and_retried() {
    let closed = closed_port();
    let outcome = email::send(
        &channel(closed.port(), &["oncall@example.com"]),
        &message(),
        &notification(),
        TIMEOUT,
    )
    .await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert!(reason(&outcome).contains("refused"), "{outcome:?}");

    // A server that accepts and never greets: bounded by the timeout.
    let silent = RawTarget::spawn(RawBehaviour::AcceptAndStall)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = email::send(
        &channel(silent.addr().port(), &["oncall@example.com"]),
        &message(),
        &notification(),
        Duration::from_millis(500),
    )
    .await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn starttls_is_required_never_skipped_and_tls_needs_a_tls_server() {
    let sink = PySink::smtp(&[]).await.unwrap();
    let mut channel = channel(sink.addr().port(), &["oncall@example.com"]);

    // The sink does not offer STARTTLS: nothing is sent in plain text.
    channel.tls = SmtpTls::StartTls;
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert!(reason(&outcome).contains("STARTTLS"), "{outcome:?}");

    // TLS from the first byte to a plain-text server: the handshake fails.
    channel.tls = SmtpTls::Tls;
    let outcome = email::send(&channel, &message(), &notification(), TIMEOUT).await;
    assert!(matches!(outcome, Outcome::Failed { .. }), "{outcome:?}");
    assert!(sink.received().is_empty(), "{:#?}", sink.received());
}
