//! `/api/v1/subscriptions`: the status page's subscribers, for admins
//! only (their addresses are personal data): every one, confirmed or
//! waiting, and removing one (audited), written through the binary's
//! [`SubscriptionWriter`](crate::SubscriptionWriter).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use watchkeeper_domain::access::Role;
use watchkeeper_store::StoredSubscriber;

use crate::AppState;
use crate::api::extract::ApiPath;
use crate::api::wire::time;
use crate::auth::Caller;
use crate::error::ApiError;

/// One subscriber.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriberBody {
    id: i64,
    /// `email` or `webhook`.
    kind: String,
    address: String,
    /// `confirmed`, or `waiting` (an email address not confirmed yet).
    status: &'static str,
    created_at: String,
    confirmed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubscriberList {
    subscribers: Vec<SubscriberBody>,
}

fn body(subscriber: StoredSubscriber) -> SubscriberBody {
    SubscriberBody {
        id: subscriber.id,
        kind: subscriber.kind,
        address: subscriber.address,
        status: if subscriber.confirmed_at.is_some() {
            "confirmed"
        } else {
            "waiting"
        },
        created_at: time(subscriber.created_at),
        confirmed_at: subscriber.confirmed_at.map(time),
    }
}

#[utoipa::path(
    get, path = "/subscriptions", tag = "subscriptions",
    summary = "Every status page subscriber",
    responses((status = 200, description = "By id", body = SubscriberList))
)]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SubscriberList>, ApiError> {
    caller.require(Role::Admin)?;
    let subscribers = state.queries.subscribers().await?;
    Ok(Json(SubscriberList {
        subscribers: subscribers.into_iter().map(body).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/subscriptions/{subscriber}", tag = "subscriptions",
    summary = "Remove a subscriber (their address is forgotten)",
    params(("subscriber" = i64, Path, description = "The subscriber's id")),
    responses((status = 200, description = "The removed subscriber", body = SubscriberBody))
)]
pub(crate) async fn remove_subscription(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    caller: Caller,
) -> Result<Json<SubscriberBody>, ApiError> {
    caller.require(Role::Admin)?;
    let Some(writer) = state.subscriptions.clone() else {
        return Err(ApiError::Unavailable("this server takes no subscriptions"));
    };
    let Some(subscriber) = state.queries.subscriber(id).await? else {
        return Err(ApiError::UnknownSubscriber(id));
    };
    if !writer.remove(id).await.map_err(ApiError::Internal)? {
        return Err(ApiError::UnknownSubscriber(id));
    }
    state
        .audit
        .record_or_log(
            &caller,
            "subscription.remove",
            &id.to_string(),
            serde_json::json!({ "kind": subscriber.kind }),
        )
        .await;
    Ok(Json(body(subscriber)))
}
