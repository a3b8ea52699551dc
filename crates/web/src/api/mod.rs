//! `/api/v1/monitors`: what every monitor is doing now, from the in-memory
//! board, with 24 h availability from the store (cached briefly, so listing
//! ten thousand monitors does not rescan a day of rollups on every request).
//! The encoded list itself is shared by every request within a second of
//! its building ([`ListCache`]), so a client listing in a loop costs one
//! encoding a second, not one per request.

pub mod acks;
pub mod alerts;
pub mod components;
pub mod deliveries;
pub mod extract;
pub mod history;
pub mod incidents;
pub mod oncall;
pub mod openapi;
pub mod overrides;
pub mod routes;
pub mod silences;
pub mod slos;
pub mod subscriptions;
pub mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;
use watchkeeper_domain::id::MonitorId;

use crate::AppState;
use crate::error::ApiError;
use extract::ApiPath;
use wire::{MonitorDetail, MonitorList, MonitorSummary};

const AVAILABILITY_WINDOW: SignedDuration = SignedDuration::from_hours(24);
const AVAILABILITY_CACHE_FOR: Duration = Duration::from_secs(30);
const RECENT_STATE_CHANGES: u32 = 20;
/// Monitors summarised per read of the board (see `Board::map_in_chunks`).
const LIST_CHUNK: usize = 256;
/// How long an encoded monitor list is answered again: a list is at most
/// this much older than the board (probes run every few seconds at best).
pub const LIST_CACHE_FOR: Duration = Duration::from_secs(1);

type AvailabilityMap = Arc<HashMap<MonitorId, f64>>;
type CachedAvailability = Option<(Instant, AvailabilityMap)>;

/// 24 h availability of every monitor, recomputed at most every 30 s.
#[derive(Clone, Default)]
pub struct AvailabilityCache {
    inner: Arc<Mutex<CachedAvailability>>,
}

impl AvailabilityCache {
    async fn get(&self, state: &AppState) -> Result<AvailabilityMap, ApiError> {
        if let Some((at, map)) = self.lock().as_ref()
            && at.elapsed() < AVAILABILITY_CACHE_FOR
        {
            return Ok(map.clone());
        }
        let since = state
            .clock
            .now()
            .checked_sub(AVAILABILITY_WINDOW)
            .unwrap_or(Timestamp::MIN);
        let map = Arc::new(state.queries.availability_all(since).await?);
        // Right after start nothing is written yet; caching that would show
        // `null` availability for the whole cache period.
        if !map.is_empty() {
            *self.lock() = Some((Instant::now(), map.clone()));
        }
        Ok(map)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CachedAvailability> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The last encoded monitor list, with when it was built and from which
/// board generation. The lock is held while a list is built, so requests
/// that arrive meanwhile wait for that one list instead of each building
/// their own.
#[derive(Clone)]
pub struct ListCache {
    answer_for: Duration,
    inner: Arc<tokio::sync::Mutex<Option<CachedList>>>,
}

impl Default for ListCache {
    fn default() -> Self {
        Self::answering_for(LIST_CACHE_FOR)
    }
}

struct CachedList {
    built: Instant,
    generation: u64,
    body: Bytes,
}

impl ListCache {
    /// A cache that answers a list again for `answer_for` after building it
    /// (zero: every request builds its own).
    pub fn answering_for(answer_for: Duration) -> Self {
        Self {
            answer_for,
            inner: Arc::default(),
        }
    }

    async fn get(&self, state: &AppState) -> Result<Bytes, ApiError> {
        let mut cached = self.inner.lock().await;
        // Read before building: a reload during the build leaves the list
        // marked with the older generation, and the next request rebuilds.
        let generation = state.board.generation();
        if let Some(list) = cached.as_ref()
            && list.generation == generation
            && list.built.elapsed() < self.answer_for
        {
            return Ok(list.body.clone());
        }
        let body = encode_list(state).await?;
        *cached = Some(CachedList {
            built: Instant::now(),
            generation,
            body: body.clone(),
        });
        Ok(body)
    }
}

#[utoipa::path(
    get, path = "/monitors", tag = "monitors",
    summary = "Every monitor: its state, last result and 24 h availability",
    responses((status = 200, description = "Every monitor", body = wire::MonitorList))
)]
pub(crate) async fn list_monitors(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.list_cache.get(&state).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Summarising and encoding ten thousand monitors takes tens of
/// milliseconds of CPU: done on the blocking pool, so no runtime worker
/// (which may hold the scheduler's next wake-up) is busy that long, and the
/// board read in chunks, so the recorder never waits for the whole list.
async fn encode_list(state: &AppState) -> Result<Bytes, ApiError> {
    let availability = state.availability_cache.get(state).await?;
    let board = state.board.clone();
    let encoded = tokio::task::spawn_blocking(move || {
        let monitors = board.map_in_chunks(LIST_CHUNK, |view| {
            MonitorSummary::new(view, availability.get(&view.spec.id).copied())
        });
        serde_json::to_vec(&MonitorList { monitors })
    })
    .await
    .map_err(|error| ApiError::Internal(format!("listing monitors failed: {error}")))?
    .map_err(|error| ApiError::Internal(format!("cannot encode the monitor list: {error}")))?;
    Ok(Bytes::from(encoded))
}

#[utoipa::path(
    get, path = "/monitors/{id}", tag = "monitors",
    summary = "One monitor with its conditions, state changes and recent results",
    params(("id" = String, Path, description = "The monitor's id")),
    responses((status = 200, description = "The monitor", body = wire::MonitorDetail))
)]
pub(crate) async fn get_monitor(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MonitorDetail>, ApiError> {
    let view = MonitorId::parse(&id)
        .ok()
        .and_then(|id| state.board.get(&id))
        .ok_or(ApiError::UnknownMonitor(id))?;
    let since = state
        .clock
        .now()
        .checked_sub(AVAILABILITY_WINDOW)
        .unwrap_or(Timestamp::MIN);
    let availability = state.queries.availability(&view.spec.id, since).await?;
    let changes = state
        .queries
        .state_changes(&view.spec.id, RECENT_STATE_CHANGES)
        .await?;
    Ok(Json(MonitorDetail::new(&view, availability, &changes)))
}
