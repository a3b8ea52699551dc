//! `[[notifier]]`: an id, exactly one channel table (`webhook`, `slack`,
//! `discord`, `teams`, `ntfy`, `pagerduty`, `email`, `command`, each with
//! its own keys, so a key of another channel is an unknown key with a
//! "did you mean"), message templates checked by rendering them, and
//! `send_resolved`. Secrets become `Secret`s and URLs `SecretUrl`s; an
//! error quotes a URL only as written, its password masked, and never a
//! secret.

use std::net::IpAddr;

use url::Url;
use watchkeeper_domain::id::NotifierId;
use watchkeeper_domain::monitor::Secret;
use watchkeeper_domain::notifier::{
    Channel, ChatWebhook, CommandChannel, DEFAULT_COMMAND_TIMEOUT, EmailChannel,
    MessageTemplateSources, NotifierSpec, NtfyChannel, PAGERDUTY_EVENTS_URL, PagerDutyChannel,
    SecretUrl, SmtpCredentials, SmtpTls, WebhookChannel, WebhookFormat,
};
use watchkeeper_notify::signature::SigningSecret;
use watchkeeper_notify::template::MessageTemplates;

use super::alerting::{duration, template_problem};
use super::http::{is_header_name, web_url};
use super::references::Defined;
use super::{Problems, one_of, parse_id};
use crate::raw::{
    RawChannel, RawCommandChannel, RawEmailChannel, RawNotifier, RawNtfyChannel,
    RawPagerDutyChannel, RawTemplates, RawWebhookChannel,
};
use crate::raw_table::QuotableText;
use crate::source::{Loc, Located};

/// Headers a signed webhook sets itself.
const SIGNATURE_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

pub(super) fn validate_notifier(
    raw: RawNotifier,
    defined: &mut Defined,
    problems: &mut Problems<'_>,
) -> Option<NotifierSpec> {
    let RawNotifier {
        at,
        id,
        channels,
        templates,
        send_resolved,
    } = raw;
    let before = problems.count();
    let label = id.as_ref().map_or_else(
        || "[[notifier]]".to_owned(),
        |id| format!("notifier `{}`", id.value),
    );
    let id = parse_id(
        id,
        &at,
        "notifier",
        NotifierId::parse,
        &mut defined.notifiers,
        problems,
    );
    let channel = single_channel(channels, &at, &label, problems);
    let templates = message_templates(templates, problems);
    let (id, channel) = (id?, channel?);
    if problems.count() > before {
        return None;
    }
    Some(NotifierSpec {
        id,
        channel,
        templates,
        send_resolved: send_resolved.is_none_or(|flag| flag.value),
    })
}

fn message_templates(raw: RawTemplates, problems: &mut Problems<'_>) -> MessageTemplateSources {
    let RawTemplates { title, text } = raw;
    if let Err(error) = MessageTemplates::compile(
        title.as_ref().map(|raw| raw.value.as_str()),
        text.as_ref().map(|raw| raw.value.as_str()),
    ) {
        let written = if error.template == "title" {
            &title
        } else {
            &text
        };
        if let Some(written) = written {
            let key = format!("templates.{}", error.template);
            problems.at(&written.at, template_problem(&key, &error));
        }
    }
    MessageTemplateSources {
        title: title.map(|raw| raw.value),
        text: text.map(|raw| raw.value),
    }
}

fn single_channel(
    channels: Vec<Located<RawChannel>>,
    notifier_at: &Loc,
    label: &str,
    problems: &mut Problems<'_>,
) -> Option<Channel> {
    let kinds = one_of(RawChannel::KEYS);
    let mut channels = channels.into_iter();
    let Some(first) = channels.next() else {
        problems.at(
            notifier_at,
            format!("{label} has no channel; give exactly one of {kinds}"),
        );
        return None;
    };
    let mut extra = false;
    for other in channels {
        extra = true;
        problems.at(
            &other.at,
            format!(
                "{label} has more than one channel ({} and {}); give exactly one of {kinds}",
                first.value.key(),
                other.value.key()
            ),
        );
    }
    let at = first.at;
    let channel = match first.value {
        RawChannel::Webhook(raw) => webhook(raw, &at, problems).map(Channel::Webhook),
        RawChannel::Slack(raw) => chat(raw.url, "slack", &at, problems).map(Channel::Slack),
        RawChannel::Discord(raw) => chat(raw.url, "discord", &at, problems).map(Channel::Discord),
        RawChannel::Teams(raw) => chat(raw.url, "teams", &at, problems).map(Channel::Teams),
        RawChannel::Ntfy(raw) => ntfy(raw, &at, problems).map(Channel::Ntfy),
        RawChannel::PagerDuty(raw) => pagerduty(raw, &at, problems).map(Channel::PagerDuty),
        RawChannel::Email(raw) => email(raw, &at, problems).map(Channel::Email),
        RawChannel::Command(raw) => command(raw, &at, problems).map(Channel::Command),
    };
    if extra { None } else { channel }
}

