//! The subscriptions at run time, one supervised task: every
//! [`POLL`] it turns the timeline entries after its cursor into
//! deliveries ([`super::plan`], committed with the cursor), makes one
//! attempt at each due delivery — up to [`PARALLEL`] at once, each bounded
//! by [`ATTEMPT_TIMEOUT`], so a hanging webhook holds up only its own
//! slot — and forgets addresses left unconfirmed for [`CONFIRM_FOR`].
//! A store error ends the task for the supervisor to start again from
//! what is stored; an attempt in flight then is made again with the same
//! delivery id (the `webhook-id` and `Message-ID` a receiver can
//! deduplicate on).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use lettre::Message as Email;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use reqwest::header::HeaderMap;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_store::{AttemptRecord, Delivery, DeliveryStatus, Store};

use super::reminders::{REMINDERS, ReminderDelivery};
use super::{SUBSCRIBERS, SubscriberMessage, SubscriptionConfig, plan};
use crate::channel::{self, Answer};
use crate::metrics::NotifyMetrics;
use crate::outbox::{ATTEMPT_TIMEOUT, NotifyError};
use crate::payload::Message;
use crate::retry::{Attempt, Decision, Outcome, RetryPolicy};
use crate::template::MessageTemplates;

/// How often new updates and due deliveries are looked for.
pub const POLL: Duration = Duration::from_secs(2);
/// Attempts made at once.
pub const PARALLEL: usize = 4;
/// How long an email address waits for its owner to confirm it.
pub const CONFIRM_FOR: SignedDuration = SignedDuration::from_hours(7 * 24);
/// Entries read per store query.
const ENTRIES_PER_READ: u32 = 200;
/// Deliveries taken per query.
const DELIVERIES_PER_READ: u32 = 20;
/// How long a claimed delivery is this instance's: longer than a batch
/// takes (20 deliveries, 4 at a time, each attempt at most 15 s), so a
/// second instance sharing the database never sends it too; after a crash
/// it is due again when the claim runs out.
const CLAIM_FOR: SignedDuration = SignedDuration::from_mins(5);

/// Everything the subscriptions need besides their configuration.
pub struct Subscriptions {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub policy: Arc<TargetPolicy>,
    pub retry: RetryPolicy,
    pub metrics: NotifyMetrics,
    /// Signs the confirmation and unsubscribe links.
    pub key: LinkKey,
}

