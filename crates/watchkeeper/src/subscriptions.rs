//! Subscription wiring: the [`SubscriptionConfig`] made from
//! `[status_page]`, the people who may command an incident and the
//! notifiers (again on every reload) and [`StoreSubscriptions`], the
//! web's writer: it checks a visitor's address, stores the subscriber and
//! queues an email address's confirmation request, and checks the signed
//! links that confirm and unsubscribe. The task that sends is
//! `watchkeeper_notify::subscriptions::sender`.

use std::sync::Arc;

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
        if kind == "email" && subscriber.confirmed_at.is_none() {
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
