//! A pretend API for the quickstart and for integration tests: it serves
//! `/health` like the services in our users' runbooks and can be told, at
//! runtime, to degrade, fail, slow down, hang, send garbage or a huge body.
//! It is also a webhook receiver (`POST /hooks/watchkeeper`) that checks
//! Standard Webhooks signatures and prints what Watchkeeper sends it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use watchkeeper_demo::{DemoConfig, Mode, spawn};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let demo = spawn(listener, DemoConfig::default()).await?;
//! demo.set_mode(Mode::Fail);
//! // … point a monitor at demo.url("/health") …
//! demo.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod control;
mod delay;
mod health;
mod mode;
mod receiver;
mod server;
mod state;

pub use control::ControlError;
pub use delay::{DelayError, parse_delay};
pub use health::{GARBAGE_BODY, HUGE_BODY_BYTES, VERSION};
pub use mode::{Mode, UnknownMode};
pub use receiver::{
    KEPT as RECEIVER_KEPT, PATH as RECEIVER_PATH, Received, ReceiverSecretError, describe,
    parse_receiver_secret,
};
pub use server::{DemoConfig, DemoHandle, spawn};
pub use state::{ControlSnapshot, HealthRequestCounts, ModeCounts};
