//! `watchkeeper notify test NOTIFIER`: one test notification, sent now over
//! the notifier's channel with its templates, through the same target
//! policy as probes; the receiver's answer printed as it came. Nothing is
//! written to the store.

use std::sync::Arc;

use watchkeeper_config::Config;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::suggest::closest;
use watchkeeper_notify::channel::{self, Answer};
use watchkeeper_notify::outbox::ATTEMPT_TIMEOUT;
use watchkeeper_notify::retry::{Attempt, Decision, RetryPolicy};
use watchkeeper_notify::template::MessageTemplates;

#[derive(Debug, thiserror::Error)]
pub enum NotifyTestError {
    #[error("unknown notifier `{name}`{hint}; the config has: {known}")]
    UnknownNotifier {
        name: String,
        hint: String,
        known: String,
    },
    #[error("notifier {0}: {1}")]
    Setup(String, String),
}

/// What the test sent and what came back.
#[derive(Debug)]
pub struct TestReport {
    pub id: String,
    pub answer: Answer,
    pub decision: Decision,
}

impl TestReport {
    pub fn delivered(&self) -> bool {
        self.decision == Decision::Delivered
    }

    /// The lines printed for a person.
    pub fn render(&self, notifier: &str) -> String {
        let mut text = format!(
            "notifier {notifier}: sent test notification {}\nanswer: {}\n",
            self.id, self.answer.summary
        );
        if let Some(body) = self.answer.body.as_deref().filter(|b| !b.trim().is_empty()) {
            text.push_str(&format!("body: {}\n", body.trim_end()));
        }
        let meaning = match &self.decision {
            Decision::Delivered => "delivered".to_owned(),
            Decision::RetryAt { reason, .. } => {
                format!("not delivered; the outbox would retry: {reason}")
            }
            Decision::GiveUp { reason } => {
                format!("not delivered; the outbox would give up: {reason}")
            }
            Decision::Disable { reason } => format!("not delivered; {reason}"),
        };
        text.push_str(&format!("result: {meaning}\n"));
        text
    }
}

pub async fn run(
    config: &Config,
    name: &str,
    clock: Arc<dyn Clock>,
) -> Result<TestReport, NotifyTestError> {
    let notifiers = &config.alerting.notifiers;
    let Some(spec) = notifiers.iter().find(|spec| spec.id.as_str() == name) else {
        let ids: Vec<&str> = notifiers.iter().map(|spec| spec.id.as_str()).collect();
        return Err(NotifyTestError::UnknownNotifier {
            name: name.to_owned(),
            hint: closest(name, ids.iter().copied())
                .map(|id| format!(" (did you mean `{id}`?)"))
                .unwrap_or_default(),
            known: if ids.is_empty() {
                "no [[notifier]]".to_owned()
            } else {
                ids.join(", ")
            },
        });
    };
    let setup = |error: String| NotifyTestError::Setup(name.to_owned(), error);
    let templates = MessageTemplates::compile(
        spec.templates.title.as_deref(),
        spec.templates.text.as_deref(),
    )
    .map_err(|error| setup(error.to_string()))?;
    let policy = Arc::new(config.probes.policy.clone());
    let client = watchkeeper_runner::outbound_client(policy.clone(), &[], ATTEMPT_TIMEOUT)
        .map_err(|error| setup(error.to_string()))?;
    let now = clock.now();
    let external_url = format!("http://{}", config.server.listen);
    let notification = channel::test_notification(name, &external_url, now);
    let answer = channel::deliver(&client, &policy, spec, &templates, &notification, now).await;
    let decision = RetryPolicy::default().decide(
        Attempt {
            delivery: &notification.id,
            number: 1,
            first_attempt_at: now,
            now: clock.now(),
        },
        &answer.outcome,
    );
    Ok(TestReport {
        id: notification.id,
        answer,
        decision,
    })
}
