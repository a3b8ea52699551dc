//! What a `[[notifier]]` is, as the config declares it and the notify crate
//! delivers with: a channel (webhook, Slack, Discord, Teams, ntfy,
//! PagerDuty, email or command) with its own settings, the message
//! templates that override the defaults, and whether resolutions are sent.
//!
//! Every value here was checked at load (URLs parse and are http(s), a
//! webhook secret is `whsec_` base64, mailboxes parse, templates render),
//! so a sender only builds requests from it. Secrets never print: tokens,
//! passwords and header values are [`Secret`]s, and a URL that may carry a
//! token in its path or query (every chat webhook's does) is a
//! [`SecretUrl`], whose `Debug` shows only its scheme, host and port.

use std::fmt;
use std::time::Duration;

use url::Url;

use crate::id::NotifierId;
pub use crate::monitor::Secret;

/// How long a `command` notifier may run when its `timeout` is not given:
/// the same budget as one HTTP delivery attempt.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(15);
/// PagerDuty's Events API v2 endpoint, the default `url` of a `pagerduty`
/// notifier.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, PartialEq)]
pub struct NotifierSpec {
    pub id: NotifierId,
    pub channel: Channel,
    /// Overrides of the message templates; `None` keeps the default.
    pub templates: MessageTemplateSources,
    /// Whether a resolution is sent too, not only firing alerts.
    pub send_resolved: bool,
}

/// The sources of a notifier's message templates (minijinja), already
/// checked to render at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTemplateSources {
    pub title: Option<String>,
    pub text: Option<String>,
}

/// Where and how a notifier sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Channel {
    Webhook(WebhookChannel),
    /// A Slack incoming webhook.
    Slack(ChatWebhook),
    Discord(ChatWebhook),
    /// A Microsoft Teams workflow webhook.
    Teams(ChatWebhook),
    Ntfy(NtfyChannel),
    PagerDuty(PagerDutyChannel),
    Email(EmailChannel),
    Command(CommandChannel),
}

impl Channel {
    /// The key the channel is written under (`webhook`, `slack`, …).
    pub const fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "webhook",
            Channel::Slack(_) => "slack",
            Channel::Discord(_) => "discord",
            Channel::Teams(_) => "teams",
            Channel::Ntfy(_) => "ntfy",
            Channel::PagerDuty(_) => "pagerduty",
            Channel::Email(_) => "email",
            Channel::Command(_) => "command",
        }
    }
}

/// A URL that may hold a credential (a chat webhook's token is its path).
/// `Debug` shows `scheme://host:port/***`; [`SecretUrl::expose`] is for
/// the sender alone.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(pub Url);

impl SecretUrl {
    pub fn expose(&self) -> &Url {
        &self.0
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.0;
        write!(f, "{}://{}", url.scheme(), url.host_str().unwrap_or(""))?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/***")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// Watchkeeper's own versioned JSON (`type`, `timestamp`, `data`).
    Watchkeeper,
    /// Alertmanager's webhook payload, version 4.
    Alertmanager,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookChannel {
    pub url: SecretUrl,
    /// The Standard Webhooks secret, `whsec_<base64>`; without it, requests
    /// are not signed.
    pub secret: Option<Secret>,
    pub format: WebhookFormat,
    /// Extra request headers, in the order written.
    pub headers: Vec<(String, Secret)>,
}

/// Slack, Discord and Teams: a webhook URL is all they need.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatWebhook {
    pub url: SecretUrl,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NtfyChannel {
    /// The topic URL, e.g. `https://ntfy.sh/my-alerts`.
    pub url: SecretUrl,
    /// An access token, sent as `Authorization: Bearer`.
    pub token: Option<Secret>,
    /// ntfy's priority, 1 (min) to 5 (max); `None`: ntfy's default (3).
    pub priority: Option<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PagerDutyChannel {
    /// The integration's routing key.
    pub routing_key: Secret,
    /// The Events API endpoint ([`PAGERDUTY_EVENTS_URL`] unless given).
    pub url: Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (`smtp://`, port 587).
    StartTls,
    /// TLS from the first byte (`smtps://`, port 465).
    Tls,
    /// No encryption at all: only to a loopback server.
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailChannel {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Both or neither: SMTP AUTH with this user and password.
    pub credentials: Option<SmtpCredentials>,
    /// A mailbox (`Watchkeeper <wk@example.com>`), parsed at load.
    pub from: String,
    /// Mailboxes, parsed at load; at least one.
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: Secret,
}

/// A program run with the event as JSON on stdin and in environment
/// variables; never a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandChannel {
    pub argv: Vec<String>,
    pub timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_url_shows_only_where_it_goes() {
        let url = SecretUrl(
            Url::parse("https://hooks.slack.com/services/T000/B000/XXXXSECRET?x=1").unwrap(),
        );
        assert_eq!(format!("{url:?}"), "https://hooks.slack.com/***");
        let local = SecretUrl(Url::parse("http://127.0.0.1:9000/hook?token=abc").unwrap());
        assert_eq!(format!("{local:?}"), "http://127.0.0.1:9000/***");
        let channel = Channel::Ntfy(NtfyChannel {
            url: local,
            token: Some(Secret("tk_123".into())),
            priority: Some(4),
        });
        let shown = format!("{channel:?}");
        assert!(
            !shown.contains("abc") && !shown.contains("tk_123"),
            "{shown}"
        );
        assert_eq!(channel.kind(), "ntfy");
    }
}
