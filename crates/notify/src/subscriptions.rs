//! Status page subscriptions: what visitors who subscribed by email or
//! webhook are sent, decided here as plain functions; the loop that sends
//! it is [`sender`].
//!
//! - A new email subscriber is sent a confirmation request
//!   ([`confirm_delivery`]): nothing else reaches the address until its
//!   owner follows the link (double opt-in).
//! - Every public update of an incident (a timeline entry of kind
//!   `update`, on an incident that touches a public component or none) is
//!   one delivery to each subscriber confirmed by then ([`plan`]), written
//!   with the dispatcher's cursor over timeline entries in one
//!   transaction, so an update is announced once, across restarts.
//! - Every message carries a one-click unsubscribe link: in the text, in
//!   the webhook body's `meta.unsubscribe`, and for email in
//!   `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058), so a mail
//!   client's own button works.
//!
//! Deliveries go through the outbox under the reserved notifier
//! [`SUBSCRIBERS`] (no configured notifier can have that id), with the
//! same retries as alerts. The same pass over the timeline turns a
//! `reminder` entry into a page to the incident's commander
//! ([`reminders`]).

pub mod reminders;
pub mod sender;

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use watchkeeper_domain::incident::subscriber_link::{LinkPurpose, SubscriberLink};
use watchkeeper_domain::incident::{EntryKind, Impact};
use watchkeeper_domain::notifier::EmailChannel;
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_store::{NewDelivery, StoredEntry, StoredIncident, StoredSubscriber};

/// The outbox's notifier for every subscriber delivery. `@` is in no
/// notifier id config accepts.
pub const SUBSCRIBERS: &str = "@subscribers";
/// The group key of subscriber deliveries.
const GROUP: &str = "subscriptions";

/// How subscriptions are configured.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionConfig {
    /// The server and sender of subscribers' mail; `None`: visitors cannot
    /// subscribe by email.
    pub email: Option<EmailChannel>,
    /// Visitors may subscribe a webhook URL.
    pub webhooks: bool,
    /// Where the status page is, without a trailing slash: the links in
    /// messages point there.
    pub page_url: String,
    /// The server's own address, without a trailing slash: the links in a
    /// reminder to the commander point there (the API), as alert
    /// notifications' do, not at a status page that may be served
    /// elsewhere.
    pub server_url: String,
    pub page_title: String,
    /// The public components, id → name; an incident on none of them (and
    /// on some component) is not announced.
    pub public_components: BTreeMap<String, String>,
    /// The people an incident's commander may name, by id, with their
    /// contacts: an overdue update is a reminder to them.
    pub commanders: BTreeMap<String, reminders::Commander>,
    /// Every configured notifier, which reminders are sent through.
    pub notifiers: Vec<watchkeeper_domain::notifier::NotifierSpec>,
}

impl SubscriptionConfig {
    /// Whether subscribers of `kind` are served.
    pub fn accepts(&self, kind: &str) -> bool {
        match kind {
            "email" => self.email.is_some(),
            "webhook" => self.webhooks,
            _ => false,
        }
    }

    /// The link a token opens.
    pub fn link(&self, purpose: LinkPurpose, token: &str) -> String {
        match purpose {
            LinkPurpose::Confirm => format!("{}/subscriptions/confirm/{token}", self.page_url),
            LinkPurpose::Unsubscribe => format!("{}/unsubscribe/{token}", self.page_url),
        }
    }
}

/// The longest address a subscriber may give.
const ADDRESS_LIMIT: usize = 2048;

/// The address a visitor gave, checked: an email address as the sender
/// will parse it, or an `http(s)` URL the target policy lets us reach
/// (no link-local or metadata address, no credentials in it). The error
/// says why, for the visitor.
pub fn check_address(
    kind: &str,
    address: &str,
    policy: &watchkeeper_domain::target_policy::TargetPolicy,
) -> Result<String, String> {
    let address = address.trim();
    if address.len() > ADDRESS_LIMIT {
        return Err(format!(
            "That address is longer than {ADDRESS_LIMIT} characters."
        ));
    }
    match kind {
        "email" => address
            .parse::<lettre::Address>()
            .map(|parsed| parsed.to_string())
            .map_err(|_| format!("{address:?} is not an email address.")),
        "webhook" => {
            let url = url::Url::parse(address).map_err(|_| format!("{address:?} is not a URL."))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err("A webhook must be an http or https URL.".to_owned());
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err("A webhook URL must not hold a user name or password.".to_owned());
            }
            watchkeeper_runner::check_outbound_url(policy, &url).map_err(|refused| {
                format!("That webhook cannot be reached from here: {refused}.")
            })?;
            Ok(url.to_string())
        }
        _ => Err("Subscribe by email or by webhook.".to_owned()),
    }
}

