//! Watchkeeper's pure core: the values and decisions every other crate shares.
//!
//! Nothing here performs IO or reads the system clock. Probes (in `runner`)
//! produce [`observation::Observation`]s; this crate decides what they mean
//! ([`condition`]), when the next probe is due ([`schedule`]), whether a result
//! changes a monitor's state ([`health`]) and how results roll up per minute
//! ([`rollup`]). Time enters only through a [`clock::Clock`].

pub mod access;
pub mod alert;
pub mod check;
pub mod clock;
pub mod condition;
mod condition_context;
pub mod health;
pub mod id;
pub mod incident;
pub mod monitor;
pub mod notifier;
pub mod observation;
pub mod oncall;
pub mod probe_variables;
pub mod reload;
pub mod rollup;
pub mod schedule;
pub mod storage;
pub mod suggest;
pub mod target_policy;

pub use check::{CheckResult, FallbackResult};
pub use clock::{Clock, ManualClock};
pub use health::Health;
pub use id::{ComponentId, IdError, MaintenanceId, MonitorId, NotifierId, RuleId, SloId};
