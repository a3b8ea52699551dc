//! An alert's life, one evaluation at a time: a pure function from the
//! rule's timing, what the rule made of the window this time, the previous
//! state and the instant, to the new state and the transition it made, if
//! any. Prometheus's semantics: `for` delays firing until the rule has held
//! that long; `keep_firing_for` keeps a firing alert firing that long after
//! the rule stopped holding. A rule may also say when it *clears*
//! (hysteresis: fire at 3 consecutive failures, resolve at 2 successes), so
//! an alert that stops holding does not resolve until it clears.

use std::time::Duration;

use jiff::Timestamp;

/// How long a rule must hold before it fires, and keeps firing after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    pub hold_for: Duration,
    pub keep_firing_for: Duration,
}

/// What the rule made of the window at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The rule's `when` holds.
    pub holds: bool,
    /// It may resolve: `when` does not hold and the rule's clearing
    /// condition (if it has one) does.
    pub clears: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertPhase {
    /// Never fired, or never since it was last pending.
    Inactive,
    /// Holds, not yet for long enough.
    Pending,
    Firing,
    /// Fired, then resolved; not holding now.
    Resolved,
}

impl AlertPhase {
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertPhase::Inactive => "inactive",
            AlertPhase::Pending => "pending",
            AlertPhase::Firing => "firing",
            AlertPhase::Resolved => "resolved",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertState {
    pub phase: AlertPhase,
    /// When the rule began to hold: the start of pending, kept while it
    /// fires. `None` while inactive or resolved.
    pub active_since: Option<Timestamp>,
    /// When it last fired.
    pub fired_at: Option<Timestamp>,
    /// The last evaluation at which the rule held.
    pub last_held: Option<Timestamp>,
    /// When it last resolved.
    pub resolved_at: Option<Timestamp>,
}

impl Default for AlertState {
    fn default() -> Self {
        Self {
            phase: AlertPhase::Inactive,
            active_since: None,
            fired_at: None,
            last_held: None,
            resolved_at: None,
        }
    }
}

/// A change worth recording; `Fired` and `Resolved` are what notifications
/// are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pending,
    /// Pending ended without firing.
    PendingCleared,
    Fired,
    Resolved,
}

/// One evaluation. `verdict` is `None` when the rule could not be
/// evaluated: the state is kept, so an evaluation error neither fires nor
/// resolves an alert.
pub fn step(
    timing: Timing,
    verdict: Option<Verdict>,
    state: &AlertState,
    now: Timestamp,
) -> (AlertState, Option<Transition>) {
    let Some(verdict) = verdict else {
        return (state.clone(), None);
    };
    let mut next = state.clone();
    if verdict.holds {
        next.last_held = Some(now);
    }
    let transition = match (state.phase, verdict.holds) {
        (AlertPhase::Inactive | AlertPhase::Resolved, true) => {
            next.active_since = Some(now);
            if timing.hold_for.is_zero() {
                fire(&mut next, now)
            } else {
                next.phase = AlertPhase::Pending;
                Some(Transition::Pending)
            }
        }
        (AlertPhase::Inactive | AlertPhase::Resolved, false) => None,
        (AlertPhase::Pending, true) => {
            let since = state.active_since.unwrap_or(now);
            if elapsed(since, now) >= timing.hold_for {
                fire(&mut next, now)
            } else {
                None
            }
        }
        (AlertPhase::Pending, false) => {
            next.phase = AlertPhase::Inactive;
            next.active_since = None;
            Some(Transition::PendingCleared)
        }
        (AlertPhase::Firing, true) => None,
        (AlertPhase::Firing, false) => {
            let kept = state
                .last_held
                .is_some_and(|held| elapsed(held, now) < timing.keep_firing_for);
            if verdict.clears && !kept {
                next.phase = AlertPhase::Resolved;
                next.active_since = None;
                next.resolved_at = Some(now);
                Some(Transition::Resolved)
            } else {
                None
            }
        }
    };
    (next, transition)
}

fn fire(state: &mut AlertState, now: Timestamp) -> Option<Transition> {
    state.phase = AlertPhase::Firing;
    state.fired_at = Some(now);
    Some(Transition::Fired)
}

