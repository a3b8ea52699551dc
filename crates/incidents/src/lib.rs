//! Incidents: opened from firing alerts by the `[incidents]` policy (the
//! pure decisions are `watchkeeper_domain::incident`; `plan` turns one
//! alert event into what to commit, `opener` is the task that reads the
//! events and commits), or by a person (`manual`: opening and updates);
//! what they tell the world (`communications`); their whole story
//! (`timeline`) and the `postmortem` written from it; MTTA and MTTR per
//! severity (`stats`).

pub mod communications;
pub mod manual;
pub mod opener;
pub mod plan;
pub mod postmortem;
pub mod stats;
pub mod timeline;
