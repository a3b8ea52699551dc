//! One check of one monitor, as stored: [`CheckResult`]; and the state
//! machine that turns a stream of results into state changes.

use std::time::Duration;

use jiff::Timestamp;

use crate::health::Health;
use crate::id::MonitorId;

#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    pub monitor: MonitorId,
    /// When the scheduler wanted the probe to start.
    pub due_at: Timestamp,
    /// When it did start (`started_at - due_at` is the scheduling lag).
    pub started_at: Timestamp,
    /// The target's answer time (the primary's, with a fallback).
    pub latency: Duration,
    /// The time spent judging the answer with the monitor's conditions,
    /// apart from `latency` since it is Watchkeeper's, not the target's.
    /// Zero for a probe failure, and for a result read back from the store,
    /// which does not keep it (docs/storage.md).
    pub evaluation: Duration,
    pub health: Health,
    /// Why the result is not up: the failed condition with actual values, or
    /// the probe failure. `None` when up.
    pub reason: Option<String>,
    /// The fallback URL's own result, when the monitor has one.
    pub fallback: Option<FallbackResult>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FallbackResult {
    pub health: Health,
    pub latency: Duration,
    pub reason: Option<String>,
}

/// A monitor's current state, as last recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorStatus {
    pub health: Health,
    pub since: Timestamp,
    pub reason: Option<String>,
}

/// A transition, kept for ever; notifications will be driven from these.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub monitor: MonitorId,
    /// `None` for the first result a monitor ever had.
    pub from: Option<Health>,
    pub to: Health,
    pub at: Timestamp,
    pub reason: Option<String>,
}

/// Decides whether `result` changes the monitor's state. Exactly one change
/// per change of health: repeated failures are not new changes, and a
/// different failure reason with the same health is not a change either.
pub fn transition(current: Option<&MonitorStatus>, result: &CheckResult) -> Option<StateChange> {
    match current {
        Some(status) if status.health == result.health => None,
        _ => Some(StateChange {
            monitor: result.monitor.clone(),
            from: current.map(|status| status.health),
            to: result.health,
            at: result.started_at,
            reason: result.reason.clone(),
        }),
    }
}

impl StateChange {
    /// The status this change leaves the monitor in.
    pub fn status_after(&self) -> MonitorStatus {
        MonitorStatus {
            health: self.to,
            since: self.at,
            reason: self.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(health: Health, at_secs: i64, reason: Option<&str>) -> CheckResult {
        let at = Timestamp::from_second(at_secs).unwrap();
        CheckResult {
            monitor: MonitorId::parse("api").unwrap(),
            due_at: at,
            started_at: at,
            latency: Duration::from_millis(5),
            evaluation: Duration::ZERO,
            health,
            reason: reason.map(str::to_owned),
            fallback: None,
        }
    }

    #[test]
    fn records_exactly_one_change_per_change_of_health() {
        let results = [
            result(Health::Up, 0, None),
            result(Health::Up, 10, None),
            result(
                Health::Down,
                20,
                Some("status == 200 failed: status was 500"),
            ),
            result(Health::Down, 30, Some("connect: connection refused")),
            result(Health::Degraded, 40, Some("slow")),
            result(Health::Up, 50, None),
            result(Health::Up, 60, None),
        ];
        let mut status: Option<MonitorStatus> = None;
        let mut changes = Vec::new();
        for r in &results {
            if let Some(change) = transition(status.as_ref(), r) {
                status = Some(change.status_after());
                changes.push((change.from, change.to, change.at.as_second()));
            }
        }
        assert_eq!(
            changes,
            vec![
                (None, Health::Up, 0),
                (Some(Health::Up), Health::Down, 20),
                (Some(Health::Down), Health::Degraded, 40),
                (Some(Health::Degraded), Health::Up, 50),
            ]
        );
    }
}
