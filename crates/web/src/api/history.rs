//! `/api/v1/monitors/{id}/results` and `/monitors/{id}/state-changes`: a
//! monitor's stored history, newest first, a page at a time within a time
//! range. The cursor is a time: each page answers `next_until`, the last
//! item's time, to pass as `until` for the one after it (a monitor's
//! results and changes are at distinct milliseconds, so nothing is
//! skipped or repeated). Raw results are kept for the store's retention;
//! older ones live on only as rollups.

use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use watchkeeper_domain::id::MonitorId;

use crate::AppState;
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::wire::{ResultBody, StateChangeBody, parse_time, time};
use crate::error::ApiError;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// From this time (inclusive; default: the oldest kept).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Before this time (exclusive; default: now and later). The previous
    /// page's `next_until`.
    #[param(format = DateTime)]
    until: Option<String>,
    /// At most this many (1–1000, default 100).
    #[param(schema_with = crate::api::openapi::schema::limit)]
    limit: Option<String>,
}

/// The range and size of one page.
struct Page {
    since: Timestamp,
    until: Timestamp,
    limit: u32,
}

impl HistoryQuery {
    fn page(&self) -> Result<Page, ApiError> {
        let since = self
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?
            .unwrap_or(Timestamp::MIN);
        let until = self
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?
            .unwrap_or(Timestamp::MAX);
        if since > until {
            return Err(ApiError::bad(
                "since",
                format!("is after until ({} > {})", time(since), time(until)),
            ));
        }
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => {
                    return Err(ApiError::bad(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}, not {raw:?}"),
                    ));
                }
            },
        };
        Ok(Page {
            since,
            until,
            limit,
        })
    }
}

/// The cursor after a page: the last item's time, when the page is full.
fn next_until(len: usize, limit: u32, last: Option<Timestamp>) -> Option<String> {
    let full = u32::try_from(len).is_ok_and(|len| len == limit);
    last.filter(|_| full).map(time)
}

fn known(state: &AppState, id: String) -> Result<MonitorId, ApiError> {
    MonitorId::parse(&id)
        .ok()
        .filter(|parsed| state.board.get(parsed).is_some())
        .ok_or(ApiError::UnknownMonitor(id))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultPage {
    /// Newest first. `evaluation_ms` is 0: the store does not keep it.
    pub results: Vec<ResultBody>,
    /// Pass as `until` for the next page; `null` on the last one.
    pub next_until: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateChangePage {
    /// Newest first.
    pub state_changes: Vec<StateChangeBody>,
    /// Pass as `until` for the next page; `null` on the last one.
    pub next_until: Option<String>,
}

#[utoipa::path(
    get, path = "/monitors/{id}/results", tag = "monitors",
    summary = "A monitor's stored results, newest first, a page at a time",
    params(("id" = String, Path, description = "The monitor's id"), HistoryQuery),
    responses((status = 200, description = "A page of results", body = ResultPage))
)]
pub(crate) async fn list_results(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<ResultPage>, ApiError> {
    let id = known(&state, id)?;
    let page = query.page()?;
    let results = state
        .queries
        .results(&id, page.since, page.until, page.limit)
        .await?;
    let next_until = next_until(
        results.len(),
        page.limit,
        results.last().map(|r| r.started_at),
    );
    Ok(Json(ResultPage {
        results: results.iter().map(ResultBody::from).collect(),
        next_until,
    }))
}

#[utoipa::path(
    get, path = "/monitors/{id}/state-changes", tag = "monitors",
    summary = "A monitor's state changes, newest first, a page at a time",
    params(("id" = String, Path, description = "The monitor's id"), HistoryQuery),
    responses((status = 200, description = "A page of state changes", body = StateChangePage))
)]
pub(crate) async fn list_state_changes(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<StateChangePage>, ApiError> {
    let id = known(&state, id)?;
    let page = query.page()?;
    let changes = state
        .queries
        .state_changes_in(&id, page.since, page.until, page.limit)
        .await?;
    let next_until = next_until(changes.len(), page.limit, changes.last().map(|c| c.at));
    Ok(Json(StateChangePage {
        state_changes: changes.iter().map(StateChangeBody::from).collect(),
        next_until,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(since: Option<&str>, until: Option<&str>, limit: Option<&str>) -> HistoryQuery {
        HistoryQuery {
            since: since.map(str::to_owned),
            until: until.map(str::to_owned),
            limit: limit.map(str::to_owned),
        }
    }

    fn field(error: ApiError) -> String {
        match error {
            ApiError::BadRequest { field, .. } => field,
            other => panic!("not a 400: {other:?}"),
        }
    }

    #[test]
    fn a_page_defaults_to_everything_kept_a_hundred_at_a_time() {
        let page = query(None, None, None).page().unwrap();
        assert_eq!(
            (page.since, page.until, page.limit),
            (Timestamp::MIN, Timestamp::MAX, 100)
        );
    }

    #[test]
    fn bad_ranges_and_limits_name_their_parameter() {
        let bad = |q: HistoryQuery| field(q.page().err().unwrap());
        assert_eq!(bad(query(Some("yesterday"), None, None)), "since");
        assert_eq!(
            bad(query(None, Some("2026-13-01T00:00:00Z"), None)),
            "until"
        );
        assert_eq!(
            bad(query(
                Some("2026-12-02T00:00:00Z"),
                Some("2026-12-01T00:00:00Z"),
                None
            )),
            "since"
        );
        for limit in ["0", "1001", "-1", "ten"] {
            assert_eq!(bad(query(None, None, Some(limit))), "limit");
        }
    }

    #[test]
    fn only_a_full_page_has_a_next_one() {
        let at: Timestamp = "2026-12-02T10:00:00.123Z".parse().unwrap();
        assert_eq!(
            next_until(2, 2, Some(at)).as_deref(),
            Some("2026-12-02T10:00:00.123Z")
        );
        assert_eq!(next_until(1, 2, Some(at)), None);
        assert_eq!(next_until(0, 2, None), None);
    }
}
