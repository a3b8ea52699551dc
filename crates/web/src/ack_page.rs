//! `/ack/{link}`: the acknowledgement link every page carries. Opening it
//! (`GET`) only shows the alert and a button, because chat apps and mail
//! scanners fetch links to preview them; the button (`POST` to the same
//! URL) acknowledges, once. A link that was changed, has expired, was used
//! already, or whose alert no longer fires in the episode it was sent for
//! says so and changes nothing.
//!
//! The link itself is the credential (signed by `domain::oncall::link`
//! under the store's key), so this route is on the public router. The page
//! is plain HTML without scripts or inline styles, every value escaped by
//! minijinja, sent with a CSP that allows nothing but posting the form to
//! itself, and `Referrer-Policy: no-referrer` so the link does not leak.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, context};
use watchkeeper_domain::alert::StoredAlert;
use watchkeeper_domain::oncall::link::{AckClaims, LinkError};
use watchkeeper_store::{AckOutcome, AckVia, NewAck};

use crate::AppState;
use crate::api::acks::firing_since;
use crate::api::wire::time;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · Watchkeeper</title></head>
<body>
<h1>{{ title }}</h1>
{% if alert %}<dl>
<dt>Alert</dt><dd>{{ alert.rule }} on {{ alert.monitor }}</dd>
<dt>Severity</dt><dd>{{ alert.severity }}</dd>
<dt>State</dt><dd>{{ alert.state }}{% if alert.fired_at %} since {{ alert.fired_at }}{% endif %}</dd>
</dl>{% endif %}
<p>{{ message }}</p>
{% if button %}<form method="post"><button type="submit">Acknowledge{% if person %} as {{ person }}{% endif %}</button></form>{% endif %}
</body>
</html>
"#;

