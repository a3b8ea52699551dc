//! The client commands, like Alertmanager's `amtool`: `alert list`,
//! `silence add | list | expire`, `oncall` and `oncall override …`,
//! `incident list | show | open | update | postmortem` talk to a running server's `/api/v1`
//! (`--server URL`, else `WATCHKEEPER_SERVER`, else the config's `[server]
//! listen`), with the token from `WATCHKEEPER_TOKEN` when it is set. The
//! server's JSON errors are printed as its message; a server that cannot
//! be reached says so with the address.

use std::time::Duration;

use serde_json::{Value, json};

mod incidents;
mod oncall;
pub use incidents::{render_incident, render_incidents, render_posted};
pub use oncall::{render_oncall, render_override, render_overrides};

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
    #[error("cannot reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The server answered with its error shape.
    #[error("{status}: {message}")]
    Refused { status: u16, message: String },
    #[error("{server} did not answer JSON: {reason}")]
    Garbled { server: String, reason: String },
}

pub struct Client {
    server: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Client, ClientError> {
        let http = watchkeeper_runner::api_client(TIMEOUT)
            .map_err(|error| ClientError::Setup(error.to_string()))?;
        Ok(Client {
            server: server.trim_end_matches('/').to_owned(),
            token: token.filter(|token| !token.is_empty()),
            http,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ClientError> {
        let text = self.send_text(request).await?;
        serde_json::from_str(&text).map_err(|error| ClientError::Garbled {
            server: self.server.clone(),
            reason: error.to_string(),
        })
    }

    /// The answer's text (a postmortem's Markdown; `send` parses JSON):
    /// a failure's message is the server's JSON error when it sent one.
    async fn send_text(&self, request: reqwest::RequestBuilder) -> Result<String, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::Unreachable {
                server: self.server.clone(),
                reason: error.without_url().to_string(),
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|error| ClientError::Garbled {
                server: self.server.clone(),
                reason: error.to_string(),
            })?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(ClientError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        Ok(text)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server)
    }

    pub async fn alerts(&self) -> Result<Value, ClientError> {
        self.send(self.http.get(self.url("/alerts"))).await
    }

    pub async fn silences(&self, all: bool) -> Result<Value, ClientError> {
        let path = if all {
            "/silences?all=true"
        } else {
            "/silences"
        };
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn add_silence(
        &self,
        matchers: &[String],
        duration: Option<&str>,
        until: Option<&str>,
        comment: &str,
    ) -> Result<Value, ClientError> {
        let mut body = json!({ "matchers": matchers, "comment": comment });
        if let Some(duration) = duration {
            body["duration"] = json!(duration);
        }
        if let Some(until) = until {
            body["ends_at"] = json!(until);
        }
        self.send(self.http.post(self.url("/silences")).json(&body))
            .await
    }

    pub async fn expire_silence(&self, id: &str) -> Result<Value, ClientError> {
        let path = format!("/silences/{}", urlencode(id));
        self.send(self.http.delete(self.url(&path))).await
    }

    /// Acknowledges the alert's current firing.
    pub async fn acknowledge(
        &self,
        fingerprint: &str,
        comment: Option<&str>,
    ) -> Result<Value, ClientError> {
        let mut body = json!({ "via": "cli" });
        if let Some(comment) = comment {
            body["comment"] = json!(comment);
        }
        let path = format!("/alerts/{}/ack", urlencode(fingerprint));
        self.send(self.http.post(self.url(&path)).json(&body)).await
    }

    pub async fn resolve(&self, fingerprint: &str) -> Result<Value, ClientError> {
        let path = format!("/alerts/{}/resolve", urlencode(fingerprint));
        self.send(self.http.post(self.url(&path))).await
    }

    pub async fn unacknowledge(&self, fingerprint: &str) -> Result<Value, ClientError> {
        let path = format!("/alerts/{}/unack", urlencode(fingerprint));
        self.send(self.http.post(self.url(&path))).await
    }

    /// Who is on call at `at` (now when `None`) on `schedule` (every one).
    pub async fn oncall(
        &self,
        at: Option<&str>,
        schedule: Option<&str>,
    ) -> Result<Value, ClientError> {
        let mut query = Vec::new();
        if let Some(at) = at {
            query.push(format!("at={}", urlencode(at)));
        }
        if let Some(schedule) = schedule {
            query.push(format!("schedule={}", urlencode(schedule)));
        }
        let path = if query.is_empty() {
            "/oncall".to_owned()
        } else {
            format!("/oncall?{}", query.join("&"))
        };
        self.send(self.http.get(self.url(&path))).await
    }

    pub async fn overrides(&self, schedule: &str) -> Result<Value, ClientError> {
        let path = format!("/schedules/{}/overrides", urlencode(schedule));
        self.send(self.http.get(self.url(&path))).await
    }

    /// Adds an override: `body` holds `person`, and `start`, `end` or
    /// `duration`, `comment` as given.
    pub async fn add_override(&self, schedule: &str, body: &Value) -> Result<Value, ClientError> {
        let path = format!("/schedules/{}/overrides", urlencode(schedule));
        self.send(self.http.post(self.url(&path)).json(body)).await
    }

    pub async fn remove_override(&self, schedule: &str, id: &str) -> Result<Value, ClientError> {
        let path = format!(
            "/schedules/{}/overrides/{}",
            urlencode(schedule),
            urlencode(id)
        );
        self.send(self.http.delete(self.url(&path))).await
    }
}

fn urlencode(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.~".contains(c) {
                c.to_string()
            } else {
                let mut buffer = [0u8; 4];
                c.encode_utf8(&mut buffer)
                    .bytes()
                    .map(|byte| format!("%{byte:02X}"))
                    .collect()
            }
        })
        .collect()
}

