//! The client's incident calls (`/api/v1/incidents`) and how the CLI shows
//! their answers: a table of incidents, one incident with its timeline,
//! and an update as the seeds announce it.

use serde_json::Value;

use super::{Client, ClientError, table, text, urlencode};

impl Client {
    pub async fn incidents(&self, open_only: bool, limit: u32) -> Result<Value, ClientError> {
        let status = if open_only { "open" } else { "all" };
        let path = format!("/incidents?status={status}&limit={limit}");
        self.send(self.http.get(self.url(&path))).await
    }

    pub async fn incident(&self, id: &str) -> Result<Value, ClientError> {
        let path = format!("/incidents/{}", urlencode(id));
        self.send(self.http.get(self.url(&path))).await
    }

    pub async fn open_incident(&self, body: &Value) -> Result<Value, ClientError> {
        self.send(self.http.post(self.url("/incidents")).json(body))
            .await
    }

    pub async fn update_incident(&self, id: &str, body: &Value) -> Result<Value, ClientError> {
        let path = format!("/incidents/{}/updates", urlencode(id));
        self.send(self.http.post(self.url(&path)).json(body)).await
    }

    /// The postmortem's Markdown.
    pub async fn postmortem(&self, id: &str) -> Result<String, ClientError> {
        let path = format!("/incidents/{}/postmortem.md", urlencode(id));
        self.send_text(self.http.get(self.url(&path))).await
    }
}

fn components(incident: &Value) -> String {
    incident["components"]
        .as_array()
        .map(|components| {
            components
                .iter()
                .map(|c| format!("{} ({})", text(c, "name"), text(c, "impact")))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `incident list`.
pub fn render_incidents(body: &Value) -> String {
    let rows: Vec<Vec<String>> = body["incidents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|incident| {
            vec![
                incident["id"].to_string(),
                text(incident, "severity").to_owned(),
                text(incident, "status").to_owned(),
                text(incident, "started_at").to_owned(),
                text(incident, "title").to_owned(),
            ]
        })
        .collect();
    if rows.is_empty() {
        return "no incidents\n".to_owned();
    }
    table(&["ID", "SEVERITY", "STATUS", "STARTED", "TITLE"], &rows)
}

/// `incident show`: the incident, then its timeline oldest first.
pub fn render_incident(body: &Value) -> String {
    let mut out = format!(
        "#{} {} [{}] {}\n",
        body["id"],
        text(body, "title"),
        text(body, "severity"),
        text(body, "status")
    );
    let mut line = |label: &str, value: String| {
        if !value.is_empty() {
            out.push_str(&format!("  {label:<13}{value}\n"));
        }
    };
    line("components", components(body));
    line("commander", text(body, "commander").to_owned());
    line("started", text(body, "started_at").to_owned());
    line("acknowledged", text(body, "acknowledged_at").to_owned());
    line("resolved", text(body, "resolved_at").to_owned());
    line("next update", text(body, "next_update_at").to_owned());
    out.push_str("\ntimeline:\n");
    for item in body["timeline"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let status = match text(item, "status") {
            "" => String::new(),
            status => format!(" [{status}]"),
        };
        let author = match text(item, "author") {
            "" => String::new(),
            author => format!(" ({author})"),
        };
        out.push_str(&format!(
            "  {}  {:<14}{status} {}{author}\n",
            text(item, "at"),
            text(item, "kind"),
            text(item, "body").replace('\n', "\n      ")
        ));
    }
    out
}

/// `incident open` / `incident update`: the announcement, then what
/// happened to it.
pub fn render_posted(body: &Value) -> String {
    let incident = &body["incident"];
    let done = if body["preview"].as_bool() == Some(true) {
        "preview only: nothing was posted".to_owned()
    } else {
        format!(
            "posted to incident #{} (now {})",
            incident["id"],
            text(incident, "status")
        )
    };
    format!("{}\n-- {done}\n", text(body, "announcement").trim_end())
}
