//! The channels that are one HTTP POST of JSON: our webhook (v1, or
//! Alertmanager's v4) signed per Standard Webhooks, Slack, Discord, Teams,
//! ntfy and PagerDuty (one event per alert). The client is the runner's
//! outbound client: the target policy at connect time, no proxy, no
//! redirect followed (a 3xx is a failed attempt), 15 s per attempt. Only
//! the status and `Retry-After` of the answer matter; at most 1 KiB of its
//! body is kept, for `notify test` to print.

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use url::Url;
use watchkeeper_domain::notifier::{Channel, WebhookFormat};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::channel::Answer;
use crate::payload::{self, Message, Notification};
use crate::retry::Outcome;
use crate::signature::SigningSecret;

/// How much of a receiver's answer is kept.
const ANSWER_EXCERPT: usize = 1024;

/// One request to make.
struct Request {
    url: Url,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Sends `notification` over an HTTP channel. `None` when `channel` is not
/// one (email, command).
pub async fn send(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    channel: &Channel,
    notification: &Notification,
    message: &Message,
    now: Timestamp,
) -> Option<Answer> {
    let requests = match requests(channel, notification, message, now) {
        Ok(Some(requests)) => requests,
        Ok(None) => return None,
        Err(reason) => return Some(Answer::failed(reason)),
    };
    let mut last = None;
    for request in requests {
        let answer = post(client, policy, request).await;
        let delivered = matches!(answer.outcome, Outcome::Answered { status, .. } if (200..300).contains(&status));
        if !delivered {
            return Some(answer);
        }
        last = Some(answer);
    }
    last
}

/// POSTs `body` as JSON with `headers` besides: one attempt, as every
/// HTTP channel makes it (a status page's webhook subscriber).
pub async fn post_json(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    url: Url,
    body: &Value,
    headers: HeaderMap,
) -> Answer {
    match json_request(url, body) {
        Ok(mut request) => {
            request.headers.extend(headers);
            post(client, policy, request).await
        }
        Err(reason) => Answer::failed(reason),
    }
}

async fn post(client: &reqwest::Client, policy: &TargetPolicy, request: Request) -> Answer {
    let target = format!("POST {}", shown(&request.url));
    if let Err(refused) = watchkeeper_runner::check_outbound_url(policy, &request.url) {
        return Answer::failed(format!("{target}: {refused}"));
    }
    let sent = client
        .post(request.url)
        .headers(request.headers)
        .body(request.body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            return Answer::failed(watchkeeper_runner::describe_outbound_error(&target, error));
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // The body only for the record: a receiver that sends garbage or
    // closes early still answered with its status.
    let body = response.bytes().await.ok().map(|bytes| {
        let cut = &bytes[..bytes.len().min(ANSWER_EXCERPT)];
        String::from_utf8_lossy(cut).into_owned()
    });
    Answer {
        outcome: Outcome::Answered {
            status,
            retry_after,
        },
        summary: format!("HTTP {status}"),
        body,
    }
}

/// A URL as logs and the API may show it: scheme, host and port, path
/// hidden (webhook URLs carry their secret in the path).
fn shown(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    if url.path() != "/" {
        shown.push_str("/…");
    }
    shown
}

fn json_request(url: Url, body: &Value) -> Result<Request, String> {
    let body =
        serde_json::to_vec(body).map_err(|error| format!("cannot encode payload: {error}"))?;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(Request { url, headers, body })
}

fn requests(
    channel: &Channel,
    notification: &Notification,
    message: &Message,
    now: Timestamp,
) -> Result<Option<Vec<Request>>, String> {
    let one = |url: &Url, body: Value| json_request(url.clone(), &body).map(|r| Some(vec![r]));
    match channel {
        Channel::Webhook(webhook) => {
            let body = match webhook.format {
                WebhookFormat::Watchkeeper => payload::webhook(notification),
                WebhookFormat::Alertmanager => payload::alertmanager(notification),
            };
            let mut request = json_request(webhook.url.expose().clone(), &body)?;
            for (name, value) in &webhook.headers {
                let name = HeaderName::try_from(name.as_str())
                    .map_err(|error| format!("header {name}: {error}"))?;
                let value = HeaderValue::try_from(value.expose())
                    .map_err(|error| format!("header {name}: {error}"))?;
                request.headers.insert(name, value);
            }
            sign(
                &mut request,
                webhook.secret.as_ref().map(|s| s.expose()),
                notification,
                now,
            )?;
            Ok(Some(vec![request]))
        }
        Channel::Slack(chat) => one(chat.url.expose(), payload::slack(notification, message)),
        Channel::Discord(chat) => one(chat.url.expose(), payload::discord(notification, message)),
        Channel::Teams(chat) => one(chat.url.expose(), payload::teams(notification, message)),
        Channel::Ntfy(ntfy) => {
            let url = ntfy.url.expose();
            let topic = url
                .path_segments()
                .and_then(|mut segments| segments.next_back())
                .filter(|topic| !topic.is_empty())
                .ok_or_else(|| "the ntfy URL names no topic".to_owned())?
                .to_owned();
            let mut server = url.clone();
            server.set_path("/");
            let mut body = payload::ntfy(notification, message, &topic);
            if let (Some(priority), Value::Object(map)) = (ntfy.priority, &mut body)
                && notification.status() == payload::AlertStatus::Firing
            {
                map.insert("priority".into(), priority.into());
            }
            let mut request = json_request(server, &body)?;
            if let Some(token) = &ntfy.token {
                let value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|error| format!("ntfy token: {error}"))?;
                request
                    .headers
                    .insert(reqwest::header::AUTHORIZATION, value);
            }
            Ok(Some(vec![request]))
        }
        Channel::PagerDuty(pagerduty) => {
            payload::pagerduty(notification, pagerduty.routing_key.expose())
                .iter()
                .map(|event| json_request(pagerduty.url.clone(), event))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Channel::Email(_) | Channel::Command(_) => Ok(None),
    }
}

/// The Standard Webhooks headers: `webhook-id` (the delivery's, the same
/// on every attempt), `webhook-timestamp` (this attempt's), and with a
/// secret `webhook-signature`.
fn sign(
    request: &mut Request,
    secret: Option<&str>,
    notification: &Notification,
    now: Timestamp,
) -> Result<(), String> {
    let header = |value: String| {
        HeaderValue::try_from(value).map_err(|error| format!("webhook header: {error}"))
    };
    request
        .headers
        .insert("webhook-id", header(notification.id.clone())?);
    request
        .headers
        .insert("webhook-timestamp", header(now.as_second().to_string())?);
    if let Some(secret) = secret {
        let secret = SigningSecret::parse(secret).map_err(|error| format!("secret: {error}"))?;
        let signature = secret.sign(&notification.id, now, &request.body);
        request
            .headers
            .insert("webhook-signature", header(signature)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_is_shown_without_its_path() {
        let url = Url::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(shown(&url), "https://hooks.slack.com/…");
        let url = Url::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!(shown(&url), "http://127.0.0.1:9000");
    }
}