pub(crate) fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

/// A table with a header, columns as wide as their widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            widths[index] = widths[index].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        for (index, cell) in cells.into_iter().enumerate() {
            if index == last {
                out.push_str(&cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
    out
}

/// Who acknowledged a firing alert, or when it should be.
fn ack_cell(alert: &Value) -> String {
    let ack = &alert["acknowledgement"];
    let target = &alert["ack_target"];
    if !ack.is_null() {
        format!("by {}", text(ack, "by"))
    } else if target["breached"].as_bool() == Some(true) {
        format!("overdue since {}", text(target, "due_at"))
    } else if !target.is_null() {
        format!("due {}", text(target, "due_at"))
    } else {
        String::new()
    }
}

/// `alert resolve`.
pub fn render_resolved(body: &Value) -> String {
    format!(
        "resolved {} by hand as {}\n",
        text(body, "fingerprint"),
        text(body, "by")
    )
}

/// `alert ack` and `alert unack`.
pub fn render_ack(body: &Value) -> String {
    let fingerprint = text(body, "fingerprint");
    if body["acknowledged"].as_bool() == Some(true) {
        let ack = &body["acknowledgement"];
        format!(
            "acknowledged {fingerprint} as {} at {}\n",
            text(ack, "by"),
            text(ack, "at")
        )
    } else {
        format!("{fingerprint} is no longer acknowledged\n")
    }
}

/// `alert list`: firing first, as the API orders them.
pub fn render_alerts(body: &Value) -> String {
    let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
    if alerts.is_empty() {
        return "no alerts\n".to_owned();
    }
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|alert| {
            let since = match text(alert, "state") {
                "firing" => text(alert, "fired_at"),
                "pending" => text(alert, "active_since"),
                "resolved" => text(alert, "resolved_at"),
                _ => text(alert, "updated_at"),
            };
            vec![
                text(alert, "state").to_owned(),
                text(alert, "rule").to_owned(),
                text(alert, "monitor").to_owned(),
                alert["labels"]["severity"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                since.to_owned(),
                text(alert, "fingerprint").to_owned(),
                ack_cell(alert),
                alert["quiet"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    table(
        &[
            "STATE",
            "RULE",
            "MONITOR",
            "SEVERITY",
            "SINCE",
            "FINGERPRINT",
            "ACK",
            "QUIET",
        ],
        &rows,
    )
}

pub fn render_silences(body: &Value) -> String {
    let silences = body["silences"].as_array().cloned().unwrap_or_default();
    if silences.is_empty() {
        return "no silences\n".to_owned();
    }
    let rows: Vec<Vec<String>> = silences.iter().map(silence_row).collect();
    table(&["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"], &rows)
}

fn silence_row(silence: &Value) -> Vec<String> {
    let matchers: Vec<&str> = silence["matchers"]
        .as_array()
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    vec![
        text(silence, "id").to_owned(),
        text(silence, "state").to_owned(),
        matchers.join(","),
        text(silence, "ends_at").to_owned(),
        text(silence, "created_by").to_owned(),
        text(silence, "comment").to_owned(),
    ]
}

/// One silence, as `silence add` and `silence expire` print it.
pub fn render_silence(silence: &Value) -> String {
    table(
        &["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"],
        &[silence_row(silence)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_print_as_a_table_firing_first_with_their_quiet() {
        let body = json!({"alerts": [
            {"state": "firing", "rule": "MonitorDown", "monitor": "api", "labels": {"severity": "P2"},
             "fired_at": "2026-12-02T10:00:00.000Z", "fingerprint": "9f2c", "quiet": "silenced by sil_1"},
            {"state": "resolved", "rule": "MonitorDown", "monitor": "db", "labels": {"severity": "P1"},
             "resolved_at": "2026-12-02T09:00:00.000Z", "fingerprint": "77ab"},
        ]});
        let printed = render_alerts(&body);
        let lines: Vec<&str> = printed.lines().collect();
        assert!(
            lines[0].starts_with("STATE     RULE         MONITOR  SEVERITY"),
            "{printed}"
        );
        assert!(
            lines[1].starts_with("firing    MonitorDown  api      P2"),
            "{printed}"
        );
        assert!(lines[1].ends_with("silenced by sil_1"), "{printed}");
        assert!(
            lines[2].ends_with("77ab"),
            "no trailing spaces: {printed:?}"
        );
        assert_eq!(render_alerts(&json!({"alerts": []})), "no alerts\n");
    }

    #[test]
    fn an_id_is_escaped_in_the_path() {
        assert_eq!(urlencode("sil_1a"), "sil_1a");
        assert_eq!(urlencode("a/b c"), "a%2Fb%20c");
    }
}
