//! On-call over HTTP: who is on call (now, at an instant, per schedule,
//! with overrides), overrides added, refused when they overlap and
//! removed, the calendar feed (and its `?token=`), acknowledgement over the
//! API, and the acknowledgement link: a GET changes nothing, the POST
//! acknowledges once, a changed or expired link is refused.

use std::sync::Arc;

use axum::http::Method;
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use watchkeeper_domain::access::Role;
use watchkeeper_domain::alert::Transition;
use watchkeeper_domain::alert::{AlertRule, RuleSet};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::id::{NotifierId, PersonId, ScheduleId};
use watchkeeper_domain::oncall::link::{AckClaims, LinkKey};
use watchkeeper_domain::oncall::rotation::{Rotation, parse_handoff};
use watchkeeper_domain::oncall::schedule::OnCallSchedule;
use watchkeeper_domain::oncall::{Directory, Person};
use watchkeeper_engine::{ExternalResults, ManualResolution};
use watchkeeper_store::{
    AckOutcome, NewAck, NewOverride, OverrideConflict, Store, StoredAck, StoredOverride,
};
use watchkeeper_testkit::{monitor, result};
use watchkeeper_web::api::overrides::Pending;
use watchkeeper_web::{AckWriter, AppState, OverrideWriter};

use crate::alerts::change;
use crate::support::{Fixture, History, at, fixture, make_token};

fn person(id: &str, name: &str) -> Person {
    Person {
        id: PersonId::parse(id).unwrap(),
        name: name.to_owned(),
        email: Some(format!("{id}@example.com")),
        slack: None,
        phone: None,
        time_zone: None,
        contact: vec![NotifierId::parse("hook").unwrap()],
    }
}

/// alice and bob a week each from Monday 2026-01-05 09:00 UTC (so at(…),
/// in 2027, is in some week of theirs), on schedule `primary`.
pub fn directory() -> Directory {
    Directory {
        people: vec![person("alice", "Alice Example"), person("bob", "Bob <b>")],
        schedules: vec![OnCallSchedule {
            id: ScheduleId::parse("primary").unwrap(),
            name: "Primary".to_owned(),
            layers: vec![Rotation {
                name: "base".to_owned(),
                time_zone: TimeZone::UTC,
                every_days: 7,
                handoff: parse_handoff("Mon 09:00").unwrap(),
                start: date(2026, 1, 5),
                members: vec![
                    PersonId::parse("alice").unwrap(),
                    PersonId::parse("bob").unwrap(),
                ],
                restrictions: Vec::new(),
            }],
            overrides: Vec::new(),
        }],
        ack_targets: Default::default(),
    }
}

/// Overrides written straight to the fixture's store.
pub struct StoreOverrides(pub Store);

impl OverrideWriter for StoreOverrides {
    fn add(&self, new: NewOverride) -> Pending<'_, Result<StoredOverride, OverrideConflict>> {
        Box::pin(async move { self.0.add_override(&new).await.map_err(|e| e.to_string()) })
    }

    fn remove(&self, id: i64, by: String, at: Timestamp) -> Pending<'_, Option<StoredOverride>> {
        Box::pin(async move {
            self.0
                .remove_override(id, &by, at)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Acknowledgements written straight to the store, links under a fixed
/// key, resolutions through the fixture's engine.
pub struct StoreAcks(pub Store, pub ExternalResults);

pub const KEY: [u8; 32] = [9; 32];

impl AckWriter for StoreAcks {
    fn acknowledge(&self, ack: NewAck) -> Pending<'_, AckOutcome> {
        Box::pin(async move { self.0.acknowledge(&ack).await.map_err(|e| e.to_string()) })
    }

    fn unacknowledge(
        &self,
        fingerprint: String,
        by: String,
        at: Timestamp,
    ) -> Pending<'_, Option<StoredAck>> {
        Box::pin(async move {
            self.0
                .unacknowledge(&fingerprint, &by, at)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn resolve(&self, fingerprint: String, by: String) -> Pending<'_, ManualResolution> {
        Box::pin(async move { Ok(self.1.resolve_alert(fingerprint, by).await) })
    }

    fn link_key(&self) -> Pending<'_, LinkKey> {
        Box::pin(async move { Ok(LinkKey::new(KEY)) })
    }

    fn use_link(&self, nonce: String, at: Timestamp) -> Pending<'_, bool> {
        Box::pin(async move { self.0.use_link(&nonce, at).await.map_err(|e| e.to_string()) })
    }
}