fn needs<T>(
    value: Option<T>,
    kind: &str,
    key: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<T> {
    if value.is_none() {
        problems.at(at, format!("the {kind} channel is missing `{key}`"));
    }
    value
}

/// A channel's `url`: required, http(s), with a host.
fn channel_url(
    url: QuotableText,
    kind: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<SecretUrl> {
    let url = needs(url, kind, "url", at, problems)?;
    web_url(&url, "url", problems).map(SecretUrl)
}

fn chat(
    url: QuotableText,
    kind: &str,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<ChatWebhook> {
    channel_url(url, kind, at, problems).map(|url| ChatWebhook { url })
}

fn webhook(
    raw: RawWebhookChannel,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<WebhookChannel> {
    let RawWebhookChannel {
        url,
        secret,
        format,
        headers,
    } = raw;
    let before = problems.count();
    let url = channel_url(url, "webhook", at, problems);
    let secret = secret.and_then(|raw| match SigningSecret::parse(&raw.value) {
        Ok(_) => Some(Secret(raw.value.trim().to_owned())),
        Err(error) => {
            problems.at(
                &raw.at,
                format!(
                    "`secret` is not a Standard Webhooks secret (`whsec_` and base64): {error}"
                ),
            );
            None
        }
    });
    let format = match format {
        None => WebhookFormat::Watchkeeper,
        Some(raw) => {
            match raw.value.as_str() {
                "watchkeeper" => WebhookFormat::Watchkeeper,
                "alertmanager" => WebhookFormat::Alertmanager,
                other => {
                    problems.at(
                    &raw.at,
                    format!("unknown `format` {other:?}; expected \"watchkeeper\" or \"alertmanager\""),
                );
                    WebhookFormat::Watchkeeper
                }
            }
        }
    };
    let headers = headers
        .into_iter()
        .filter_map(|(name, value)| {
            if !is_header_name(&name.value) {
                problems.at(
                    &name.at,
                    format!("invalid header name {:?}", name.value),
                );
                return None;
            }
            if SIGNATURE_HEADERS.contains(&name.value.to_ascii_lowercase().as_str()) {
                problems.at(
                    &name.at,
                    format!(
                        "header `{}` is set by the Standard Webhooks signature; give `secret` instead",
                        name.value
                    ),
                );
                return None;
            }
            Some((name.value, Secret(value.value)))
        })
        .collect();
    let url = url?;
    (problems.count() == before).then_some(WebhookChannel {
        url,
        secret,
        format,
        headers,
    })
}

fn ntfy(raw: RawNtfyChannel, at: &Loc, problems: &mut Problems<'_>) -> Option<NtfyChannel> {
    let RawNtfyChannel {
        url,
        token,
        priority,
    } = raw;
    let url = channel_url(url, "ntfy", at, problems);
    let token = token.map(|raw| Secret(raw.value));
    let priority = match priority {
        None => None,
        Some(raw) => match u8::try_from(raw.value) {
            Ok(priority @ 1..=5) => Some(priority),
            _ => {
                problems.at(
                    &raw.at,
                    format!(
                        "`priority` must be from 1 (min) to 5 (max), as ntfy has them, not {}",
                        raw.value
                    ),
                );
                return None;
            }
        },
    };
    Some(NtfyChannel {
        url: url?,
        token,
        priority,
    })
}

fn pagerduty(
    raw: RawPagerDutyChannel,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<PagerDutyChannel> {
    let RawPagerDutyChannel { routing_key, url } = raw;
    let routing_key =
        needs(routing_key, "pagerduty", "routing_key", at, problems).and_then(|raw| {
            if raw.value.trim().is_empty() {
                problems.at(&raw.at, "`routing_key` must not be empty");
                None
            } else {
                Some(Secret(raw.value.trim().to_owned()))
            }
        });
    let url = match url {
        Some(url) => web_url(&url, "url", problems),
        None => Url::parse(PAGERDUTY_EVENTS_URL).ok(),
    };
    Some(PagerDutyChannel {
        routing_key: routing_key?,
        url: url?,
    })
}

fn email(raw: RawEmailChannel, at: &Loc, problems: &mut Problems<'_>) -> Option<EmailChannel> {
    let RawEmailChannel {
        smtp,
        tls,
        username,
        password,
        from,
        to,
    } = raw;
    let before = problems.count();
    let server = needs(smtp, "email", "smtp", at, problems)
        .and_then(|smtp| smtp_server(&smtp, tls, problems));
    let credentials = match (username, password) {
        (Some(username), Some(password)) => Some(SmtpCredentials {
            username: username.value,
            password: Secret(password.value),
        }),
        (Some(given), None) | (None, Some(given)) => {
            problems.at(
                &given.at,
                "give both `username` and `password` (or `password_file`) for SMTP AUTH, or neither",
            );
            None
        }
        (None, None) => None,
    };
    let from =
        needs(from, "email", "from", at, problems).and_then(|raw| mailbox(raw, "from", problems));
    let to = match needs(to, "email", "to", at, problems) {
        None => Vec::new(),
        Some(list) if list.value.is_empty() => {
            problems.at(&list.at, "`to` must list at least one address");
            Vec::new()
        }
        Some(list) => list
            .value
            .into_iter()
            .filter_map(|raw| mailbox(raw, "to", problems))
            .collect(),
    };
    let ((host, port, tls), from) = (server?, from?);
    (problems.count() == before).then_some(EmailChannel {
        host,
        port,
        tls,
        credentials,
        from,
        to,
    })
}

/// `smtp://host:587` (STARTTLS) or `smtps://host:465` (TLS); `tls`
/// overrides within what the scheme allows, and `"none"` is allowed only
/// to a loopback server.
fn smtp_server(
    (raw, origin): &(Located<String>, crate::source::Origin),
    tls: Option<Located<String>>,
    problems: &mut Problems<'_>,
) -> Option<(String, u16, SmtpTls)> {
    let url = match Url::parse(&raw.value) {
        Ok(url) => url,
        Err(error) => {
            problems.at(
                &raw.at,
                format!("invalid `smtp` {}: {error}", origin.quote_url(&raw.value)),
            );
            return None;
        }
    };
    let (implied, default_port) = match url.scheme() {
        "smtp" => (SmtpTls::StartTls, 587),
        "smtps" => (SmtpTls::Tls, 465),
        other => {
            problems.at(
                &raw.at,
                format!(
                    "`smtp` must be an smtp:// (STARTTLS) or smtps:// (TLS) URL, not {other}://"
                ),
            );
            return None;
        }
    };
    let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
        problems.at(
            &raw.at,
            format!("`smtp` {} has no host", origin.quote_url(&raw.value)),
        );
        return None;
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls_mode = match &tls {
        None => implied,
        Some(raw_tls) => match raw_tls.value.as_str() {
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            "none" => SmtpTls::None,
            other => {
                problems.at(
                    &raw_tls.at,
                    format!("unknown `tls` {other:?}; expected \"starttls\", \"tls\" or \"none\""),
                );
                return None;
            }
        },
    };
    let at = tls.as_ref().map_or(&raw.at, |tls| &tls.at);
    match (implied, tls_mode) {
        (SmtpTls::Tls, SmtpTls::StartTls | SmtpTls::None) => {
            problems.at(
                at,
                "an smtps:// server speaks TLS from the first byte; use `tls = \"tls\"` or an smtp:// URL",
            );
            return None;
        }
        (SmtpTls::StartTls, SmtpTls::Tls) => {
            problems.at(at, "`tls = \"tls\"` needs an smtps:// URL");
            return None;
        }
        _ => {}
    }
    let loopback = host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback());
    if tls_mode == SmtpTls::None && !loopback {
        problems.at(
            at,
            format!(
                "`tls = \"none\"` sends mail and password in clear text; it is allowed only to a loopback server, not {host}"
            ),
        );
        return None;
    }
    Some((host, url.port().unwrap_or(default_port), tls_mode))
}

/// An address as lettre will read it when sending: `ops@example.com` or
/// `On-call <ops@example.com>`.
pub(super) fn mailbox(
    raw: Located<String>,
    key: &str,
    problems: &mut Problems<'_>,
) -> Option<String> {
    match raw.value.parse::<lettre::message::Mailbox>() {
        Ok(_) => Some(raw.value),
        Err(error) => {
            problems.at(
                &raw.at,
                format!("invalid address {:?} in `{key}`: {error}", raw.value),
            );
            None
        }
    }
}

fn command(
    raw: RawCommandChannel,
    at: &Loc,
    problems: &mut Problems<'_>,
) -> Option<CommandChannel> {
    let RawCommandChannel { argv, timeout } = raw;
    let argv = needs(argv, "command", "argv", at, problems).and_then(|argv| {
        let names_a_program = match argv.value.first() {
            None => {
                problems.at(&argv.at, "`argv` must name a program: it is empty");
                false
            }
            Some(program) if program.value.trim().is_empty() => {
                problems.at(&program.at, "the program in `argv` must not be empty");
                false
            }
            Some(_) => true,
        };
        names_a_program.then(|| argv.value.into_iter().map(|arg| arg.value).collect())
    });
    let timeout = match timeout {
        None => Some(DEFAULT_COMMAND_TIMEOUT),
        Some(raw) => duration(raw, "timeout", true, problems),
    };
    Some(CommandChannel {
        argv: argv?,
        timeout: timeout?,
    })
}
