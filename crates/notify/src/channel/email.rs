//! The `email` channel: one message per notification over SMTP (lettre's
//! async transport on tokio), to every recipient of the notifier.
//!
//! - Encryption as configured: STARTTLS required (never a silent fall back
//!   to plain text, which would hand the password to whoever is in the
//!   way), TLS from the first byte, or none (loopback only, checked at
//!   load). TLS is rustls with the *ring* provider and the platform
//!   verifier (the system's trust store, `SSL_CERT_FILE` included), as the
//!   http probe has it.
//! - SMTP AUTH with the notifier's credentials when it has them.
//! - The message: `Subject` is the rendered title; a `multipart/alternative`
//!   with the text as it was rendered and an HTML part made from it
//!   (escaped, one line per line, bare links made clickable); `Date` is the
//!   notification's `sent_at` and `Message-ID` is `<{delivery id}@{the
//!   sender's domain}>`, both the same on every attempt, so a retry is
//!   recognisable as the same message.
//! - The outcome: the server's `250 …` is [`Outcome::Accepted`] with its
//!   words; a 5xx (an unknown mailbox, bad credentials, a message refused)
//!   is [`Outcome::Rejected`]; a 4xx, no connection, a TLS failure or a
//!   timeout is [`Outcome::Failed`] and retried.

use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Email, Tokio1Executor};
use minijinja::HtmlEscape;
use watchkeeper_domain::notifier::{EmailChannel, SmtpTls};

use crate::payload::{Message, Notification};
use crate::retry::Outcome;

/// Sends `message` for `notification` to every recipient of `channel`
/// (or, for a page to a person with an `email`, to them).
/// `timeout` bounds the whole exchange (connect, TLS, AUTH, the message).
pub async fn send(
    channel: &EmailChannel,
    message: &Message,
    notification: &Notification,
    timeout: Duration,
) -> Outcome {
    match build(channel, message, notification) {
        Ok(email) => send_email(channel, email, timeout).await,
        Err(reason) => Outcome::Rejected { reason },
    }
}

/// Sends a message built elsewhere (to a status page subscriber) over
/// `channel`'s server, as [`send`] does.
pub async fn send_email(channel: &EmailChannel, email: Email, timeout: Duration) -> Outcome {
    let transport = match transport(channel, timeout) {
        Ok(transport) => transport,
        Err(reason) => return Outcome::Failed { reason },
    };
    let server = format!("{}:{}", channel.host, channel.port);
    match tokio::time::timeout(timeout, transport.send(email)).await {
        Ok(Ok(response)) => Outcome::Accepted {
            answer: answer(&response),
        },
        Ok(Err(error)) => outcome_of_error(&server, &error),
        Err(_) => Outcome::Failed {
            reason: format!(
                "the SMTP server {server} did not finish within {}",
                seconds(timeout)
            ),
        },
    }
}

/// The message as it is sent, or why it cannot be built (a mailbox that
/// does not parse; config checks them at load, so this is final).
pub fn build(
    channel: &EmailChannel,
    message: &Message,
    notification: &Notification,
) -> Result<Email, String> {
    let from: Mailbox = channel
        .from
        .parse()
        .map_err(|error| format!("the sender {:?} is not a mailbox: {error}", channel.from))?;
    let message_id = format!("<{}@{}>", notification.id, from.email.domain());
    let mut builder = Email::builder()
        .from(from)
        .subject(message.title.clone())
        .message_id(Some(message_id))
        .date(SystemTime::from(notification.sent_at));
    // A page to a person with an address goes to them alone; anything
    // else to the notifier's recipients.
    let paged = notification
        .page
        .as_ref()
        .and_then(|page| page.person.as_ref())
        .and_then(|person| person.email.clone());
    let recipients = paged.map_or_else(|| channel.to.clone(), |email| vec![email]);
    for to in &recipients {
        let to: Mailbox = to
            .parse()
            .map_err(|error| format!("the recipient {to:?} is not a mailbox: {error}"))?;
        builder = builder.to(to);
    }
    let html_part = html(message);
    builder
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            html_part,
        ))
        .map_err(|error| format!("cannot build the message: {error}"))
}

/// The HTML part: the title as a heading and the text line by line,
/// escaped; a line that is a bare `http(s)://` link becomes a link.
pub fn html(message: &Message) -> String {
    let mut body = String::new();
    for (n, line) in message.text.lines().enumerate() {
        if n > 0 {
            body.push_str("<br>\n");
        }
        let trimmed = line.trim();
        let is_link = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
            && !trimmed.contains(char::is_whitespace);
        if is_link {
            let link = HtmlEscape(trimmed);
            body.push_str(&format!("<a href=\"{link}\">{link}</a>"));
        } else {
            body.push_str(&HtmlEscape(line).to_string());
        }
    }
    let title = HtmlEscape(&message.title);
    format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n\
         <h2 style=\"font-size: 1.2em\">{title}</h2>\n<p>{body}</p>\n</body>\n</html>\n"
    )
}