/// `state` with the directory and both writers.
pub fn with_oncall(state: AppState, store: &Store, engine: ExternalResults) -> AppState {
    state
        .with_oncall(tokio::sync::watch::channel(Arc::new(directory())).1)
        .with_overrides(Arc::new(StoreOverrides(store.clone())))
        .with_acks(Arc::new(StoreAcks(store.clone(), engine)))
}

/// A fixture whose `api` monitor's alert fired at `at(5)`.
async fn firing() -> (Fixture, String) {
    let fired = change("MonitorDown", "api", Transition::Fired, 5);
    let api = MonitorId::parse("api").unwrap();
    let app = fixture(
        vec![monitor("api").build()],
        History {
            results: vec![result("api", at(5)).down("connection refused").build()],
            alerts: vec![fired.clone()],
            rules: RuleSet::new(vec![Arc::new(AlertRule::monitor_down(
                api,
                3,
                2,
                "P2".to_owned(),
            ))]),
            ..History::default()
        },
    )
    .await;
    let state = with_oncall(
        app.state.clone(),
        &app.store,
        app.control.external_results(),
    );
    (app.with_state(state), fired.fingerprint)
}

#[tokio::test]
async fn who_is_on_call_follows_the_rotation_and_an_override_added_over_the_api() {
    let (app, _) = firing().await;
    let answer = app
        .request(Method::GET, "/api/v1/oncall?at=2026-12-02T12:00:00Z")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let primary = &body["schedules"][0];
    // Weeks from 2026-01-05 alternate alice, bob: the one from 2026-11-30 is bob's.
    assert_eq!(primary["on_call"]["person"]["id"], "bob");
    assert_eq!(primary["on_call"]["since"], "2026-11-30T09:00:00.000Z");
    assert_eq!(primary["on_call"]["until"], "2026-12-07T09:00:00.000Z");
    assert_eq!(primary["next"]["person"]["id"], "alice");

    let added = app
        .request_with_body(
            Method::POST,
            "/api/v1/schedules/primary/overrides",
            Some(&app.admin_token),
            Some(r#"{"person": "alice", "start": "2027-01-20T00:00:00Z", "end": "2027-01-21T00:00:00Z", "comment": "swap"}"#),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text());
    let id = added.json()["id"].as_i64().unwrap();
    let clash = app
        .request_with_body(
            Method::POST,
            "/api/v1/schedules/primary/overrides",
            Some(&app.admin_token),
            Some(r#"{"person": "bob", "start": "2027-01-20T12:00:00Z", "duration": "1d"}"#),
        )
        .await;
    assert_eq!(clash.status, 409, "{}", clash.text());
    assert!(
        clash.error().1.contains(&format!("override {id}")),
        "{}",
        clash.text()
    );
    let during = app
        .request(
            Method::GET,
            "/api/v1/oncall?at=2027-01-20T06:00:00Z&schedule=primary",
        )
        .await;
    let shift = &during.json()["schedules"][0]["on_call"];
    assert_eq!(
        (shift["person"]["id"].as_str(), shift["source"].as_str()),
        (Some("alice"), Some("override"))
    );
    assert_eq!(shift["until"], "2027-01-21T00:00:00.000Z");

    let removed = app
        .request(
            Method::DELETE,
            &format!("/api/v1/schedules/primary/overrides/{id}"),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text());
    let after = app
        .request(Method::GET, "/api/v1/oncall?at=2027-01-20T06:00:00Z")
        .await;
    assert_eq!(after.json()["schedules"][0]["on_call"]["source"], "layer");

    for (path, status) in [
        ("/api/v1/oncall?schedule=nope", 404),
        ("/api/v1/oncall?at=yesterday", 400),
        ("/api/v1/schedules/nope.ics", 404),
    ] {
        assert_eq!(
            app.request(Method::GET, path).await.status,
            status,
            "{path}"
        );
    }
}

#[tokio::test]
async fn bad_overrides_are_refused_naming_the_field() {
    let (app, _) = firing().await;
    for (body, field) in [
        (r#"{"person": "carol", "duration": "1h"}"#, "person"),
        (r#"{"person": "alice"}"#, "end"),
        (
            r#"{"person": "alice", "start": "2027-01-02T00:00:00Z", "end": "2027-01-01T00:00:00Z"}"#,
            "end",
        ),
        (r#"{"person": "alice", "duration": "a while"}"#, "duration"),
        (r#"{"person": "alice", "duration": "200d"}"#, "end"),
        (
            r#"{"person": "alice", "duration": "1h", "extra": 1}"#,
            "body",
        ),
    ] {
        let answer = app
            .request_with_body(
                Method::POST,
                "/api/v1/schedules/primary/overrides",
                Some(&app.admin_token),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert!(
            answer.error().1.starts_with(&format!("`{field}`")),
            "{body}: {}",
            answer.text()
        );
    }
}

#[tokio::test]
async fn the_calendar_lists_shifts_and_takes_a_token_in_its_query() {
    let (app, _) = firing().await;
    let answer = app
        .request(Method::GET, "/api/v1/schedules/primary.ics")
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.headers["content-type"],
        "text/calendar; charset=utf-8"
    );
    let text = answer.text();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
    assert!(
        text.contains("SUMMARY:On call: Alice Example (Primary)"),
        "{text}"
    );
    assert!(
        text.contains("SUMMARY:On call: Bob <b> (Primary)"),
        "{text}"
    );
    assert!(
        text.matches("BEGIN:VEVENT").count() >= 14,
        "about 97 days of weekly shifts: {text}"
    );
    // A calendar app cannot send a header; a viewer token in the query works there, and only there.
    let token = make_token(&app.store, "calendar", Role::Viewer).await;
    let subscribed = app
        .request_as(
            Method::GET,
            &format!("/api/v1/schedules/primary.ics?token={token}"),
            None,
        )
        .await;
    assert_eq!(subscribed.status, 200, "{}", subscribed.text());
    let elsewhere = app
        .request_as(Method::GET, &format!("/api/v1/oncall?token={token}"), None)
        .await;
    assert_eq!(elsewhere.status, 401);
    let wrong = app
        .request_as(
            Method::GET,
            "/api/v1/schedules/primary.ics?token=wk_nope",
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
}

#[tokio::test]
async fn an_acknowledgement_over_the_api_shows_on_the_alert_and_is_refused_twice() {
    let (app, fingerprint) = firing().await;
    let path = format!("/api/v1/alerts/{fingerprint}/ack");
    let acked = app
        .request_with_body(
            Method::POST,
            &path,
            Some(&app.admin_token),
            Some(r#"{"comment": "on it"}"#),
        )
        .await;
    assert_eq!(acked.status, 200, "{}", acked.text());
    assert_eq!(acked.json()["acknowledgement"]["by"], "test-admin");
    let again = app.request(Method::POST, &path).await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(
        again
            .error()
            .1
            .contains("acknowledged already, by test-admin"),
        "{}",
        again.text()
    );
    let alert = app
        .request(Method::GET, &format!("/api/v1/alerts/{fingerprint}"))
        .await
        .json();
    assert_eq!(alert["acknowledgement"]["comment"], "on it");
    assert_eq!(alert["acknowledgement"]["via"], "api");
    assert_eq!(
        alert["ack_target"]["within_seconds"],
        4 * 3600,
        "P2: four hours"
    );
    let list = app.request(Method::GET, "/api/v1/alerts").await.json();
    assert_eq!(list["alerts"][0]["acknowledgement"]["by"], "test-admin");
    let unacked = app
        .request(Method::POST, &format!("/api/v1/alerts/{fingerprint}/unack"))
        .await;
    assert_eq!(unacked.status, 200, "{}", unacked.text());
    let alert = app
        .request(Method::GET, &format!("/api/v1/alerts/{fingerprint}"))
        .await
        .json();
    assert!(alert.get("acknowledgement").is_none(), "{alert}");
    assert_eq!(
        app.request(Method::POST, "/api/v1/alerts/nope/ack")
            .await
            .status,
        404
    );

    // Closed by hand: stored and announced as any resolution, with who.
    let resolve = format!("/api/v1/alerts/{fingerprint}/resolve");
    let resolved = app.request(Method::POST, &resolve).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text());
    let detail =
        crate::support::poll_json(&app, &format!("/api/v1/alerts/{fingerprint}"), |alert| {
            alert["state"] == "resolved"
        })
        .await;
    assert_eq!(
        detail["events"][0]["reason"], "resolved by hand by test-admin",
        "{detail}"
    );
    let twice = app.request(Method::POST, &resolve).await;
    assert_eq!(twice.status, 409, "{}", twice.text());
}

fn link(fingerprint: &str, fired_ms: i64, expires: Timestamp, nonce: &str) -> String {
    LinkKey::new(KEY).sign(&AckClaims {
        fingerprint: fingerprint.to_owned(),
        firing_since_ms: fired_ms,
        person: "alice".to_owned(),
        expires: expires.as_second(),
        nonce: nonce.to_owned(),
    })
}

#[tokio::test]
async fn a_link_preview_changes_nothing_the_button_acknowledges_once_and_bad_links_say_why() {
    let (app, fingerprint) = firing().await;
    let fired_ms = at(5).as_millisecond();
    let far = Timestamp::from_second(4_000_000_000).unwrap();
    let good = link(&fingerprint, fired_ms, far, "n1");
    let page = app
        .request_as(Method::GET, &format!("/ack/{good}"), None)
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.text().contains("<form method=\"post\">"),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("Acknowledge as Alice Example"),
        "{}",
        page.text()
    );
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(
        app.store.current_ack(&fingerprint).await.unwrap().is_none(),
        "a GET acknowledges nothing"
    );

    let pressed = app
        .request_as(Method::POST, &format!("/ack/{good}"), None)
        .await;
    assert_eq!(pressed.status, 200, "{}", pressed.text());
    assert!(
        pressed.text().contains("Acknowledged as Alice Example"),
        "{}",
        pressed.text()
    );
    let ack = app.store.current_ack(&fingerprint).await.unwrap().unwrap();
    assert_eq!((ack.actor.as_str(), ack.via.as_str()), ("alice", "link"));
    let replayed = app
        .request_as(Method::POST, &format!("/ack/{good}"), None)
        .await;
    assert_eq!(replayed.status, 410, "{}", replayed.text());
    assert!(
        replayed.text().contains("used already"),
        "{}",
        replayed.text()
    );

    let expired = link(&fingerprint, fired_ms, at(0), "n2");
    let answer = app
        .request_as(Method::POST, &format!("/ack/{expired}"), None)
        .await;
    assert_eq!(answer.status, 410);
    assert!(answer.text().contains("expired"), "{}", answer.text());
    // One character of the claims changed.
    let signed = link(&fingerprint, fired_ms, far, "n3");
    let swapped = if signed.as_bytes()[10] == b'x' {
        "y"
    } else {
        "x"
    };
    let tampered = format!("{}{swapped}{}", &signed[..10], &signed[11..]);
    let answer = app
        .request_as(Method::POST, &format!("/ack/{tampered}"), None)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let earlier_firing = link(&fingerprint, fired_ms - 1000, far, "n4");
    let answer = app
        .request_as(Method::GET, &format!("/ack/{earlier_firing}"), None)
        .await;
    assert_eq!(answer.status, 409, "{}", answer.text());
    assert!(
        answer.text().contains("no longer firing as it was"),
        "{}",
        answer.text()
    );
}