/// `now − since`, zero if the clock went back.
fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    const HOLDS: Option<Verdict> = Some(Verdict {
        holds: true,
        clears: false,
    });
    const CLEARS: Option<Verdict> = Some(Verdict {
        holds: false,
        clears: true,
    });
    /// Stopped holding, not cleared yet (one success of two).
    const NOT_YET: Option<Verdict> = Some(Verdict {
        holds: false,
        clears: false,
    });

    /// Runs `verdicts` at 10 s intervals from 0 s, returning each
    /// transition with its second.
    fn run(timing: Timing, verdicts: &[Option<Verdict>]) -> Vec<(i64, Transition)> {
        let mut state = AlertState::default();
        let mut transitions = Vec::new();
        for (index, verdict) in verdicts.iter().enumerate() {
            let second = index as i64 * 10;
            let (next, transition) = step(timing, *verdict, &state, at(second));
            if let Some(transition) = transition {
                transitions.push((second, transition));
            }
            state = next;
        }
        transitions
    }

    #[test]
    fn without_for_a_holding_rule_fires_at_once_and_resolves_when_it_clears() {
        let timing = Timing::default();
        assert_eq!(
            run(timing, &[CLEARS, HOLDS, HOLDS, CLEARS, CLEARS, HOLDS]),
            [
                (10, Transition::Fired),
                (30, Transition::Resolved),
                (50, Transition::Fired)
            ]
        );
    }

    #[test]
    fn for_holds_it_pending_until_it_has_held_that_long() {
        let timing = Timing {
            hold_for: Duration::from_secs(30),
            ..Timing::default()
        };
        assert_eq!(
            run(timing, &[HOLDS, HOLDS, HOLDS, HOLDS, CLEARS]),
            [
                (0, Transition::Pending),
                (30, Transition::Fired),
                (40, Transition::Resolved)
            ]
        );
        // a blip shorter than `for` never fires
        assert_eq!(
            run(timing, &[HOLDS, HOLDS, CLEARS, HOLDS]),
            [
                (0, Transition::Pending),
                (20, Transition::PendingCleared),
                (30, Transition::Pending)
            ]
        );
    }

    #[test]
    fn keep_firing_for_outlasts_a_short_recovery() {
        let timing = Timing {
            keep_firing_for: Duration::from_secs(25),
            ..Timing::default()
        };
        assert_eq!(
            run(
                timing,
                &[HOLDS, CLEARS, CLEARS, HOLDS, CLEARS, CLEARS, CLEARS]
            ),
            [(0, Transition::Fired), (60, Transition::Resolved)]
        );
    }

    #[test]
    fn a_firing_alert_resolves_only_once_it_clears() {
        // fire at 3 failures, resolve at 2 successes: one success between
        // failures keeps it firing
        assert_eq!(
            run(Timing::default(), &[HOLDS, NOT_YET, HOLDS, NOT_YET, CLEARS]),
            [(0, Transition::Fired), (40, Transition::Resolved)]
        );
    }

    #[test]
    fn an_unknown_verdict_changes_nothing() {
        let timing = Timing {
            hold_for: Duration::from_secs(10),
            ..Timing::default()
        };
        assert_eq!(
            run(timing, &[HOLDS, None, HOLDS, None, None, CLEARS]),
            [
                (0, Transition::Pending),
                (20, Transition::Fired),
                (50, Transition::Resolved)
            ]
        );
    }

    #[test]
    fn resolving_records_when_and_the_next_firing_starts_afresh() {
        let mut state = AlertState::default();
        let timing = Timing::default();
        (state, _) = step(timing, HOLDS, &state, at(0));
        (state, _) = step(timing, CLEARS, &state, at(10));
        assert_eq!(state.phase, AlertPhase::Resolved);
        assert_eq!(state.resolved_at, Some(at(10)));
        assert_eq!(state.active_since, None);
        let (state, transition) = step(timing, HOLDS, &state, at(20));
        assert_eq!(transition, Some(Transition::Fired));
        assert_eq!(
            (state.active_since, state.fired_at),
            (Some(at(20)), Some(at(20)))
        );
    }

    #[test]
    fn a_clock_that_goes_back_does_not_fire_early() {
        let timing = Timing {
            hold_for: Duration::from_secs(60),
            ..Timing::default()
        };
        let (state, _) = step(timing, HOLDS, &AlertState::default(), at(100));
        let (state, transition) = step(timing, HOLDS, &state, at(40));
        assert_eq!((state.phase, transition), (AlertPhase::Pending, None));
    }
}
