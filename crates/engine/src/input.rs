//! What the recorder takes: an [`Input`] — a probe's result from the
//! scheduler, a result that arrives from outside it (a heartbeat ping, a
//! runbook's check step, a pushed result), a reload of the monitors to
//! apply between two results, or, after a reload, the removed monitors the
//! scheduler has let go of, or an alert a person resolves by hand. Every
//! result goes through the same state machine, metrics, board and batched
//! writes.
//!
//! [`ExternalResults`] is the public, cloneable handle for the second kind.
//! It holds only a weak sender, so it never keeps the recorder alive: the
//! recorder still ends once the scheduler (which owns the strong sender) is
//! done and its channel is empty.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use watchkeeper_domain::check::{CheckResult, MonitorStatus};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;

use crate::scheduler::{Finished, LastProbe};

/// One thing for the recorder to take, in the order it arrives.
#[derive(Debug)]
pub enum Input {
    /// A probe the scheduler started.
    Probe(Finished),
    /// A result from outside the scheduler.
    External(External),
    /// New monitors to put on the board, between two results.
    Reload(Reload),
    /// Sent after a reload, once the scheduler has applied it: the
    /// monitors it removed, which no probe will start for again, each with
    /// its last probe (perhaps still in flight). The recorder forgets a
    /// removed monitor's state once that probe is over.
    Unscheduled(Vec<(MonitorId, LastProbe)>),
    /// A person resolves a firing alert by hand.
    Resolve(ManualResolve),
}

/// A firing alert to resolve by hand, and who does it.
#[derive(Debug)]
pub struct ManualResolve {
    pub fingerprint: String,
    pub by: String,
    pub reply: oneshot::Sender<ManualResolution>,
}

/// What resolving an alert by hand did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualResolution {
    /// Resolved now; stored and announced like any resolution.
    Resolved,
    /// It was not firing: nothing changed.
    NotFiring,
    /// No alert the recorder evaluates has this fingerprint (an SLO's
    /// burn-rate alert resolves when the burn rate falls).
    Unknown,
    /// The engine is shutting down.
    Stopped,
}

/// Where an outside result comes from; shown in the log and the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSource {
    /// A job's ping to its heartbeat URL.
    Heartbeat,
    /// A runbook's `check` step, which probes a monitor now.
    Runbook,
    /// A result pushed through the API.
    Pushed,
}

impl ResultSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultSource::Heartbeat => "heartbeat",
            ResultSource::Runbook => "runbook",
            ResultSource::Pushed => "pushed",
        }
    }
}

#[derive(Debug)]
pub struct External {
    pub result: CheckResult,
    pub source: ResultSource,
    /// Answered once the result is recorded (or refused).
    pub reply: oneshot::Sender<Result<(), ExternalError>>,
}

/// Monitors after a reload, with what the store knows of those that are
/// new, for the recorder to apply.
#[derive(Debug)]
pub struct Reload {
    pub monitors: Vec<Arc<MonitorSpec>>,
    /// The alert rules after the reload; `None`: the same as before.
    pub rules: Option<watchkeeper_domain::alert::RuleSet>,
    pub states: std::collections::HashMap<MonitorId, MonitorStatus>,
    pub recent: std::collections::HashMap<MonitorId, Vec<CheckResult>>,
    pub applied: oneshot::Sender<()>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalError {
    #[error("no monitor `{monitor}` is configured; a {} result for it was not recorded", .origin.as_str())]
    UnknownMonitor {
        monitor: MonitorId,
        origin: ResultSource,
    },
    #[error("the engine is shutting down; the result was not recorded")]
    Stopped,
}

/// Feeds results from outside the scheduler into the recorder. Cheap to
/// clone; it never keeps the engine running.
#[derive(Debug, Clone)]
pub struct ExternalResults {
    inputs: mpsc::WeakSender<Input>,
}

impl ExternalResults {
    pub(crate) fn new(inputs: &mpsc::Sender<Input>) -> Self {
        Self {
            inputs: inputs.downgrade(),
        }
    }

    /// Records `result` as the recorder records a probe's: state change,
    /// metrics, board, store. Waits while the recorder holds results back
    /// (a slow store past its buffer), like a probe does. A result for a
    /// monitor that is not configured is refused with an error.
    pub async fn submit(
        &self,
        result: CheckResult,
        source: ResultSource,
    ) -> Result<(), ExternalError> {
        let inputs = self.inputs.upgrade().ok_or(ExternalError::Stopped)?;
        let (reply, answer) = oneshot::channel();
        inputs
            .send(Input::External(External {
                result,
                source,
                reply,
            }))
            .await
            .map_err(|_| ExternalError::Stopped)?;
        drop(inputs);
        answer.await.unwrap_or(Err(ExternalError::Stopped))
    }

    /// Resolves the firing alert `fingerprint` by hand, as `by`: the
    /// recorder stores the resolution (announced like any other) with the
    /// reason "resolved by hand by …". If its rule still holds on the next
    /// result, it fires again.
    pub async fn resolve_alert(&self, fingerprint: String, by: String) -> ManualResolution {
        let Some(inputs) = self.inputs.upgrade() else {
            return ManualResolution::Stopped;
        };
        let (reply, answer) = oneshot::channel();
        let sent = inputs
            .send(Input::Resolve(ManualResolve {
                fingerprint,
                by,
                reply,
            }))
            .await;
        drop(inputs);
        if sent.is_err() {
            return ManualResolution::Stopped;
        }
        answer.await.unwrap_or(ManualResolution::Stopped)
    }
}
