//! `/api/v1/deliveries`: the notification outbox as stored, newest first,
//! and one delivery with every attempt at it (when, how long, what the
//! receiver answered, what that meant). The notification's alerts are
//! listed by fingerprint, status and rule; the rendered message is not
//! kept.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use watchkeeper_store::{Delivery, DeliveryAttempt};

use crate::AppState;
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::wire::time;
use crate::error::ApiError;

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only this notifier's deliveries.
    notifier: Option<String>,
    /// At most this many (1–1000, default 100).
    #[param(schema_with = crate::api::openapi::schema::limit)]
    limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryBody {
    /// The `webhook-id`, the same on every attempt.
    pub id: String,
    pub notifier: String,
    /// `alert.firing` or `alert.resolved`.
    pub kind: String,
    /// `pending`, `delivered`, `failed` or `dropped`.
    pub status: &'static str,
    pub attempts: u32,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// `HTTP 500`, `POST http://…: connect: connection refused`.
    pub last_outcome: Option<String>,
    pub finished_at: Option<String>,
    pub group_key: String,
    pub alerts: Vec<DeliveredAlert>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveredAlert {
    pub fingerprint: String,
    pub rule: String,
    pub status: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryBody,
    pub attempt_log: Vec<AttemptBody>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptBody {
    pub number: u32,
    pub at: String,
    pub duration_ms: u128,
    pub outcome: String,
    pub decision: String,
}

impl From<Delivery> for DeliveryBody {
    fn from(delivery: Delivery) -> Self {
        // The stored notification is the notify crate's JSON: read only
        // what the list shows, and show nothing rather than fail on a row
        // written by another version.
        let alerts = serde_json::from_str::<serde_json::Value>(&delivery.notification)
            .ok()
            .and_then(|value| value.get("alerts").and_then(|a| a.as_array()).cloned())
            .unwrap_or_default()
            .iter()
            .map(|alert| {
                let text = |key: &str| alert[key].as_str().unwrap_or_default().to_owned();
                DeliveredAlert {
                    fingerprint: text("fingerprint"),
                    rule: text("rule"),
                    status: text("status"),
                }
            })
            .collect();
        DeliveryBody {
            status: delivery.status.as_str(),
            attempts: delivery.attempts,
            created_at: time(delivery.created_at),
            next_attempt_at: delivery.next_attempt_at.map(time),
            last_attempt_at: delivery.last_attempt_at.map(time),
            finished_at: delivery.finished_at.map(time),
            last_outcome: delivery.last_outcome,
            id: delivery.id,
            notifier: delivery.notifier,
            kind: delivery.kind,
            group_key: delivery.group_key,
            alerts,
        }
    }
}

impl From<DeliveryAttempt> for AttemptBody {
    fn from(attempt: DeliveryAttempt) -> Self {
        AttemptBody {
            number: attempt.number,
            at: time(attempt.at),
            duration_ms: attempt.duration.as_millis(),
            outcome: attempt.outcome,
            decision: attempt.decision,
        }
    }
}

fn limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<u32>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ApiError::BadRequest {
            field: "limit".to_owned(),
            message: format!("must be a whole number from 1 to {MAX_LIMIT}, not {raw:?}"),
        }),
    }
}

#[utoipa::path(
    get, path = "/deliveries", tag = "notifications",
    summary = "Notifications in the outbox, newest first",
    params(DeliveryQuery),
    responses((status = 200, description = "The deliveries", body = DeliveryList))
)]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let limit = limit(query.limit.as_deref())?;
    let deliveries = state
        .queries
        .deliveries(query.notifier.as_deref(), limit)
        .await?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.into_iter().map(DeliveryBody::from).collect(),
    }))
}

#[utoipa::path(
    get, path = "/deliveries/{delivery}", tag = "notifications",
    summary = "One delivery with each attempt",
    params(("delivery" = String, Path, description = "The delivery's id")),
    responses((status = 200, description = "The delivery", body = DeliveryDetail))
)]
pub(crate) async fn get_delivery(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let (delivery, attempts) = state
        .queries
        .delivery(&id)
        .await?
        .ok_or(ApiError::UnknownDelivery(id))?;
    Ok(Json(DeliveryDetail {
        delivery: DeliveryBody::from(delivery),
        attempt_log: attempts.into_iter().map(AttemptBody::from).collect(),
    }))
}
