//! The channels a notification is delivered over that are not HTTP:
//! [`email`] (SMTP) and [`command`] (a program, the event on its stdin). Each takes one notification and
//! returns a [`crate::retry::Outcome`] — a failing receiver is data, never
//! an `Err` — for the retry policy to decide on.

pub mod command;
pub mod email;
