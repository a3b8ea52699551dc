//! Notification delivery. It depends on `domain` (and, with the outbox
//! worker, `store`), never on `engine`: the engine writes a delivery to the
//! outbox in the same transaction as the alert transition that causes it,
//! and this crate delivers it.
//!
//! So far, the pure parts every channel shares:
//! - [`payload`]: what each channel is sent (our webhook JSON v1,
//!   Alertmanager's v4, Slack, Discord, Teams, ntfy, PagerDuty);
//! - [`signature`]: Standard Webhooks signing (`webhook-id`,
//!   `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`)
//!   and its verification, for the demo's receiver and our tests;
//! - [`template`]: the title and text a person reads, from minijinja
//!   templates checked at load;
//! - [`channel`]: delivery over each channel that is not HTTP (email, command);
//! - [`retry`]: what an attempt's outcome means (delivered, retry when,
//!   give up, disable the notifier) under exponential backoff with jitter
//!   for at least 24 hours, honouring `Retry-After`.

pub mod channel;
pub mod payload;
pub mod retry;
pub mod signature;
pub mod template;
