//! Notification delivery. It depends on `domain`, `store` (the outbox) and
//! `runner` (outbound requests go through the probes' target policy), never
//! on `engine`.
//!
//! - [`dispatch`]: the dispatcher's decisions, pure: routes, groups and
//!   their timing, quieting (silences, inhibitions, maintenance, parents
//!   down), the notifications a flush makes, and an escalation level's
//!   pages with their acknowledgement links;
//! - [`escalate`]: which alerts climb their escalation ladder and which
//!   levels are due, pure;
//! - [`outbox`]: the dispatcher and the senders at run time, over the
//!   store's outbox tables;
//! - [`channel`]: delivery over each channel (HTTP ones, email, command);
//! - [`payload`]: what each channel is sent (our webhook JSON v1,
//!   Alertmanager's v4, Slack, Discord, Teams, ntfy, PagerDuty);
//! - [`signature`]: Standard Webhooks signing (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`)
//!   and its verification, for the demo's receiver and our tests;
//! - [`template`]: the title and text a person reads, from minijinja
//!   templates checked at load;
//! - [`retry`]: what an attempt's outcome means (delivered, retry when,
//!   give up, disable the notifier) under exponential backoff with jitter
//!   for at least 24 hours, honouring `Retry-After`;
//! - [`subscriptions`]: what the status page's email and webhook
//!   subscribers are sent (a confirmation, then every public update, each
//!   with a one-click unsubscribe), decided purely, and the task that
//!   sends it through the outbox;
//! - [`metrics`]: notifications and attempts in `/metrics`.

pub mod channel;
pub mod dispatch;
pub mod escalate;
pub mod metrics;
pub mod outbox;
pub mod payload;
pub mod retry;
pub mod signature;
pub mod subscriptions;
pub mod template;