/// One message to one subscriber, as a delivery stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriberMessage {
    pub subscriber: i64,
    /// When the subscriber was created: with the id it names one
    /// subscription (SQLite may give a deleted subscriber's id to the next
    /// one), so a retry never reaches, or a 410 removes, a later
    /// subscriber with the same id. Absent in messages stored before it
    /// was kept.
    #[serde(default)]
    pub subscriber_created_at: Option<Timestamp>,
    /// `email` or `webhook`.
    pub kind: String,
    pub address: String,
    pub subject: String,
    pub text: String,
    pub unsubscribe_url: String,
    /// What a webhook is sent.
    pub body: Value,
    pub sent_at: Timestamp,
}

fn link(key: &LinkKey, purpose: LinkPurpose, subscriber: &StoredSubscriber) -> String {
    SubscriberLink {
        purpose,
        subscriber: subscriber.id,
        created_ms: subscriber.created_at.as_millisecond(),
    }
    .sign(key)
}

fn footer(config: &SubscriptionConfig, unsubscribe: &str) -> String {
    format!(
        "--\nYou receive this because you subscribed to updates from {}.\nUnsubscribe: {unsubscribe}\n",
        config.page_title
    )
}

fn delivery(id: String, kind: &str, at: Timestamp, message: &SubscriberMessage) -> NewDelivery {
    NewDelivery {
        id,
        notifier: SUBSCRIBERS.to_owned(),
        group_key: GROUP.to_owned(),
        kind: kind.to_owned(),
        created_at: at,
        // A struct of strings, numbers and JSON values always encodes.
        notification: serde_json::to_string(message).unwrap_or_default(),
    }
}

/// The request to confirm a new email subscriber.
pub fn confirm_delivery(
    config: &SubscriptionConfig,
    key: &LinkKey,
    subscriber: &StoredSubscriber,
    now: Timestamp,
) -> NewDelivery {
    let confirm = config.link(
        LinkPurpose::Confirm,
        &link(key, LinkPurpose::Confirm, subscriber),
    );
    let unsubscribe = config.link(
        LinkPurpose::Unsubscribe,
        &link(key, LinkPurpose::Unsubscribe, subscriber),
    );
    let text = format!(
        "Someone, hopefully you, asked for {title}'s incident updates to be sent to {address}.\n\n\
         To confirm, open this link:\n{confirm}\n\n\
         If it was not you, ignore this message: nothing more will be sent.\n\n{footer}",
        title = config.page_title,
        address = subscriber.address,
        footer = footer(config, &unsubscribe),
    );
    let message = SubscriberMessage {
        subscriber: subscriber.id,
        subscriber_created_at: Some(subscriber.created_at),
        kind: subscriber.kind.clone(),
        address: subscriber.address.clone(),
        subject: format!("Confirm your subscription to {}", config.page_title),
        text,
        unsubscribe_url: unsubscribe,
        body: json!({ "type": "subscription.confirm", "confirm": confirm }),
        sent_at: now,
    };
    let id = format!("sub-confirm-{}-{}", subscriber.id, now.as_millisecond());
    delivery(id, "subscription.confirm", now, &message)
}

/// Statuspage's impact of an incident: `none`, `minor`, `major` or
/// `critical`, from the worst impact on its components.
fn impact(incident: &StoredIncident) -> &'static str {
    match incident.components.values().max() {
        None => "none",
        Some(Impact::DegradedPerformance) => "minor",
        Some(Impact::PartialOutage) => "major",
        Some(Impact::MajorOutage) => "critical",
    }
}

