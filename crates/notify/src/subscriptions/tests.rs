//! What subscribers are sent: a public update to each confirmed one with
//! its own unsubscribe link, nothing about private incidents.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use watchkeeper_domain::incident::subscriber_link::{LinkPurpose, SubscriberLink};
use watchkeeper_domain::incident::{EntryKind, Impact, IncidentStatus};
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_store::{StoredEntry, StoredIncident, StoredSubscriber};

use super::*;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_764_000_000 + seconds).unwrap()
}

fn config() -> SubscriptionConfig {
    SubscriptionConfig {
        email: None,
        webhooks: true,
        page_url: "http://127.0.0.1:8080".to_owned(),
        server_url: "http://127.0.0.1:8686".to_owned(),
        page_title: "Acme Status".to_owned(),
        public_components: BTreeMap::from([("api".to_owned(), "API".to_owned())]),
        commanders: BTreeMap::new(),
        notifiers: Vec::new(),
    }
}

fn incident(id: i64, component: &str) -> StoredIncident {
    StoredIncident {
        id,
        title: "API Performance Degradation".to_owned(),
        severity: "P2".to_owned(),
        status: IncidentStatus::Investigating,
        components: BTreeMap::from([(component.to_owned(), Impact::PartialOutage)]),
        commander: None,
        opened_by_alert: true,
        started_at: at(0),
        acknowledged_at: None,
        resolved_at: None,
        next_update_at: None,
        last_reminder_at: None,
        created_at: at(0),
        updated_at: at(0),
        alerts: Vec::new(),
    }
}

fn entry(id: i64, incident: i64, kind: EntryKind, at_s: i64) -> StoredEntry {
    StoredEntry {
        id,
        incident,
        at: at(at_s),
        kind,
        author: None,
        status: Some(IncidentStatus::Identified),
        subject: None,
        body: "We found a slow query <b>and</b> are fixing it.".to_owned(),
        fingerprint: None,
        template: None,
    }
}

fn subscriber(id: i64, kind: &str, confirmed: Option<i64>) -> StoredSubscriber {
    StoredSubscriber {
        id,
        kind: kind.to_owned(),
        address: format!("http://127.0.0.1:9/{id}"),
        created_at: at(-100),
        confirmed_at: confirmed.map(at),
    }
}

#[test]
fn a_public_update_goes_to_each_subscriber_confirmed_by_then() {
    let key = LinkKey::new([7; 32]);
    let incidents = HashMap::from([(1, incident(1, "api")), (2, incident(2, "ledger"))]);
    let entries = [
        entry(10, 1, EntryKind::Note, 5),
        entry(11, 1, EntryKind::Update, 10),
        entry(12, 2, EntryKind::Update, 10),
    ];
    let subscribers = [
        subscriber(1, "webhook", Some(0)),
        subscriber(2, "webhook", Some(20)),
        subscriber(3, "webhook", None),
        subscriber(4, "email", Some(0)),
    ];
    let deliveries = plan(&config(), &key, &entries, &incidents, &subscribers, at(60));
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    // A note is not public, incident 2 is on a private component, 2
    // confirmed later, 3 never, and email is off.
    assert_eq!(ids, ["sub-11-1"]);
    let message: SubscriberMessage = serde_json::from_str(&deliveries[0].notification).unwrap();
    // With the id, the creation time names the subscription: a later
    // subscriber given the same id (SQLite reuses a deleted row's) is not it.
    assert_eq!(
        message.subscriber_created_at,
        Some(subscribers[0].created_at)
    );
    assert_eq!(message.subject, "[Identified] API Performance Degradation");
    assert!(
        message.text.starts_with(
            "[Identified] API Performance Degradation\n\nWe found a slow query <b>and</b>"
        ),
        "{}",
        message.text
    );
    assert!(message.text.contains("Affected: API\n"), "{}", message.text);
    assert!(
        message
            .text
            .contains("Follow it: http://127.0.0.1:8080/incidents/1")
    );
    let token = message
        .unsubscribe_url
        .strip_prefix("http://127.0.0.1:8080/unsubscribe/")
        .unwrap();
    let link = SubscriberLink::verify(token, &key, LinkPurpose::Unsubscribe).unwrap();
    assert_eq!(
        (link.subscriber, link.created_ms),
        (1, at(-100).as_millisecond())
    );
    assert!(
        message
            .text
            .ends_with(&format!("Unsubscribe: {}\n", message.unsubscribe_url))
    );
    assert_eq!(
        message.body["meta"]["unsubscribe"],
        message.unsubscribe_url.as_str()
    );
    assert_eq!(message.body["incident"]["status"], "identified");
    assert_eq!(message.body["incident"]["impact"], "major");
    assert_eq!(message.body["incident"]["incident_updates"][0]["id"], "11");
}

