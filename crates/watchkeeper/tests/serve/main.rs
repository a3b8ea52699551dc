//! Integration tests of the whole Watchkeeper: the app in-process on
//! 127.0.0.1:0 (state changes, restarts, rollups, metrics, misbehaving
//! targets, the read API) and the `watchkeeper` binary as a process
//! (`validate`, `check`, `store copy`, `token`, `serve` until SIGTERM or SIGINT, its
//! logs), reload and supervision (a killed task, a failing store behind
//! `/health`), and clients that try to hold the HTTP server's connections.
//! Every target is on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod api;
mod browser;
mod busy_store;
mod cli;
mod escalation;
mod full_disk;
mod incidents;
mod logs;
mod misbehaving;
mod notifications;
mod observability;
mod openapi;
mod process;
mod quickstart;
mod quieting;
mod rate_limits;
mod reference_sinks;
mod reload;
mod rollups;
mod sink;
mod slow_clients;
mod states;
mod status_page;
mod store_copy;
mod subscriptions;
mod supervision;
mod support;
mod tokens;
