//! `/feed.atom` and `/feed.rss`: every update of the public incidents the
//! page shows (open, and started in the last 14 days), newest first, as
//! Atom 1.0 and RSS 2.0. Every string is escaped by the template engine
//! (its HTML escaping writes only entities XML has); private incidents are
//! not in them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use minijinja::{AutoEscape, Environment, context};
use serde::Serialize;
use watchkeeper_domain::incident::{EntryKind, IncidentStatus};

use super::model::is_public;
use crate::AppState;
use crate::api::wire::time;

/// The most entries a feed holds.
const FEED_ENTRIES: usize = 50;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>urn:watchkeeper:status</id>
<title>{{ title }}</title>
<updated>{{ updated }}</updated>
<link rel="alternate" href="/"/>
<link rel="self" href="/feed.atom"/>
{% for entry in entries %}<entry>
<id>urn:watchkeeper:incident:{{ entry.incident }}:update:{{ entry.id }}</id>
<title>[{{ entry.status }}] {{ entry.title }}</title>
<updated>{{ entry.at }}</updated>
<link rel="alternate" href="/incidents/{{ entry.incident }}"/>
<content type="text">{{ entry.body }}</content>
</entry>
{% endfor %}</feed>
"#;

const RSS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>{{ title }}</title>
<link>/</link>
<description>Incidents and their updates</description>
<lastBuildDate>{{ updated_rfc2822 }}</lastBuildDate>
{% for entry in entries %}<item>
<guid isPermaLink="false">urn:watchkeeper:incident:{{ entry.incident }}:update:{{ entry.id }}</guid>
<title>[{{ entry.status }}] {{ entry.title }}</title>
<link>/incidents/{{ entry.incident }}</link>
<pubDate>{{ entry.at_rfc2822 }}</pubDate>
<description>{{ entry.body }}</description>
</item>
{% endfor %}</channel>
</rss>
"#;

#[derive(Debug, Serialize)]
pub(crate) struct FeedEntry {
    pub id: i64,
    pub incident: i64,
    pub title: String,
    pub status: &'static str,
    pub body: String,
    pub at: String,
    pub at_rfc2822: String,
}

fn rfc2822(at: Timestamp) -> String {
    at.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

/// The feeds' entries, newest first.
async fn entries(state: &AppState) -> Result<Vec<FeedEntry>, crate::error::ApiError> {
    let settings = state.status_page.borrow().clone();
    let now = state.clock.wall();
    let mut entries = Vec::new();
    for (incident, timeline) in super::incidents(state, now).await? {
        if !is_public(&settings, &incident) {
            continue;
        }
        for entry in timeline
            .iter()
            .filter(|entry| entry.kind == EntryKind::Update)
        {
            let status: IncidentStatus = entry.status.unwrap_or(incident.status);
            entries.push(FeedEntry {
                id: entry.id,
                incident: incident.id,
                title: incident.title.clone(),
                status: status.title(),
                body: entry.body.clone(),
                at: time(entry.at),
                at_rfc2822: rfc2822(entry.at),
            });
        }
    }
    entries.sort_by(|a, b| (&b.at, b.id).cmp(&(&a.at, a.id)));
    entries.truncate(FEED_ENTRIES);
    Ok(entries)
}

/// Renders `template` (Atom or RSS) over `entries`.
pub(crate) fn render(
    template: &str,
    title: &str,
    entries: &[FeedEntry],
    now: Timestamp,
) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.template_from_str(template)?.render(context! {
        title => title,
        updated => entries.first().map_or_else(|| time(now), |e| e.at.clone()),
        updated_rfc2822 => rfc2822(now),
        entries => entries,
    })
}

async fn feed(state: AppState, template: &str, content_type: &'static str) -> Response {
    let title = state.status_page.borrow().title.clone();
    let now = state.clock.wall();
    let rendered = match entries(&state).await {
        Ok(entries) => render(template, &title, &entries, now).map_err(|error| {
            crate::error::ApiError::Internal(format!("the feed did not render: {error}"))
        }),
        Err(error) => Err(error),
    };
    match rendered {
        Ok(body) => (
            StatusCode::OK,
            [
                (CONTENT_TYPE, content_type),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (CACHE_CONTROL, "public, max-age=60"),
            ],
            body,
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

pub(crate) async fn atom(State(state): State<AppState>) -> Response {
    feed(state, ATOM, "application/atom+xml; charset=utf-8").await
}

pub(crate) async fn rss(State(state): State<AppState>) -> Response {
    feed(state, RSS, "application/rss+xml; charset=utf-8").await
}

#[cfg(test)]
pub(crate) const ATOM_TEMPLATE: &str = ATOM;
#[cfg(test)]
pub(crate) const RSS_TEMPLATE: &str = RSS;