#[test]
fn a_confirmation_links_to_its_subscriber_alone() {
    let key = LinkKey::new([7; 32]);
    let mut ann = subscriber(5, "email", None);
    ann.address = "ann@example.com".to_owned();
    let delivery = confirm_delivery(&config(), &key, &ann, at(1));
    assert_eq!(delivery.notifier, SUBSCRIBERS);
    let message: SubscriberMessage = serde_json::from_str(&delivery.notification).unwrap();
    assert_eq!(message.subject, "Confirm your subscription to Acme Status");
    let confirm = message
        .text
        .lines()
        .find_map(|line| line.strip_prefix("http://127.0.0.1:8080/subscriptions/confirm/"))
        .unwrap();
    let link = SubscriberLink::verify(confirm, &key, LinkPurpose::Confirm).unwrap();
    assert_eq!(link.subscriber, 5);
    assert!(message.text.contains("ann@example.com"));

    let mail = sender::email("Acme <status@acme.example>", &delivery.id, &message).unwrap();
    let raw = String::from_utf8(mail.formatted()).unwrap();
    assert!(
        raw.contains("List-Unsubscribe: <http://127.0.0.1:8080/unsubscribe/"),
        "{raw}"
    );
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    assert!(raw.contains("To: ann@example.com"), "{raw}");
}

#[test]
fn an_address_is_checked_before_it_is_stored() {
    let policy = watchkeeper_domain::target_policy::TargetPolicy::default();
    assert_eq!(
        check_address("email", " ann@example.com ", &policy),
        Ok("ann@example.com".to_owned())
    );
    assert!(
        check_address("email", "ann at example", &policy)
            .unwrap_err()
            .contains("is not an email address")
    );
    assert_eq!(
        check_address("webhook", "https://hooks.example.com/status", &policy),
        Ok("https://hooks.example.com/status".to_owned())
    );
    for refused in [
        "ftp://hooks.example.com/",
        "https://user:secret@hooks.example.com/",
        "http://169.254.169.254/latest/meta-data",
        "not a url",
    ] {
        assert!(
            check_address("webhook", refused, &policy).is_err(),
            "{refused}"
        );
    }
    let long = format!("https://example.com/{}", "a".repeat(3000));
    assert!(check_address("webhook", &long, &policy).is_err());
    assert!(check_address("sms", "+1555", &policy).is_err());
}

#[test]
fn an_overdue_update_pages_the_commander_through_each_contact() {
    use super::reminders::{Commander, REMINDERS, ReminderDelivery};
    use crate::payload::PagedPerson;
    use watchkeeper_domain::id::NotifierId;

    let key = LinkKey::new([7; 32]);
    let mut config = config();
    config.commanders = BTreeMap::from([(
        "alice".to_owned(),
        Commander {
            person: PagedPerson {
                id: "alice".to_owned(),
                name: "Alice Ops".to_owned(),
                email: Some("alice@acme.example".to_owned()),
                slack: None,
            },
            contact: vec![
                NotifierId::parse("mail").unwrap(),
                NotifierId::parse("hook").unwrap(),
            ],
        },
    )]);
    let mut led = incident(1, "ledger");
    led.commander = Some("alice".to_owned());
    let mut nobody = incident(2, "api");
    nobody.commander = Some("a-token-name".to_owned());
    let incidents = HashMap::from([(1, led), (2, nobody)]);
    let mut overdue = entry(20, 1, EntryKind::Reminder, 30);
    overdue.body = "The update promised for 10:45 UTC is overdue (2 minutes)".to_owned();
    let entries = [overdue, entry(21, 2, EntryKind::Reminder, 30)];
    let deliveries = plan(&config, &key, &entries, &incidents, &[], at(90));
    let ids: Vec<&str> = deliveries.iter().map(|d| d.id.as_str()).collect();
    // Private or not, the commander hears of it; a commander who is no
    // person is reached by nothing but the timeline.
    assert_eq!(ids, ["rem-20-mail", "rem-20-hook"]);
    assert!(deliveries.iter().all(|d| d.notifier == REMINDERS));
    let stored: ReminderDelivery = serde_json::from_str(&deliveries[0].notification).unwrap();
    assert_eq!(stored.notifier, "mail");
    let notification = &stored.notification;
    assert_eq!(notification.id, "rem-20-mail");
    let page = notification.page.as_ref().unwrap();
    assert!(page.reminder);
    assert_eq!(
        page.person.as_ref().unwrap().email.as_deref(),
        Some("alice@acme.example")
    );
    assert_eq!(notification.alerts[0].rule, "IncidentUpdateOverdue");
    assert_eq!(notification.alerts[0].severity, "P2");
    assert_eq!(
        notification.alerts[0].url, "http://127.0.0.1:8686/api/v1/incidents/1",
        "the server's own address, not the status page's"
    );
    let message = crate::template::MessageTemplates::compile(None, None)
        .unwrap()
        .render(notification)
        .unwrap();
    assert_eq!(message.title, "[FIRING:1] IncidentUpdateOverdue");
    assert!(
        message.text.starts_with("Reminder for Alice Ops, who leads incident #1\n\nFIRING P2 IncidentUpdateOverdue: incident #1 API Performance Degradation: the promised update is overdue\nThe update promised for 10:45 UTC is overdue (2 minutes)\n"),
        "{}",
        message.text
    );
    // Planned an hour and more after it was written (a store's history
    // before this version ran, or a long outage), it pages nobody.
    let late = plan(&config, &key, &entries, &incidents, &[], at(30 + 3601));
    assert!(late.is_empty(), "{late:?}");
    let just_in_time = plan(&config, &key, &entries, &incidents, &[], at(30 + 3600));
    assert_eq!(just_in_time.len(), 2);
}
