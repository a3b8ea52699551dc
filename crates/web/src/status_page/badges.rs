//! Shields-style SVG badges: `/badge/{component}.svg` (its status now) and
//! `/badge/{component}/uptime.svg?days=30` (its availability over the last
//! 1–90 days, from the same daily counts as the bars). A private or
//! unknown component is a 404, as on every public route.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use minijinja::{AutoEscape, Environment, context};
use serde::Deserialize;

use super::model::{UPTIME_DAYS, percent};
use crate::AppState;

const BADGE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="{{ width }}" height="20" role="img" aria-label="{{ label }}: {{ value }}"><title>{{ label }}: {{ value }}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{{ width }}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{{ left }}" height="20" fill="#555"/><rect x="{{ left }}" width="{{ right }}" height="20" fill="{{ color }}"/><rect width="{{ width }}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{{ left / 2 }}" y="14">{{ label }}</text><text x="{{ left + right / 2 }}" y="14">{{ value }}</text></g></svg>
"##;

/// Roughly Verdana 11 px: enough to size a badge like shields.io does.
fn text_width(text: &str) -> u32 {
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX / 8);
    chars.saturating_mul(7).saturating_add(10)
}

/// The badge's SVG: `label` on grey, `value` on `color`.
pub(crate) fn badge(label: &str, value: &str, color: &str) -> Result<String, minijinja::Error> {
    let (left, right) = (text_width(label), text_width(value));
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.template_from_str(BADGE)?.render(context! {
        width => left + right, left => left, right => right,
        label => label, value => value, color => color,
    })
}

fn status_color(status: &str) -> &'static str {
    match status {
        "operational" => "#2fa86b",
        "degraded_performance" => "#dfb317",
        "partial_outage" => "#f0a431",
        "major_outage" => "#e0463f",
        _ => "#3d8fe0",
    }
}

fn svg(body: String) -> Response {
    (
        [
            (CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CONTENT_SECURITY_POLICY, "default-src 'none'"),
            (CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such component\n",
    )
        .into_response()
}

fn rendered(result: Result<String, minijinja::Error>) -> Response {
    match result {
        Ok(body) => svg(body),
        Err(error) => {
            crate::error::ApiError::Internal(format!("the badge did not render: {error}"))
                .into_response()
        }
    }
}

/// `GET /badge/{component}.svg` (axum captures `name.svg` whole).
pub(crate) async fn status(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".svg") else {
        return not_found();
    };
    let model = match super::model(&state).await {
        Ok(model) => model,
        Err(error) => return error.into_response(),
    };
    let Some(component) = model
        .groups
        .iter()
        .flat_map(|g| &g.components)
        .find(|c| c.id == id)
    else {
        return not_found();
    };
    rendered(badge(
        "status",
        &component.status_title.to_lowercase(),
        status_color(component.status),
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct UptimeQuery {
    days: Option<String>,
}

/// `GET /badge/{component}/uptime.svg?days=30`.
pub(crate) async fn uptime(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<UptimeQuery>,
) -> Response {
    let days = match query.days.as_deref().map(str::parse::<usize>) {
        None => 30,
        Some(Ok(days)) if (1..=UPTIME_DAYS).contains(&days) => days,
        Some(_) => {
            return crate::error::ApiError::bad(
                "days",
                format!("must be a whole number of days from 1 to {UPTIME_DAYS}"),
            )
            .into_response();
        }
    };
    let model = match super::model(&state).await {
        Ok(model) => model,
        Err(error) => return error.into_response(),
    };
    let Some(component) = model
        .groups
        .iter()
        .flat_map(|g| &g.components)
        .find(|c| c.id == id)
    else {
        return not_found();
    };
    let (count, failures) = component.days[component.days.len().saturating_sub(days)..]
        .iter()
        .fold((0u64, 0u64), |(c, f), day| {
            (c + day.count, f + day.failures)
        });
    let label = format!("uptime {days}d");
    if count == 0 {
        return rendered(badge(&label, "no data", "#9f9f9f"));
    }
    let availability = 1.0 - failures as f64 / count as f64;
    let color = if availability >= 0.999 {
        "#2fa86b"
    } else if availability >= 0.99 {
        "#a4a61d"
    } else if availability >= 0.95 {
        "#f0a431"
    } else {
        "#e0463f"
    };
    rendered(badge(&label, &percent(availability), color))
}