fn transport(
    channel: &EmailChannel,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = match channel.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(tls_parameters(&channel.host)?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters(&channel.host)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&channel.host)
        .port(channel.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(credentials) = &channel.credentials {
        builder = builder.credentials(Credentials::new(
            credentials.username.clone(),
            credentials.password.0.clone(),
        ));
    }
    Ok(builder.build())
}

/// rustls with lettre's provider (*ring*: the only one its features
/// enable) and, for the default certificate store, the platform verifier.
fn tls_parameters(host: &str) -> Result<TlsParameters, String> {
    TlsParameters::builder(host.to_owned())
        .build_rustls()
        .map_err(|error| format!("cannot set up TLS for {host}: {error}"))
}

/// `250 2.0.0 Ok: queued as 4F2A`: the code and the server's first line.
fn answer(response: &Response) -> String {
    let words: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), words.join(" "))
        .trim_end()
        .to_owned()
}

/// A 5xx is final; anything else (a 4xx, the network, TLS) is retried.
fn outcome_of_error(server: &str, error: &lettre::transport::smtp::Error) -> Outcome {
    let reason = format!("the SMTP server {server}: {}", error_text(error));
    if error.is_permanent() {
        Outcome::Rejected { reason }
    } else {
        Outcome::Failed { reason }
    }
}

/// lettre's error as one line (its `Display` includes the cause), with a
/// segment its layers repeat (`Connection error: Connection error: …`)
/// said once.
fn error_text(error: &lettre::transport::smtp::Error) -> String {
    let text = error.to_string();
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if segments.last() != Some(&segment) {
            segments.push(segment);
        }
    }
    segments.join(": ")
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> EmailChannel {
        EmailChannel {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: SmtpTls::None,
            credentials: None,
            from: "Watchkeeper <wk@example.com>".into(),
            to: vec![
                "oncall@example.com".into(),
                "Second Line <l2@example.org>".into(),
            ],
        }
    }

    fn notification() -> Notification {
        Notification {
            id: "msg_2yKq".into(),
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
            title: "[FIRING:1] demo-down <P2>".into(),
            text: "FIRING P2 demo-down: 3 failures & counting\nmonitors: demo\nhttp://127.0.0.1:8686/api/v1/alerts/ab12".into(),
        }
    }

    fn formatted() -> String {
        let email = build(&channel(), &message(), &notification()).unwrap();
        String::from_utf8(email.formatted()).unwrap()
    }

    #[test]
    fn the_message_id_and_date_come_from_the_notification() {
        let text = formatted();
        assert!(
            text.contains("Message-ID: <msg_2yKq@example.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Date: Fri, 01 May 2026 12:30:00 +0000\r\n"),
            "{text}"
        );
        // The same notification builds the same headers (but for the
        // MIME boundary, which is random): a retry is the same message.
        let again = formatted();
        let headers = |text: &str| {
            text.split("\r\n\r\n")
                .next()
                .unwrap()
                .lines()
                .filter(|line| !line.contains("boundary="))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(headers(&text), headers(&again));
        assert_eq!(headers(&text).len(), 7, "{text}");
    }

    #[test]
    fn subject_recipients_and_both_parts() {
        let text = formatted();
        assert!(
            text.contains("Subject: [FIRING:1] demo-down <P2>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("To: oncall@example.com, \"Second Line\" <l2@example.org>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("From: Watchkeeper <wk@example.com>\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: multipart/alternative;"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/html; charset=utf-8"),
            "{text}"
        );
    }

    #[test]
    fn a_page_to_a_person_with_an_address_goes_to_them_alone() {
        let mut page = notification();
        page.page = Some(crate::payload::PageInfo {
            policy: "default".into(),
            level: 1,
            round: 1,
            target: "schedule:primary".into(),
            person: Some(crate::payload::PagedPerson {
                id: "alice".into(),
                name: "Alice".into(),
                email: Some("Alice <alice@example.com>".into()),
                slack: None,
            }),
            reminder: false,
        });
        let email = build(&channel(), &message(), &page).unwrap();
        let envelope: Vec<String> = email
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(envelope, ["alice@example.com"]);
        let channel_wide = build(&channel(), &message(), &notification()).unwrap();
        assert_eq!(channel_wide.envelope().to().len(), 2);
    }

    #[test]
    fn the_html_part_is_escaped_line_by_line_with_links() {
        let html = html(&message());
        assert!(
            html.contains("<h2 style=\"font-size: 1.2em\">[FIRING:1] demo-down &lt;P2&gt;</h2>"),
            "{html}"
        );
        assert!(
            html.contains(
                "<p>FIRING P2 demo-down: 3 failures &amp; counting<br>\nmonitors: demo<br>\n\
                 <a href=\"http:&#x2f;&#x2f;127.0.0.1:8686&#x2f;api&#x2f;v1&#x2f;alerts&#x2f;ab12\">"
            ),
            "{html}"
        );
        // Text that only mentions a link is not a link.
        let prose = html_of("see https://example.com now");
        assert!(!prose.contains("<a "), "{prose}");
        let script = html_of("<script>alert(1)</script>");
        assert!(script.contains("&lt;script&gt;"), "{script}");
        assert!(!script.contains("<script>"), "{script}");
    }

    fn html_of(text: &str) -> String {
        html(&Message {
            title: "t".into(),
            text: text.into(),
        })
    }

    #[test]
    fn a_mailbox_that_does_not_parse_is_a_reason_not_a_panic() {
        let mut bad = channel();
        bad.to.push("not a mailbox".into());
        let error = build(&bad, &message(), &notification()).unwrap_err();
        assert!(
            error.starts_with("the recipient \"not a mailbox\""),
            "{error}"
        );
        bad.from = "@".into();
        assert!(build(&bad, &message(), &notification()).is_err());
    }
}
