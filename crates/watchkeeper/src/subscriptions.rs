//! Subscription wiring: the [`SubscriptionConfig`] made from
//! `[status_page]`, the people who may command an incident and the
//! notifiers (again on every reload) and [`StoreSubscriptions`], the
//! web's writer: it checks a visitor's address, stores the subscriber and
//! queues an email address's confirmation request, and checks the signed
//! links that confirm and unsubscribe. The task that sends is
//! `watchkeeper_notify::subscriptions::sender`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use watchkeeper_config::Config;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::incident::subscriber_link::{LinkPurpose, SubscriberLink};
use watchkeeper_domain::notifier::Channel;
use watchkeeper_domain::oncall::link::LinkKey;
use watchkeeper_domain::target_policy::TargetPolicy;
use watchkeeper_notify::payload::PagedPerson;
use watchkeeper_notify::subscriptions::reminders::Commander;
use watchkeeper_notify::subscriptions::sender::CONFIRM_FOR;
use watchkeeper_notify::subscriptions::{SubscriptionConfig, check_address, confirm_delivery};
use watchkeeper_store::{NewSubscriber, Store};
use watchkeeper_web::SubscriptionWriter;
use watchkeeper_web::api::overrides::Pending;
use watchkeeper_web::{SubscribeOutcome, SubscribeRequest};

/// How subscribers are served under `config`; `own_url` is the server's
/// address, for links when `[status_page] url` is not set.
pub fn subscription_config(config: &Config, own_url: &str) -> Arc<SubscriptionConfig> {
    let page = &config.status_page;
    let email = page.subscribe_by_email.as_ref().and_then(|id| {
        config
            .alerting
            .notifiers
            .iter()
            .find(|spec| &spec.id == id)
            .and_then(|spec| match &spec.channel {
                Channel::Email(email) => Some(email.clone()),
                _ => None,
            })
    });
    let page_url = page
        .url
        .as_ref()
        .map_or_else(|| own_url.to_owned(), ToString::to_string);
    Arc::new(SubscriptionConfig {
        email,
        webhooks: page.subscribe_by_webhook,
        page_url: page_url.trim_end_matches('/').to_owned(),
        server_url: own_url.trim_end_matches('/').to_owned(),
        page_title: page.title.clone(),
        public_components: config
            .components
            .iter()
            .filter(|component| component.public)
            .map(|component| (component.id.to_string(), component.name.clone()))
            .collect(),
        commanders: config
            .oncall
            .people
            .iter()
            .filter(|person| !person.contact.is_empty())
            .map(|person| {
                let commander = Commander {
                    person: PagedPerson {
                        id: person.id.to_string(),
                        name: person.name.clone(),
                        email: person.email.clone(),
                        slack: person.slack.clone(),
                    },
                    contact: person.contact.clone(),
                };
                (person.id.to_string(), commander)
            })
            .collect(),
        notifiers: config.alerting.notifiers.clone(),
    })
}

/// The web's [`SubscriptionWriter`] over the store.
pub struct StoreSubscriptions {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub key: LinkKey,
    pub policy: Arc<TargetPolicy>,
    pub config: watch::Receiver<Arc<SubscriptionConfig>>,
    /// When each address waiting to confirm was last asked, for
    /// [`RESEND_AFTER`]; only the last few minutes' are kept.
    pub asked: Mutex<HashMap<(i64, Timestamp), Timestamp>>,
}

/// An address waiting to confirm is asked again only this long after it
/// was last asked, however often the form is sent for it (a double click,
/// or someone mailing a stranger through the page).
pub const RESEND_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// Whether to ask `subscriber` (id and creation time) to confirm at `now`:
/// yes unless it was asked less than [`RESEND_AFTER`] ago. Records the
/// asking, and forgets whoever was asked long enough ago.
fn ask_now(
    asked: &mut HashMap<(i64, Timestamp), Timestamp>,
    subscriber: (i64, Timestamp),
    now: Timestamp,
) -> bool {
    asked.retain(|_, at| now.duration_since(*at) < RESEND_AFTER);
    if asked.contains_key(&subscriber) {
        return false;
    }
    asked.insert(subscriber, now);
    true
}

/// What a visitor reads about a link that does nothing.
const STALE_LINK: &str = "This link is not valid any more: it was changed, or the subscription it was for has ended. Subscribe again from the status page.";

