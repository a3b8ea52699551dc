//! Subscriptions from the status page, without JavaScript: the page's
//! form `POST /subscribe` (an `email` or a `webhook` field), the
//! confirmation link `/subscriptions/confirm/{token}` an email address is
//! sent, and the unsubscribe link `/unsubscribe/{token}` every message
//! carries. Opening a link (`GET`) only shows a button, since mail
//! scanners fetch links; the button (`POST` to the same URL) acts. A mail
//! client's one-click unsubscribe (RFC 8058) POSTs to the same URL too.
//!
//! The answer to a subscription is the same whether the address was new,
//! waiting or subscribed already, so the form tells nobody who is
//! subscribed. What is stored and sent is the binary's
//! ([`SubscriptionWriter`]); the links are its to check.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::model::PageModel;
use super::templates::{self, Notice};
use crate::AppState;
use crate::api::overrides::Pending;

/// What a visitor asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeRequest {
    Email(String),
    Webhook(String),
}

/// How a subscription, a confirmation or an unsubscription went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeOutcome {
    Done,
    /// The address, or the link, is not one: why, for the visitor.
    Refused(String),
}

/// Stores subscribers and sends them their confirmation; implemented by
/// the binary over the store.
pub trait SubscriptionWriter: Send + Sync + 'static {
    fn subscribe(&self, request: SubscribeRequest) -> Pending<'_, SubscribeOutcome>;
    fn confirm(&self, token: String) -> Pending<'_, SubscribeOutcome>;
    fn unsubscribe(&self, token: String) -> Pending<'_, SubscribeOutcome>;
    /// Removes subscriber `id` (an admin over the API); whether there was
    /// one.
    fn remove(&self, id: i64) -> Pending<'_, bool>;
}

#[derive(Debug, Deserialize)]
pub(crate) struct SubscribeForm {
    email: Option<String>,
    webhook: Option<String>,
}

fn notice(state: &AppState, status: StatusCode, notice: &Notice) -> Response {
    let settings = state.status_page.borrow().clone();
    let page = PageModel::chrome(&settings, state.clock.wall());
    match templates::render_notice(&settings.templates, &page, notice) {
        Ok(body) => super::html(status, body),
        Err(error) => super::failed(&error),
    }
}

fn refused(state: &AppState, status: StatusCode, message: String) -> Response {
    notice(
        state,
        status,
        &Notice {
            heading: "That did not work",
            message,
            button: None,
        },
    )
}

fn trouble(state: &AppState, error: &str) -> Response {
    tracing::error!(error = %error, "a subscription could not be written");
    refused(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Something went wrong on our side; please try again in a minute.".to_owned(),
    )
}

fn no_subscriptions(state: &AppState) -> Response {
    refused(
        state,
        StatusCode::NOT_FOUND,
        "This page takes no subscriptions.".to_owned(),
    )
}

/// The page for what the writer said: `done` when it went through, the
/// reason with `refused_status` when it did not.
fn answer(
    state: &AppState,
    outcome: Result<SubscribeOutcome, String>,
    refused_status: StatusCode,
    done: &Notice,
) -> Response {
    match outcome {
        Ok(SubscribeOutcome::Done) => notice(state, StatusCode::OK, done),
        Ok(SubscribeOutcome::Refused(why)) => refused(state, refused_status, why),
        Err(error) => trouble(state, &error),
    }
}

/// `POST /subscribe`.
pub(crate) async fn subscribe(
    State(state): State<AppState>,
    form: Result<Form<SubscribeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let offered = state.status_page.borrow().subscribe;
    let Some(writer) = state.subscriptions.clone() else {
        return no_subscriptions(&state);
    };
    let Ok(Form(form)) = form else {
        return refused(
            &state,
            StatusCode::BAD_REQUEST,
            "The form was not sent as a form; use the one on the status page.".to_owned(),
        );
    };
    let filled =
        |field: Option<String>| field.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (request, heading, message) = match (filled(form.email), filled(form.webhook)) {
        (Some(email), None) if offered.email => (
            SubscribeRequest::Email(email.clone()),
            "Check your inbox",
            format!(
                "If {email} is not subscribed yet, a message is on its way to it: follow its link to confirm. Nothing else is sent until you do."
            ),
        ),
        (None, Some(url)) if offered.webhook => (
            SubscribeRequest::Webhook(url.clone()),
            "Subscribed",
            format!(
                "Incident updates will be POSTed to {url} as JSON; each one carries a link to unsubscribe (meta.unsubscribe)."
            ),
        ),
        (Some(_), Some(_)) => {
            return refused(
                &state,
                StatusCode::BAD_REQUEST,
                "Give an email address or a webhook URL, not both.".to_owned(),
            );
        }
        (None, None) => {
            return refused(
                &state,
                StatusCode::BAD_REQUEST,
                "Give an email address or a webhook URL.".to_owned(),
            );
        }
        _ => {
            return refused(
                &state,
                StatusCode::BAD_REQUEST,
                "This page does not take that kind of subscription.".to_owned(),
            );
        }
    };
    let done = Notice {
        heading,
        message,
        button: None,
    };
    answer(
        &state,
        writer.subscribe(request).await,
        StatusCode::BAD_REQUEST,
        &done,
    )
}

/// `GET /subscriptions/confirm/{token}`: the button.
pub(crate) async fn show_confirm(State(state): State<AppState>) -> Response {
    notice(
        &state,
        StatusCode::OK,
        &Notice {
            heading: "Confirm your subscription",
            message: "Press the button to receive this page's incident updates.".to_owned(),
            button: Some("Confirm"),
        },
    )
}

/// `POST /subscriptions/confirm/{token}`.
pub(crate) async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(writer) = state.subscriptions.clone() else {
        return no_subscriptions(&state);
    };
    let done = Notice {
        heading: "Subscribed",
        message: "You will receive this page's incident updates. Every message has a link to unsubscribe.".to_owned(),
        button: None,
    };
    answer(
        &state,
        writer.confirm(token).await,
        StatusCode::NOT_FOUND,
        &done,
    )
}

/// `GET /unsubscribe/{token}`: the button.
pub(crate) async fn show_unsubscribe(State(state): State<AppState>) -> Response {
    notice(
        &state,
        StatusCode::OK,
        &Notice {
            heading: "Unsubscribe",
            message: "Press the button to stop receiving this page's incident updates.".to_owned(),
            button: Some("Unsubscribe"),
        },
    )
}

/// `POST /unsubscribe/{token}`, from the button or a mail client's
/// one-click unsubscribe.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    let Some(writer) = state.subscriptions.clone() else {
        return no_subscriptions(&state);
    };
    let done = Notice {
        heading: "Unsubscribed",
        message: "You will receive nothing more from this page, and your address is forgotten."
            .to_owned(),
        button: None,
    };
    answer(
        &state,
        writer.unsubscribe(token).await,
        StatusCode::NOT_FOUND,
        &done,
    )
}
