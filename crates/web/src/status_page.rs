//! The public status page: `/` (the banner, components by group with 90
//! days of uptime bars, active incidents with their updates, past
//! incidents by day), `/incidents/{id}`, `/status.css`, the feeds
//! (`feeds`: `/feed.atom`, `/feed.rss`) and shields-style badges
//! (`badges`: `/badge/{component}.svg`, `/badge/{component}/uptime.svg`),
//! subscriptions by email or webhook (`subscribe`: `/subscribe`, the
//! confirmation and unsubscribe links);
//! Statuspage's JSON is `statuspage`. Plain HTML and
//! SVG rendered on the server from minijinja templates compiled into the
//! binary or replaced from `templates_dir` (`templates`), every value
//! escaped; no scripts, no inline styles, under a CSP
//! that allows only the page's own stylesheet (and `https:` images for a
//! logo).
//!
//! What it shows is `model::build`, a pure function. The rendered page is
//! answered again for [`PAGE_CACHE_FOR`], and the daily uptime counts are
//! read in the background at most every [`DAILY_CACHE_FOR`], so a crowd refreshing the page
//! during an outage costs one rendering a few seconds, and reading ten
//! thousand monitors' health is one pass over the board.

mod badges;
mod feeds;
pub mod model;
pub mod statuspage;
pub mod subscribe;
mod templates;

pub use templates::CustomTemplates;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::health::Health;
use watchkeeper_store::{DayCount, IncidentQuery, StoredEntry, StoredIncident};

use crate::AppState;
use crate::error::ApiError;
use model::{HISTORY_DAYS, Inputs, PageModel, PageSettings, UPTIME_DAYS};

/// How long a rendered page is answered again.
pub const PAGE_CACHE_FOR: Duration = Duration::from_secs(5);
/// How long the daily uptime counts are kept.
pub const DAILY_CACHE_FOR: Duration = Duration::from_secs(300);
/// The most incidents one page reads (open, and resolved in the last
/// [`HISTORY_DAYS`]).
const INCIDENTS_READ: u32 = 200;

/// The page's security headers: a CSP without `unsafe-inline`, no framing,
/// no sniffing, no referrer beyond the origin.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Probes per monitor and day, as the page read them last.
type Daily = Arc<HashMap<MonitorId, Vec<DayCount>>>;

struct DailyCache {
    read_at: Instant,
    /// The monitors they were read for (a reload may change them).
    monitors: Vec<MonitorId>,
    counts: Daily,
}

#[derive(Default)]
struct Cached {
    page: Option<(Instant, Bytes)>,
    daily: Option<DailyCache>,
    /// A background read of the daily counts is under way.
    refreshing: bool,
}

/// The rendered page and the daily counts, shared by every request.
#[derive(Clone, Default)]
pub struct PageCache {
    inner: Arc<tokio::sync::Mutex<Cached>>,
}

fn html(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (
                REFERRER_POLICY,
                HeaderValue::from_static("strict-origin-when-cross-origin"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("public, max-age=5")),
            (
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            ),
        ],
        body.into(),
    )
        .into_response()
}

/// The days the bars cover, `[from, to)`, ending with today (UTC).
fn bar_window(now: Timestamp) -> Result<(Timestamp, Timestamp), ApiError> {
    let today = now
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .timestamp();
    let days = SignedDuration::from_hours(24 * i64::try_from(UPTIME_DAYS).unwrap_or(90));
    let from = today
        .checked_sub(days - SignedDuration::from_hours(24))
        .unwrap_or(Timestamp::MIN);
    let to = today
        .checked_add(SignedDuration::from_hours(24))
        .unwrap_or(Timestamp::MAX);
    Ok((from, to))
}

/// The monitors the page's bars are made of.
fn page_monitors(state: &AppState) -> Vec<MonitorId> {
    state
        .status_page
        .borrow()
        .components
        .iter()
        .flat_map(|component| component.monitors.iter().cloned())
        .collect()
}

async fn read_daily(state: &AppState, monitors: &[MonitorId]) -> Result<Daily, ApiError> {
    let (from, to) = bar_window(state.clock.wall())?;
    Ok(Arc::new(
        state.queries.daily_counts(monitors, from, to).await?,
    ))
}

/// The daily counts for the bars, never read on a request's path: when
/// they are missing, older than [`DAILY_CACHE_FOR`] or were read for other
/// monitors (a reload), one background read replaces them, and requests are
/// answered meanwhile with what there is (no bars' data at first: reading
/// ninety days of ten thousand monitors takes longer than a visitor
/// waits).
async fn daily(state: &AppState) -> Daily {
    let monitors = page_monitors(state);
    let mut cached = state.page_cache.inner.lock().await;
    let current = cached
        .daily
        .as_ref()
        .filter(|daily| daily.monitors == monitors);
    let stale = current.is_none_or(|daily| daily.read_at.elapsed() >= DAILY_CACHE_FOR);
    let counts = current
        .map(|daily| daily.counts.clone())
        .unwrap_or_default();
    if stale && !cached.refreshing {
        cached.refreshing = true;
        let state = state.clone();
        tokio::spawn(async move {
            let read = read_daily(&state, &monitors).await;
            let mut cached = state.page_cache.inner.lock().await;
            cached.refreshing = false;
            match read {
                Ok(counts) => {
                    cached.daily = Some(DailyCache {
                        read_at: Instant::now(),
                        monitors,
                        counts,
                    });
                    // The next request renders with them.
                    cached.page = None;
                }
                Err(error) => {
                    tracing::warn!(error = %error, "cannot read the status page's uptime bars; the older ones stay");
                }
            }
        });
    }
    counts
}

