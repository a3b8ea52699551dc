//! Each notifier's sender: takes its due deliveries in order, makes one
//! attempt at a time (bounded by [`ATTEMPT_TIMEOUT`](super::ATTEMPT_TIMEOUT)),
//! records each attempt and the delivery's state at once, and stops for a
//! notifier a receiver disabled (410) until its config's [`digest`] changes.

use super::*;

impl Notifications {
    pub(super) async fn send_loop(
        &self,
        spec: &NotifierSpec,
        client: &reqwest::Client,
        wake: Arc<Notify>,
        stop: CancellationToken,
    ) -> Result<(), NotifyError> {
        let id = spec.id.to_string();
        let digest = digest(spec);
        let mut disabled = self.check_disabled(&id, &digest).await?;
        let templates = MessageTemplates::compile(
            spec.templates.title.as_deref(),
            spec.templates.text.as_deref(),
        )
        .map_err(|error| NotifyError::Template(id.clone(), error.to_string()))?;
        loop {
            if let Some(reason) = &disabled {
                let dropped = self
                    .store
                    .disable_notifier(&DisabledNotifier {
                        notifier: id.clone(),
                        digest: digest.clone(),
                        at: self.clock.now(),
                        reason: reason.clone(),
                    })
                    .await?;
                if dropped > 0 {
                    tracing::warn!(notifier = %id, dropped, reason = %reason, "deliveries dropped: the notifier is disabled until its config changes");
                }
                tokio::select! {
                    () = wake.notified() => continue,
                    () = stop.cancelled() => return Ok(()),
                }
            }
            let due = self
                .store
                .due_deliveries(&id, self.clock.now(), DELIVERIES_PER_READ)
                .await?;
            let full = due.len() == DELIVERIES_PER_READ as usize;
            for delivery in due {
                if stop.is_cancelled() {
                    return Ok(());
                }
                if let Some(reason) = self.attempt(spec, client, &templates, &delivery).await? {
                    disabled = Some(reason);
                    break;
                }
            }
            self.metrics
                .set_pending(&self.store.pending_deliveries().await?);
            if full || disabled.is_some() {
                continue;
            }
            let sleep = self
                .store
                .next_delivery_due(&id)
                .await?
                .map_or(LONGEST_SLEEP, |at| until(self.clock.now(), at));
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                () = stop.cancelled() => return Ok(()),
            }
        }
    }

    /// A disabled notifier stays disabled while its config is the same;
    /// a changed config enables it again.
    async fn check_disabled(&self, id: &str, digest: &str) -> Result<Option<String>, NotifyError> {
        let stored = self.store.disabled_notifiers().await?;
        let Some(disabled) = stored.into_iter().find(|d| d.notifier == id) else {
            return Ok(None);
        };
        if disabled.digest == digest {
            tracing::warn!(notifier = %id, reason = %disabled.reason, "the notifier is disabled until its config changes");
            return Ok(Some(disabled.reason));
        }
        self.store.enable_notifier(id).await?;
        tracing::info!(notifier = %id, "the notifier's config changed: it is enabled again");
        Ok(None)
    }

    /// One attempt at one delivery, recorded. Returns the reason when the
    /// receiver disabled the notifier.
    async fn attempt(
        &self,
        spec: &NotifierSpec,
        client: &reqwest::Client,
        templates: &MessageTemplates,
        delivery: &Delivery,
    ) -> Result<Option<String>, NotifyError> {
        let started = self.clock.now();
        let number = delivery.attempts.saturating_add(1);
        let (answer, decision) = match serde_json::from_str::<Notification>(&delivery.notification)
        {
            Ok(notification) => {
                let answer = channel::deliver(
                    client,
                    &self.policy,
                    spec,
                    templates,
                    &notification,
                    started,
                )
                .await;
                let decision = self.retry.decide(
                    Attempt::of(delivery, number, self.clock.now()),
                    &answer.outcome,
                );
                (answer, decision)
            }
            Err(error) => {
                let reason = format!("the stored notification cannot be read: {error}");
                (Answer::failed(reason.clone()), Decision::GiveUp { reason })
            }
        };
        let finished = self.clock.now();
        let (status, next_attempt_at, decided, disable) = match &decision {
            Decision::Delivered => (
                DeliveryStatus::Delivered,
                None,
                "delivered".to_owned(),
                None,
            ),
            Decision::RetryAt { at, reason } => (
                DeliveryStatus::Pending,
                Some(*at),
                format!("retry at {at:.0}: {reason}"),
                None,
            ),
            Decision::GiveUp { reason } => (
                DeliveryStatus::Failed,
                None,
                format!("gave up: {reason}"),
                None,
            ),
            Decision::Disable { reason } => (
                DeliveryStatus::Failed,
                None,
                format!("disabled: {reason}"),
                Some(reason.clone()),
            ),
        };
        match &decision {
            Decision::Delivered => {
                tracing::info!(notifier = %spec.id, delivery = %delivery.id, attempt = number, "notification delivered");
            }
            _ => {
                tracing::warn!(notifier = %spec.id, delivery = %delivery.id, attempt = number, outcome = %answer.summary, decision = %decided, "notification not delivered");
            }
        }
        self.store
            .record_attempt(&AttemptRecord {
                delivery_seq: delivery.seq,
                number,
                at: started,
                duration: finished.duration_since(started).unsigned_abs(),
                outcome: answer.summary.clone(),
                decision: decided,
                status,
                next_attempt_at,
            })
            .await?;
        self.metrics
            .attempt(spec.id.as_str(), status_label(&decision));
        Ok(disable)
    }
}

fn status_label(decision: &Decision) -> &'static str {
    match decision {
        Decision::Delivered => "delivered",
        Decision::RetryAt { .. } => "retry",
        Decision::GiveUp { .. } => "failed",
        Decision::Disable { .. } => "disabled",
    }
}

/// A digest of everything a notifier is configured with, secrets included
/// (hashed, never shown): a disabled notifier is enabled again when it
/// changes.
pub fn digest(spec: &NotifierSpec) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("{spec:?}").as_bytes());
    let exposed: Vec<&str> = match &spec.channel {
        Channel::Webhook(webhook) => {
            let mut exposed = vec![webhook.url.expose().as_str()];
            exposed.extend(webhook.secret.as_ref().map(|secret| secret.expose()));
            exposed.extend(webhook.headers.iter().map(|(_, value)| value.expose()));
            exposed
        }
        Channel::Slack(chat) | Channel::Discord(chat) | Channel::Teams(chat) => {
            vec![chat.url.expose().as_str()]
        }
        Channel::Ntfy(ntfy) => {
            let mut exposed = vec![ntfy.url.expose().as_str()];
            exposed.extend(ntfy.token.as_ref().map(|token| token.expose()));
            exposed
        }
        Channel::PagerDuty(pagerduty) => vec![pagerduty.routing_key.expose()],
        Channel::Email(email) => email
            .credentials
            .iter()
            .map(|credentials| credentials.password.expose())
            .collect(),
        Channel::Command(_) => Vec::new(),
    };
    for value in exposed {
        hasher.update([0]);
        hasher.update(value.as_bytes());
    }
    let digest = hasher.finalize();
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