impl StoreSubscriptions {
    async fn add(&self, request: SubscribeRequest) -> Result<SubscribeOutcome, String> {
        let config = self.config.borrow().clone();
        let (kind, address) = match request {
            SubscribeRequest::Email(address) => ("email", address),
            SubscribeRequest::Webhook(address) => ("webhook", address),
        };
        if !config.accepts(kind) {
            return Ok(SubscribeOutcome::Refused(
                "This page does not take that kind of subscription.".to_owned(),
            ));
        }
        let address = match check_address(kind, &address, &self.policy) {
            Ok(address) => address,
            Err(why) => return Ok(SubscribeOutcome::Refused(why)),
        };
        let now = self.clock.now();
        let (subscriber, new) = self
            .store
            .add_subscriber(&NewSubscriber {
                kind: kind.to_owned(),
                address,
                at: now,
                confirmed: kind == "webhook",
            })
            .await
            .map_err(|error| error.to_string())?;
        // A new address, or one still waiting, is asked (again) to confirm.
        let ask = kind == "email"
            && subscriber.confirmed_at.is_none()
            && ask_now(
                &mut self.asked.lock().unwrap_or_else(PoisonError::into_inner),
                (subscriber.id, subscriber.created_at),
                now,
            );
        if ask {
            let delivery = confirm_delivery(&config, &self.key, &subscriber, now);
            self.store
                .write_deliveries(&[delivery])
                .await
                .map_err(|error| error.to_string())?;
        }
        if new {
            tracing::info!(
                subscriber = subscriber.id,
                kind,
                "a visitor subscribed to the status page"
            );
        }
        Ok(SubscribeOutcome::Done)
    }

    async fn confirm_link(&self, token: String) -> Result<SubscribeOutcome, String> {
        let Ok(link) = SubscriberLink::verify(&token, &self.key, LinkPurpose::Confirm) else {
            return Ok(SubscribeOutcome::Refused(STALE_LINK.to_owned()));
        };
        let now = self.clock.now();
        let Ok(created) = jiff::Timestamp::from_millisecond(link.created_ms) else {
            return Ok(SubscribeOutcome::Refused(STALE_LINK.to_owned()));
        };
        if now.duration_since(created) > CONFIRM_FOR {
            return Ok(SubscribeOutcome::Refused(STALE_LINK.to_owned()));
        }
        let confirmed = self
            .store
            .confirm_subscriber(link.subscriber, created, now)
            .await
            .map_err(|error| error.to_string())?;
        Ok(if confirmed {
            SubscribeOutcome::Done
        } else {
            SubscribeOutcome::Refused(STALE_LINK.to_owned())
        })
    }

    async fn unsubscribe_link(&self, token: String) -> Result<SubscribeOutcome, String> {
        let Ok(link) = SubscriberLink::verify(&token, &self.key, LinkPurpose::Unsubscribe) else {
            return Ok(SubscribeOutcome::Refused(STALE_LINK.to_owned()));
        };
        let Ok(created) = jiff::Timestamp::from_millisecond(link.created_ms) else {
            return Ok(SubscribeOutcome::Refused(STALE_LINK.to_owned()));
        };
        let removed = self
            .store
            .remove_subscriber(link.subscriber, Some(created))
            .await
            .map_err(|error| error.to_string())?;
        if removed {
            tracing::info!(
                subscriber = link.subscriber,
                "a subscriber unsubscribed and was forgotten"
            );
        }
        // Unsubscribing twice is still unsubscribed.
        Ok(SubscribeOutcome::Done)
    }
}

impl SubscriptionWriter for StoreSubscriptions {
    fn subscribe(&self, request: SubscribeRequest) -> Pending<'_, SubscribeOutcome> {
        Box::pin(self.add(request))
    }

    fn confirm(&self, token: String) -> Pending<'_, SubscribeOutcome> {
        Box::pin(self.confirm_link(token))
    }

    fn unsubscribe(&self, token: String) -> Pending<'_, SubscribeOutcome> {
        Box::pin(self.unsubscribe_link(token))
    }

    fn remove(&self, id: i64) -> Pending<'_, bool> {
        Box::pin(async move {
            self.store
                .remove_subscriber(id, None)
                .await
                .map_err(|error| error.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waiting_to_confirm_is_asked_again_only_after_a_while() {
        let start = Timestamp::from_second(1_764_000_000).unwrap();
        let ann = (1, start);
        let bob = (2, start);
        let mut asked = HashMap::new();
        assert!(ask_now(&mut asked, ann, start));
        assert!(!ask_now(&mut asked, ann, start), "a double click");
        assert!(
            ask_now(&mut asked, bob, start),
            "another address is its own"
        );
        let later = start + RESEND_AFTER - SignedDuration::from_secs(1);
        assert!(!ask_now(&mut asked, ann, later));
        // A later subscriber given the same id is another subscription.
        assert!(ask_now(&mut asked, (1, later), later));
        assert!(ask_now(&mut asked, ann, start + RESEND_AFTER));
        assert_eq!(
            asked.len(),
            2,
            "the ones asked long ago are forgotten: {asked:?}"
        );
    }
}