/// Open incidents and those started in the last [`HISTORY_DAYS`], each
/// with its timeline.
async fn incidents(
    state: &AppState,
    now: Timestamp,
) -> Result<Vec<(StoredIncident, Vec<StoredEntry>)>, ApiError> {
    let since = now
        .checked_sub(SignedDuration::from_hours(24 * HISTORY_DAYS as i64))
        .unwrap_or(Timestamp::MIN);
    let mut listed = state
        .queries
        .incidents(&IncidentQuery {
            open_only: true,
            limit: INCIDENTS_READ,
            ..IncidentQuery::default()
        })
        .await?;
    for incident in state
        .queries
        .incidents(&IncidentQuery {
            open_only: false,
            since: Some(since),
            limit: INCIDENTS_READ,
            ..IncidentQuery::default()
        })
        .await?
    {
        if !listed.iter().any(|known| known.id == incident.id) {
            listed.push(incident);
        }
    }
    let mut with_entries = Vec::with_capacity(listed.len());
    for incident in listed {
        let entries = state.queries.incident_entries(incident.id).await?;
        with_entries.push((incident, entries));
    }
    Ok(with_entries)
}

/// Every monitor's health now, in one pass over the board.
pub(crate) fn healths(state: &AppState) -> HashMap<MonitorId, Option<Health>> {
    state.board.with_all(|views| {
        views
            .iter()
            .map(|view| (view.spec.id.clone(), view.status.as_ref().map(|s| s.health)))
            .collect()
    })
}

/// The page's model now (the JSON of `/api/v2` reads it too).
pub(crate) async fn model(state: &AppState) -> Result<PageModel, ApiError> {
    Ok(model_with_incidents(state).await?.0)
}

/// The page's model and the incidents it was built from, read once (the
/// JSON shows both).
pub(crate) async fn model_with_incidents(
    state: &AppState,
) -> Result<(PageModel, Vec<(StoredIncident, Vec<StoredEntry>)>), ApiError> {
    let now = state.clock.wall();
    let daily = daily(state).await;
    let incidents = incidents(state, now).await?;
    let settings = state.status_page.borrow().clone();
    let healths = healths(state);
    let model = model::build(
        &settings,
        &Inputs {
            healths: &healths,
            incidents: &incidents,
            daily: &daily,
            now,
        },
    );
    Ok((model, incidents))
}

fn failed(error: &ApiError) -> Response {
    tracing::error!(error = %error, "the status page could not be shown");
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        "<!doctype html><meta charset=\"utf-8\"><title>Status</title><p>The status page cannot be shown right now; try again in a minute.</p>",
    )
}

/// `GET /`.
pub(crate) async fn show(State(state): State<AppState>) -> Response {
    let mut cached = state.page_cache.inner.lock().await;
    if let Some((at, body)) = &cached.page
        && at.elapsed() < PAGE_CACHE_FOR
    {
        return html(StatusCode::OK, body.clone());
    }
    drop(cached);
    let page = match model(&state).await {
        Ok(page) => page,
        Err(error) => return failed(&error),
    };
    let custom = state.status_page.borrow().templates.clone();
    let body = match templates::render(&custom, "page.html", &page, None) {
        Ok(body) => Bytes::from(body),
        Err(error) => return failed(&error),
    };
    cached = state.page_cache.inner.lock().await;
    cached.page = Some((Instant::now(), body.clone()));
    html(StatusCode::OK, body)
}

fn not_found(settings: &PageSettings, page: &PageModel) -> Response {
    let body =
        templates::render(&settings.templates, "not_found.html", page, None).unwrap_or_else(|_| {
            "<!doctype html><title>Not found</title><p>There is no such incident.</p>".to_owned()
        });
    html(StatusCode::NOT_FOUND, body)
}

/// `GET /incidents/{id}`: a 404, as for an unknown id, when it affects
/// only private components.
pub(crate) async fn incident(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let settings = state.status_page.borrow().clone();
    let page = PageModel::chrome(&settings, state.clock.wall());
    let Ok(number) = id.parse::<i64>() else {
        return not_found(&settings, &page);
    };
    let found = match state.queries.incident(number).await {
        Ok(found) => found,
        Err(error) => return failed(&ApiError::from(error)),
    };
    let Some(incident) = found else {
        return not_found(&settings, &page);
    };
    let entries = match state.queries.incident_entries(incident.id).await {
        Ok(entries) => entries,
        Err(error) => return failed(&ApiError::from(error)),
    };
    let Some(view) = model::incident_view(&settings, &incident, &entries) else {
        return not_found(&settings, &page);
    };
    match templates::render(&settings.templates, "incident.html", &page, Some(&view)) {
        Ok(body) => html(StatusCode::OK, body),
        Err(error) => failed(&error),
    }
}

/// `GET /status.css`, with the config's accent.
pub(crate) async fn stylesheet(State(state): State<AppState>) -> Response {
    let settings = state.status_page.borrow().clone();
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        templates::stylesheet(&settings.templates, &settings.accent),
    )
        .into_response()
}

pub(crate) use badges::{status as status_badge, uptime as uptime_badge};
pub(crate) use feeds::{atom, rss};
pub(crate) use subscribe::{confirm, show_confirm, show_unsubscribe, subscribe, unsubscribe};

/// The settings of a page with nothing configured.
pub fn default_settings() -> Arc<PageSettings> {
    Arc::new(PageSettings::default())
}

#[cfg(test)]
mod tests;