impl Subscriptions {
    /// Runs until `cancel`, or until a store error (then it returns, for
    /// the supervisor to start it again). `config` changes on reload.
    pub async fn run(
        self: Arc<Self>,
        mut config: watch::Receiver<Arc<SubscriptionConfig>>,
        cancel: CancellationToken,
    ) {
        let client =
            match watchkeeper_runner::outbound_client(self.policy.clone(), &[], ATTEMPT_TIMEOUT) {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(error = %error, "subscriptions cannot build their HTTP client");
                    return;
                }
            };
        // Without a reloader, the config is the one we have.
        let mut watching = true;
        loop {
            let current = config.borrow_and_update().clone();
            if let Err(error) = self.step(&current, &client).await {
                tracing::error!(error = %error, "subscriptions stopped; they start again from the store");
                return;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = config.changed(), if watching => watching = changed.is_ok(),
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One round: new updates into deliveries, the due ones attempted, the
    /// stale unconfirmed addresses forgotten.
    pub async fn step(
        &self,
        config: &SubscriptionConfig,
        client: &reqwest::Client,
    ) -> Result<(), NotifyError> {
        while self.dispatch(config).await? {}
        for queue in [SUBSCRIBERS, REMINDERS] {
            loop {
                let now = self.clock.now();
                let due = self
                    .store
                    .claim_due_deliveries(queue, now, now + CLAIM_FOR, DELIVERIES_PER_READ)
                    .await?;
                let full = due.len() == DELIVERIES_PER_READ as usize;
                futures_util::stream::iter(due)
                    .map(|delivery| async move {
                        if queue == REMINDERS {
                            self.remind(config, client, delivery).await
                        } else {
                            self.attempt(config, client, delivery).await
                        }
                    })
                    .buffer_unordered(PARALLEL)
                    .try_collect::<Vec<()>>()
                    .await?;
                if !full {
                    break;
                }
            }
        }
        let stale = self.clock.now() - CONFIRM_FOR;
        let forgotten = self.store.remove_unconfirmed(stale).await?;
        if forgotten > 0 {
            tracing::info!(
                forgotten,
                "subscribers who never confirmed their address were forgotten"
            );
        }
        Ok(())
    }

    /// Turns one batch of entries into deliveries; whether there may be
    /// more.
    async fn dispatch(&self, config: &SubscriptionConfig) -> Result<bool, NotifyError> {
        let from = self.store.subscription_cursor().await?;
        let entries = self
            .store
            .entries_after(from.unwrap_or(0), ENTRIES_PER_READ)
            .await?;
        let Some(last) = entries.last().map(|entry| entry.id) else {
            return Ok(false);
        };
        let mut incidents = HashMap::new();
        for entry in &entries {
            if !incidents.contains_key(&entry.incident)
                && let Some(incident) = self.store.incident(entry.incident).await?
            {
                incidents.insert(entry.incident, incident);
            }
        }
        let subscribers = self.store.subscribers().await?;
        let deliveries = plan(
            config,
            &self.key,
            &entries,
            &incidents,
            &subscribers,
            self.clock.now(),
        );
        let committed = self
            .store
            .commit_subscriptions(from, last, &deliveries)
            .await?;
        if committed && !deliveries.is_empty() {
            tracing::info!(
                deliveries = deliveries.len(),
                "incident updates queued for subscribers"
            );
        }
        // Lost to another instance: read again from where it left it.
        Ok(!committed || entries.len() == ENTRIES_PER_READ as usize)
    }

    async fn attempt(
        &self,
        config: &SubscriptionConfig,
        client: &reqwest::Client,
        delivery: Delivery,
    ) -> Result<(), NotifyError> {
        let started = self.clock.now();
        let number = delivery.attempts.saturating_add(1);
        let message = match serde_json::from_str::<SubscriberMessage>(&delivery.notification) {
            Ok(message) => message,
            Err(error) => {
                let reason = format!("the stored message cannot be read: {error}");
                return self.give_up(&delivery, number, started, reason).await;
            }
        };
        let found = self.store.subscriber(message.subscriber).await?;
        let dropped = match found {
            // The same id may name a later subscriber (SQLite reuses it).
            Some(found)
                if message
                    .subscriber_created_at
                    .is_none_or(|created| created == found.created_at) =>
            {
                (!config.accepts(&message.kind))
                    .then(|| format!("{} subscriptions are turned off", message.kind))
            }
            _ => Some(
                "the subscriber is gone (unsubscribed, removed, or never confirmed)".to_owned(),
            ),
        };
        if let Some(reason) = dropped {
            return self
                .record(&delivery, number, started, &reason, DeliveryStatus::Dropped)
                .await;
        }
        let answer = send(config, client, &self.policy, &delivery, &message).await;
        let decision = match self.retry.decide(
            Attempt::of(&delivery, number, self.clock.now()),
            &answer.outcome,
        ) {
            // 410: the receiver is gone for good, and so is the subscription
            // (no notifier is disabled).
            Decision::Disable { .. } => {
                self.store
                    .remove_subscriber(message.subscriber, message.subscriber_created_at)
                    .await?;
                tracing::info!(
                    subscriber = message.subscriber,
                    "a webhook subscriber answered 410 Gone and was removed"
                );
                Decision::GiveUp {
                    reason: "410 Gone: the subscriber was removed".to_owned(),
                }
            }
            decision => decision,
        };
        self.settle(&delivery, number, started, answer, decision)
            .await
    }

    /// One attempt at a reminder, through the commander's notifier as
    /// configured now, with its own templates.
    async fn remind(
        &self,
        config: &SubscriptionConfig,
        client: &reqwest::Client,
        delivery: Delivery,
    ) -> Result<(), NotifyError> {
        let started = self.clock.now();
        let number = delivery.attempts.saturating_add(1);
        let stored = match serde_json::from_str::<ReminderDelivery>(&delivery.notification) {
            Ok(stored) => stored,
            Err(error) => {
                let reason = format!("the stored reminder cannot be read: {error}");
                return self.give_up(&delivery, number, started, reason).await;
            }
        };
        let Some(spec) = config
            .notifiers
            .iter()
            .find(|spec| spec.id.as_str() == stored.notifier)
        else {
            let reason = format!("notifier {} is no longer configured", stored.notifier);
            return self
                .record(&delivery, number, started, &reason, DeliveryStatus::Dropped)
                .await;
        };
        let templates = match MessageTemplates::compile(
            spec.templates.title.as_deref(),
            spec.templates.text.as_deref(),
        ) {
            Ok(templates) => templates,
            Err(error) => {
                let reason = format!("the notifier's templates do not compile: {error}");
                return self.give_up(&delivery, number, started, reason).await;
            }
        };
        let answer = channel::deliver(
            client,
            &self.policy,
            spec,
            &templates,
            &stored.notification,
            started,
        )
        .await;
        let decision = match self.retry.decide(
            Attempt::of(&delivery, number, self.clock.now()),
            &answer.outcome,
        ) {
            // The notifier's own sender disables it; a reminder just ends.
            Decision::Disable { reason } => Decision::GiveUp { reason },
            decision => decision,
        };
        self.settle(&delivery, number, started, answer, decision)
            .await
    }

    /// Records one attempt's answer and what it means.
    /// Records a failure that no retry can mend, with its reason.
    async fn give_up(
        &self,
        delivery: &Delivery,
        number: u32,
        started: Timestamp,
        reason: String,
    ) -> Result<(), NotifyError> {
        let answer = Answer::failed(reason.clone());
        self.settle(
            delivery,
            number,
            started,
            answer,
            Decision::GiveUp { reason },
        )
        .await
    }

    async fn settle(
        &self,
        delivery: &Delivery,
        number: u32,
        started: Timestamp,
        answer: Answer,
        decision: Decision,
    ) -> Result<(), NotifyError> {
        let result = match &decision {
            Decision::Delivered => "delivered",
            Decision::RetryAt { .. } => "retry",
            Decision::GiveUp { .. } => "failed",
            Decision::Disable { .. } => "disabled",
        };
        let (status, next_attempt_at, decided) = match &decision {
            Decision::Delivered => (DeliveryStatus::Delivered, None, "delivered".to_owned()),
            Decision::RetryAt { at, reason } => (
                DeliveryStatus::Pending,
                Some(*at),
                format!("retry at {at:.0}: {reason}"),
            ),
            Decision::GiveUp { reason } | Decision::Disable { reason } => {
                (DeliveryStatus::Failed, None, format!("gave up: {reason}"))
            }
        };
        if status != DeliveryStatus::Delivered {
            tracing::warn!(delivery = %delivery.id, attempt = number, outcome = %answer.summary, decision = %decided, "a subscriber's message was not delivered");
        }
        self.store
            .record_attempt(&AttemptRecord {
                delivery_seq: delivery.seq,
                number,
                at: started,
                duration: self.clock.now().duration_since(started).unsigned_abs(),
                outcome: answer.summary,
                decision: decided,
                status,
                next_attempt_at,
            })
            .await?;
        self.metrics.attempt(&delivery.notifier, result);
        Ok(())
    }

    /// Records a delivery that was not attempted, final.
    async fn record(
        &self,
        delivery: &Delivery,
        number: u32,
        at: Timestamp,
        reason: &str,
        status: DeliveryStatus,
    ) -> Result<(), NotifyError> {
        self.store
            .record_attempt(&AttemptRecord {
                delivery_seq: delivery.seq,
                number,
                at,
                duration: Duration::ZERO,
                outcome: reason.to_owned(),
                decision: format!("{}: {reason}", status.as_str()),
                status,
                next_attempt_at: None,
            })
            .await?;
        self.metrics.attempt(&delivery.notifier, status.as_str());
        Ok(())
    }
}

/// One attempt at one message, over email or a webhook.
async fn send(
    config: &SubscriptionConfig,
    client: &reqwest::Client,
    policy: &TargetPolicy,
    delivery: &Delivery,
    message: &SubscriberMessage,
) -> Answer {
    if message.kind == "webhook" {
        let url = match url::Url::parse(&message.address) {
            Ok(url) => url,
            Err(error) => return Answer::failed(format!("the webhook URL is not a URL: {error}")),
        };
        let mut headers = HeaderMap::new();
        if let Ok(id) = delivery.id.parse() {
            headers.insert("webhook-id", id);
        }
        if let Ok(at) = message.sent_at.as_second().to_string().parse() {
            headers.insert("webhook-timestamp", at);
        }
        return channel::http::post_json(client, policy, url, &message.body, headers).await;
    }
    let Some(server) = &config.email else {
        return Answer::failed("email subscriptions are turned off".to_owned());
    };
    let outcome = match email(server.from.as_str(), &delivery.id, message) {
        Ok(email) => channel::email::send_email(server, email, ATTEMPT_TIMEOUT).await,
        Err(reason) => Outcome::Rejected { reason },
    };
    Answer::of(outcome)
}

/// The mail to a subscriber: text and HTML parts, the same `Message-ID`
/// and `Date` on every attempt, and RFC 8058's one-click unsubscribe.
pub fn email(from: &str, delivery_id: &str, message: &SubscriberMessage) -> Result<Email, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|error| format!("the sender {from:?} is not a mailbox: {error}"))?;
    let to: Mailbox = message.address.parse().map_err(|error| {
        format!(
            "the address {:?} is not a mailbox: {error}",
            message.address
        )
    })?;
    let message_id = format!("<{delivery_id}@{}>", from.email.domain());
    let text = Message {
        title: message.subject.clone(),
        text: message.text.clone(),
    };
    let html = channel::email::html(&text);
    Email::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(message_id))
        .date(SystemTime::from(message.sent_at))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", message.unsubscribe_url),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            html,
        ))
        .map_err(|error| format!("cannot build the message: {error}"))
}