pub(crate) struct Page {
    status: StatusCode,
    title: &'static str,
    message: String,
    alert: Option<StoredAlert>,
    person: String,
    button: bool,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut environment = Environment::new();
        environment.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        let alert = self.alert.as_ref().map(|alert| {
            context! {
                rule => alert.rule,
                monitor => alert.monitor.as_str(),
                severity => alert.labels.get("severity").cloned().unwrap_or_default(),
                state => alert.state.phase.as_str(),
                fired_at => alert.state.fired_at.map(time),
            }
        });
        let html = environment
            .template_from_str(PAGE)
            .and_then(|template| {
                template.render(context! {
                    title => self.title,
                    message => self.message,
                    alert => alert,
                    person => self.person,
                    button => self.button,
                })
            })
            .unwrap_or_else(|error| {
                tracing::error!(error = %error, "the acknowledgement page did not render");
                "<!doctype html><title>Watchkeeper</title><p>This page could not be shown.</p>"
                    .to_owned()
            });
        (
            self.status,
            [
                (CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    CONTENT_SECURITY_POLICY,
                    "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                ),
                (X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (REFERRER_POLICY, "no-referrer"),
                (CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response()
    }
}

fn refused(
    status: StatusCode,
    title: &'static str,
    message: String,
    alert: Option<StoredAlert>,
) -> Page {
    Page {
        status,
        title,
        message,
        alert,
        person: String::new(),
        button: false,
    }
}

/// The link's claims and its alert, or the page saying why not.
async fn check(state: &AppState, link: &str) -> Result<(AckClaims, StoredAlert), Page> {
    let Some(writer) = state.acks.clone() else {
        return Err(refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            "This server does not take acknowledgements.".to_owned(),
            None,
        ));
    };
    let key = writer.link_key().await.map_err(|error| {
        tracing::error!(error = %error, "cannot read the acknowledgement link key");
        refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The server could not check this link; try again, or acknowledge with `watchkeeper alert ack`.".to_owned(),
            None,
        )
    })?;
    let claims = key.verify(link, state.clock.wall()).map_err(|error| {
        let (status, title) = match error {
            LinkError::Expired(_) => (StatusCode::GONE, "This link has expired"),
            LinkError::Malformed | LinkError::Tampered => {
                (StatusCode::BAD_REQUEST, "This link is not valid")
            }
        };
        refused(
            status,
            title,
            format!("{error}. Nothing was changed."),
            None,
        )
    })?;
    let alert = match state.queries.alert(&claims.fingerprint).await {
        Ok(Some(alert)) => alert,
        Ok(None) => {
            return Err(refused(
                StatusCode::NOT_FOUND,
                "Unknown alert",
                "The alert this link names is not in the store. Nothing was changed.".to_owned(),
                None,
            ));
        }
        Err(error) => {
            tracing::error!(error = %error, "cannot read an alert for an acknowledgement link");
            return Err(refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server could not read the alert; try again.".to_owned(),
                None,
            ));
        }
    };
    let episode = firing_since(&alert).map(|since| since.as_millisecond());
    if episode != Some(claims.firing_since_ms) {
        return Err(refused(
            StatusCode::CONFLICT,
            "Nothing to acknowledge",
            "This alert is no longer firing as it was when this link was sent (it resolved, or fired again since). Nothing was changed.".to_owned(),
            Some(alert),
        ));
    }
    Ok((claims, alert))
}

/// The person's name as the config has it, else the id the link names.
fn person_name(state: &AppState, id: &str) -> String {
    watchkeeper_domain::id::PersonId::parse(id)
        .ok()
        .and_then(|person| {
            state
                .oncall
                .borrow()
                .person(&person)
                .map(|p| p.name.clone())
        })
        .unwrap_or_else(|| id.to_owned())
}

pub(crate) async fn show(State(state): State<AppState>, Path(link): Path<String>) -> Page {
    let (claims, alert) = match check(&state, &link).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let current = state
        .queries
        .current_ack(&claims.fingerprint)
        .await
        .ok()
        .flatten();
    if let Some(ack) = current {
        return refused(
            StatusCode::OK,
            "Already acknowledged",
            format!(
                "{} acknowledged this alert at {} ({}).",
                ack.actor,
                time(ack.at),
                ack.via.as_str()
            ),
            Some(alert),
        );
    }
    Page {
        status: StatusCode::OK,
        title: "Acknowledge this alert?",
        message: "Acknowledging stops its escalation; nobody else is paged for it.".to_owned(),
        alert: Some(alert),
        person: person_name(&state, &claims.person),
        button: true,
    }
}

pub(crate) async fn acknowledge(State(state): State<AppState>, Path(link): Path<String>) -> Page {
    let (claims, alert) = match check(&state, &link).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(writer) = state.acks.clone() else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            String::new(),
            None,
        );
    };
    let now = state.clock.wall();
    let failed = |error: String| {
        tracing::error!(error = %error, "an acknowledgement through a link failed");
        refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The acknowledgement could not be stored; try again.".to_owned(),
            None,
        )
    };
    match writer.use_link(claims.nonce.clone(), now).await {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                StatusCode::GONE,
                "This link was used already",
                "Each link acknowledges once. Nothing was changed.".to_owned(),
                Some(alert),
            );
        }
        Err(error) => return failed(error),
    }
    let actor = if claims.person.is_empty() {
        "ack link".to_owned()
    } else {
        claims.person.clone()
    };
    let ack = NewAck {
        fingerprint: claims.fingerprint.clone(),
        firing_since: alert.state.fired_at.unwrap_or(now),
        at: now,
        actor: actor.clone(),
        via: AckVia::Link,
        comment: String::new(),
    };
    match writer.acknowledge(ack).await {
        Ok(AckOutcome::Acknowledged(_)) => {
            tracing::info!(alert = %claims.fingerprint, by = %actor, "alert acknowledged through a link");
            refused(
                StatusCode::OK,
                "Acknowledged",
                format!(
                    "Acknowledged as {}. Its escalation has stopped.",
                    person_name(&state, &actor)
                ),
                Some(alert),
            )
        }
        Ok(AckOutcome::AlreadyAcknowledged(ack)) => refused(
            StatusCode::OK,
            "Already acknowledged",
            format!("{} acknowledged this alert at {}.", ack.actor, time(ack.at)),
            Some(alert),
        ),
        Ok(AckOutcome::NotFiring) => refused(
            StatusCode::CONFLICT,
            "Nothing to acknowledge",
            "This alert is no longer firing. Nothing was changed.".to_owned(),
            Some(alert),
        ),
        Err(error) => failed(error),
    }
}
