//! Incidents: opened from firing alerts by the `[incidents]` policy (the
//! pure decisions are `watchkeeper_domain::incident`), or by a person;
//! what they tell the world (`communications`), and the postmortem.

pub mod communications;
pub mod postmortem;
