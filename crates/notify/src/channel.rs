//! The channels a notification is delivered over that are not HTTP:
//! [`email`] (SMTP) and, next, `command`. Each takes one notification and
//! returns a [`crate::retry::Outcome`] — a failing receiver is data, never
//! an `Err` — for the retry policy to decide on.

pub mod email;
