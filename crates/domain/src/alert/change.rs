//! One alert's change of phase, as the evaluator makes it and the store
//! keeps it: the alert's identity (fingerprint, rule, monitor, labels), the
//! transition, its whole state after it, and why.

use jiff::Timestamp;

use crate::alert::matcher::Labels;
use crate::alert::state::{AlertState, Transition};
use crate::id::MonitorId;

#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    /// [`crate::alert::fingerprint::fingerprint`] of `labels`.
    pub fingerprint: String,
    /// The rule's name (`alertname`).
    pub rule: String,
    pub monitor: MonitorId,
    pub labels: Labels,
    pub transition: Transition,
    /// When the result that caused it ended.
    pub at: Timestamp,
    /// The alert's state after the transition.
    pub state: AlertState,
    /// The last result's reason when it fired (what failed), or why it
    /// resolved without a result (its rule was removed).
    pub reason: Option<String>,
}

/// An alert as stored: its identity and its state now.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub fingerprint: String,
    pub rule: String,
    pub monitor: MonitorId,
    pub labels: Labels,
    pub state: AlertState,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Transition {
    pub const fn as_str(self) -> &'static str {
        match self {
            Transition::Pending => "pending",
            Transition::PendingCleared => "pending_cleared",
            Transition::Fired => "fired",
            Transition::Resolved => "resolved",
        }
    }
}
