//! Alerting, decided without IO: a rule's [`window`] of each monitor's
//! recent results (kept incrementally, so a result costs a push and a few
//! evictions, never a read of the store), the [`variables`] its `when`
//! reads, the [`state`] machine that turns "holds / does not hold" at each
//! result into pending, firing and resolved, with `for` and
//! `keep_firing_for` as in Prometheus; then, with Alertmanager's meaning,
//! label [`matcher`]s, the [`route`]s an alert takes and the [`group`]
//! timing of its notifications, and the [`silence`]s and inhibitions that
//! keep an alert from being sent while it is still recorded, as do
//! [`maintenance`] windows (one-off, or cron in a time zone). [`slo`]:
//! error budgets, burn rates and the multi-window alerts derived from an
//! objective.

pub mod change;
pub mod fingerprint;
pub mod group;
pub mod maintenance;
pub mod matcher;
pub mod route;
pub mod rule;
pub mod silence;
pub mod slo;
pub mod slo_tracker;
pub mod state;
pub mod variables;
pub mod window;

pub use change::{AlertChange, StoredAlert};
pub use rule::{AlertRule, RuleCheck, RuleSet};
pub use state::{AlertPhase, AlertState, Timing, Transition, Verdict, step};
pub use window::{Window, WindowStats};