/// Whether subscribers hear of `incident`: it touches a public component,
/// or no component at all (as the status page shows it).
pub fn announced(config: &SubscriptionConfig, incident: &StoredIncident) -> bool {
    incident.components.is_empty()
        || incident
            .components
            .keys()
            .any(|id| config.public_components.contains_key(id))
}

/// The message announcing `entry`, an update of `incident`, to
/// `subscriber`.
pub fn update_message(
    config: &SubscriptionConfig,
    key: &LinkKey,
    incident: &StoredIncident,
    entry: &StoredEntry,
    subscriber: &StoredSubscriber,
) -> SubscriberMessage {
    let status = entry.status.unwrap_or(incident.status);
    let unsubscribe = config.link(
        LinkPurpose::Unsubscribe,
        &link(key, LinkPurpose::Unsubscribe, subscriber),
    );
    let page = format!("{}/incidents/{}", config.page_url, incident.id);
    let affected: Vec<&str> = incident
        .components
        .keys()
        .filter_map(|id| config.public_components.get(id).map(String::as_str))
        .collect();
    let posted = entry.at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let mut text = format!(
        "[{}] {}\n\n{}\n\n",
        status.title(),
        incident.title,
        entry.body
    );
    if !affected.is_empty() {
        text.push_str(&format!("Affected: {}\n", affected.join(", ")));
    }
    text.push_str(&format!("Posted: {posted}\n\nFollow it: {page}\n\n"));
    text.push_str(&footer(config, &unsubscribe));
    let time = |at: Timestamp| format!("{at:.3}");
    let body = json!({
        "meta": {
            "unsubscribe": unsubscribe,
            "documentation": format!("{}/", config.page_url),
        },
        "page": { "name": config.page_title, "url": config.page_url },
        "incident": {
            "id": incident.id.to_string(),
            "name": incident.title,
            "status": status.as_str(),
            "impact": impact(incident),
            "shortlink": page,
            "created_at": time(incident.created_at),
            "updated_at": time(entry.at),
            "resolved_at": incident.resolved_at.map(time),
            "components": affected,
            "incident_updates": [{
                "id": entry.id.to_string(),
                "incident_id": incident.id.to_string(),
                "status": status.as_str(),
                "body": entry.body,
                "created_at": time(entry.at),
            }],
        },
    });
    SubscriberMessage {
        subscriber: subscriber.id,
        subscriber_created_at: Some(subscriber.created_at),
        kind: subscriber.kind.clone(),
        address: subscriber.address.clone(),
        subject: entry
            .subject
            .clone()
            .unwrap_or_else(|| format!("[{}] {}", status.title(), incident.title)),
        text,
        unsubscribe_url: unsubscribe,
        body,
        sent_at: entry.at,
    }
}

/// The deliveries `entries` make at `now`: one per public update and
/// subscriber confirmed by the update's time, of a kind still served; and
/// one per contact of the commander for each reminder not yet
/// [`reminders::STALE_AFTER`] old.
pub fn plan(
    config: &SubscriptionConfig,
    key: &LinkKey,
    entries: &[StoredEntry],
    incidents: &HashMap<i64, StoredIncident>,
    subscribers: &[StoredSubscriber],
    now: Timestamp,
) -> Vec<NewDelivery> {
    let mut deliveries = Vec::new();
    for entry in entries {
        let Some(incident) = incidents.get(&entry.incident) else {
            continue;
        };
        if entry.kind == EntryKind::Reminder {
            if !reminders::stale(entry, now) {
                deliveries.extend(reminders::reminder_deliveries(config, incident, entry));
            }
            continue;
        }
        if entry.kind != EntryKind::Update || !announced(config, incident) {
            continue;
        }
        for subscriber in subscribers {
            let confirmed = subscriber.confirmed_at.is_some_and(|at| at <= entry.at);
            if !confirmed || !config.accepts(&subscriber.kind) {
                continue;
            }
            let message = update_message(config, key, incident, entry, subscriber);
            let id = format!("sub-{}-{}", entry.id, subscriber.id);
            deliveries.push(delivery(id, "incident.update", entry.at, &message));
        }
    }
    deliveries
}

#[cfg(test)]
mod tests;
