//! The channels a notification is delivered over: [`http`] (webhook,
//! Slack, Discord, Teams, ntfy, PagerDuty).

pub mod http;
