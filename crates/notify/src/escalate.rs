//! Escalation at run time, as decisions without IO: which alerts climb a
//! ladder, and which levels are due at an instant. The dispatcher asks
//! [`Escalations::step`] on every pass, with each alert's view (firing
//! since when, its route's policy, whether it is quiet or acknowledged);
//! the outbox turns the due pages into deliveries and commits them with
//! the ladders' new state ([`Escalations::take_changes`]) in one
//! transaction, so after a crash the stored ladder continues: no level is
//! paged twice and none is skipped.
//!
//! The rules:
//! - an alert that fires, is not quiet and not acknowledged, and whose
//!   route names a policy starts its ladder: level 1 at once;
//! - while it is quiet (silenced, in maintenance, inhibited, its parent
//!   down) its ladder is held: nothing is paged, and levels that came due
//!   meanwhile are paged in order when the quiet ends;
//! - acknowledged, resolved, or its policy gone from the config: the
//!   ladder stops where it was (kept, for the timeline);
//! - fired again after resolving: a new ladder, from level 1.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use watchkeeper_domain::id::EscalationId;
use watchkeeper_domain::oncall::escalation::{EscalationPolicy, Ladder};
use watchkeeper_store::EscalationRecord;

/// One alert as escalation sees it.
#[derive(Debug, Clone, Copy)]
pub struct AlertView<'a> {
    pub fingerprint: &'a str,
    /// When its current firing began; `None` when it is not firing.
    pub firing_since: Option<Timestamp>,
    /// The policy of the route it takes; `None` when it has none.
    pub policy: Option<&'a EscalationPolicy>,
    pub quiet: bool,
    pub acknowledged: bool,
    /// When its acknowledgement target passes, if its policy escalates on
    /// a breach.
    pub breach_at: Option<Timestamp>,
}

/// A ladder and the firing it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub policy: EscalationId,
    pub firing_since: Timestamp,
    pub ladder: Ladder,
}

/// A level to page now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuePage {
    pub fingerprint: String,
    pub policy: EscalationId,
    pub firing_since: Timestamp,
    pub level: usize,
    pub round: u32,
    /// When it was due (it is paged now, possibly later).
    pub due: Timestamp,
    /// Paged before its delay was out because the alert's acknowledgement
    /// target passed.
    pub breach: bool,
}

#[derive(Debug, Default)]
pub struct Escalations {
    tracked: BTreeMap<String, Tracked>,
    changed: BTreeSet<String>,
}

impl Escalations {
    /// From the stored ladders; a row whose policy id no longer parses is
    /// left out (it cannot climb again).
    pub fn restore(records: &[EscalationRecord]) -> Escalations {
        let tracked = records
            .iter()
            .filter_map(|record| {
                let policy = EscalationId::parse(&record.policy).ok()?;
                Some((
                    record.fingerprint.clone(),
                    Tracked {
                        policy,
                        firing_since: record.firing_since,
                        ladder: Ladder {
                            level: usize::try_from(record.level).unwrap_or(0),
                            round: record.round,
                            next_due: record.next_due,
                            stopped: record.stopped,
                        },
                    },
                ))
            })
            .collect();
        Escalations {
            tracked,
            changed: BTreeSet::new(),
        }
    }

    pub fn get(&self, fingerprint: &str) -> Option<&Tracked> {
        self.tracked.get(fingerprint)
    }

    /// What each alert's ladder does at `now`, and every level now due.
    pub fn step(&mut self, alerts: &[AlertView<'_>], now: Timestamp) -> Vec<DuePage> {
        let mut pages = Vec::new();
        for alert in alerts {
            let current = self.tracked.get(alert.fingerprint);
            let same_firing =
                current.is_some_and(|tracked| Some(tracked.firing_since) == alert.firing_since);
            let Some(firing_since) = alert.firing_since else {
                self.stop(alert.fingerprint);
                continue;
            };
            if same_firing {
                let Some(tracked) = current else { continue };
                let policy = alert.policy.filter(|policy| policy.id == tracked.policy);
                match policy {
                    _ if alert.acknowledged => self.stop(alert.fingerprint),
                    None => self.stop(alert.fingerprint),
                    Some(_) if alert.quiet || tracked.ladder.stopped => {}
                    Some(policy) => {
                        // A breach of the ack target brings the next level
                        // forward to it, once: after that level the
                        // delays count from the breach.
                        let mut ladder = tracked.ladder;
                        let breach = alert.breach_at.filter(|breach| {
                            *breach <= now && paged_before(policy, &ladder, *breach)
                        });
                        if let Some(breach) = breach {
                            ladder.next_due = Some(breach);
                        }
                        let (ladder, due) = ladder.advance(policy, now);
                        if !due.is_empty() {
                            pages.extend(due.into_iter().map(|page| DuePage {
                                fingerprint: alert.fingerprint.to_owned(),
                                policy: policy.id.clone(),
                                firing_since,
                                level: page.level,
                                round: page.round,
                                due: page.due,
                                breach: Some(page.due) == breach,
                            }));
                            self.set(alert.fingerprint, policy, firing_since, ladder);
                        }
                    }
                }
                continue;
            }
            // A new firing (or the first seen): start when it may page.
            let Some(policy) = alert.policy else { continue };
            if alert.quiet || alert.acknowledged {
                continue;
            }
            let (ladder, first) = Ladder::start(policy, now);
            pages.push(DuePage {
                fingerprint: alert.fingerprint.to_owned(),
                policy: policy.id.clone(),
                firing_since,
                level: first.level,
                round: first.round,
                due: first.due,
                breach: false,
            });
            self.set(alert.fingerprint, policy, firing_since, ladder);
        }
        pages
    }

    fn set(
        &mut self,
        fingerprint: &str,
        policy: &EscalationPolicy,
        firing_since: Timestamp,
        ladder: Ladder,
    ) {
        self.tracked.insert(
            fingerprint.to_owned(),
            Tracked {
                policy: policy.id.clone(),
                firing_since,
                ladder,
            },
        );
        self.changed.insert(fingerprint.to_owned());
    }

    fn stop(&mut self, fingerprint: &str) {
        if let Some(tracked) = self.tracked.get_mut(fingerprint)
            && !tracked.ladder.stopped
        {
            tracked.ladder = tracked.ladder.stop();
            self.changed.insert(fingerprint.to_owned());
        }
    }

    /// When the next level of any climbing ladder is due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.tracked
            .values()
            .filter(|tracked| !tracked.ladder.stopped)
            .filter_map(|tracked| tracked.ladder.next_due)
            .min()
    }

    /// The ladders changed since the last call, as rows to store.
    pub fn take_changes(&mut self, now: Timestamp) -> Vec<EscalationRecord> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|fingerprint| {
                let tracked = self.tracked.get(&fingerprint)?;
                Some(EscalationRecord {
                    policy: tracked.policy.to_string(),
                    firing_since: tracked.firing_since,
                    level: u32::try_from(tracked.ladder.level).unwrap_or(u32::MAX),
                    round: tracked.ladder.round,
                    next_due: tracked.ladder.next_due,
                    stopped: tracked.ladder.stopped,
                    updated_at: now,
                    fingerprint,
                })
            })
            .collect()
    }
}

/// Whether the ladder's current level was paged before `breach` and its
/// next level is due after it: then the breach brings that level forward.
/// (Once brought forward, the level is paged at the breach, so this no
/// longer holds: a breach escalates once.)
fn paged_before(policy: &EscalationPolicy, ladder: &Ladder, breach: Timestamp) -> bool {
    let Some(next) = ladder.next_due else {
        return false;
    };
    let delay = policy
        .levels
        .get(ladder.level)
        .and_then(|level| level.delay)
        .and_then(|delay| jiff::SignedDuration::try_from(delay).ok());
    let paged = delay.and_then(|delay| next.checked_sub(delay).ok());
    breach < next && paged.is_some_and(|paged| paged < breach)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use watchkeeper_domain::id::NotifierId;
    use watchkeeper_domain::oncall::escalation::{EscalationTarget, Level};

    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn policy() -> EscalationPolicy {
        let level = |delay: Option<u64>| Level {
            targets: vec![EscalationTarget::Notifier(
                NotifierId::parse("hook").unwrap(),
            )],
            delay: delay.map(|minutes| Duration::from_secs(minutes * 60)),
        };
        EscalationPolicy {
            id: EscalationId::parse("default").unwrap(),
            levels: vec![level(Some(15)), level(Some(30)), level(None)],
            repeat: 0,
            escalate_on_breach: false,
        }
    }

    fn view<'a>(policy: &'a EscalationPolicy, since: Option<i64>) -> AlertView<'a> {
        AlertView {
            fingerprint: "fp",
            firing_since: since.map(at),
            policy: Some(policy),
            quiet: false,
            acknowledged: false,
            breach_at: None,
        }
    }

    fn levels(pages: &[DuePage]) -> Vec<(usize, Timestamp)> {
        pages.iter().map(|page| (page.level, page.due)).collect()
    }

    #[test]
    fn a_firing_alert_climbs_level_by_level_and_its_changes_are_stored() {
        let policy = policy();
        let mut escalations = Escalations::default();
        let first = escalations.step(&[view(&policy, Some(0))], at(0));
        assert_eq!(levels(&first), [(0, at(0))]);
        let stored = escalations.take_changes(at(0));
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].level, stored[0].next_due), (0, Some(at(15))));
        assert!(
            escalations
                .step(&[view(&policy, Some(0))], at(14))
                .is_empty()
        );
        assert!(
            escalations.take_changes(at(14)).is_empty(),
            "nothing changed"
        );
        assert_eq!(
            levels(&escalations.step(&[view(&policy, Some(0))], at(15))),
            [(1, at(15))]
        );
        assert_eq!(
            levels(&escalations.step(&[view(&policy, Some(0))], at(50))),
            [(2, at(45))]
        );
        assert_eq!(
            escalations.next_due(),
            None,
            "the last level ends the ladder"
        );
    }

    #[test]
    fn an_acknowledgement_stops_it_and_a_new_firing_starts_again_from_level_one() {
        let policy = policy();
        let mut escalations = Escalations::default();
        escalations.step(&[view(&policy, Some(0))], at(0));
        let mut acked = view(&policy, Some(0));
        acked.acknowledged = true;
        assert!(escalations.step(&[acked], at(20)).is_empty());
        let stopped = escalations.take_changes(at(20));
        assert!(stopped[0].stopped && stopped[0].next_due.is_none());
        assert!(
            escalations
                .step(&[view(&policy, Some(0))], at(60))
                .is_empty(),
            "stays stopped"
        );
        // Resolved, then fired again at minute 90.
        escalations.step(&[view(&policy, None)], at(80));
        assert_eq!(
            levels(&escalations.step(&[view(&policy, Some(90))], at(90))),
            [(0, at(90))]
        );
    }

    #[test]
    fn a_quiet_alert_is_held_and_pages_what_came_due_when_the_quiet_ends() {
        let policy = policy();
        let mut escalations = Escalations::default();
        let mut quiet = view(&policy, Some(0));
        quiet.quiet = true;
        assert!(
            escalations.step(&[quiet], at(0)).is_empty(),
            "a quiet alert does not start"
        );
        assert_eq!(
            levels(&escalations.step(&[view(&policy, Some(0))], at(5))),
            [(0, at(5))]
        );
        assert!(
            escalations.step(&[quiet], at(30)).is_empty(),
            "held while quiet"
        );
        assert_eq!(
            levels(&escalations.step(&[view(&policy, Some(0))], at(60))),
            [(1, at(20)), (2, at(50))]
        );
    }

    #[test]
    fn a_breached_ack_target_brings_the_next_level_forward_once() {
        let policy = policy();
        let mut escalations = Escalations::default();
        let mut breaching = view(&policy, Some(0));
        // Level 2 is due at 15 min; the ack target passes at 10.
        breaching.breach_at = Some(at(10));
        escalations.step(&[breaching], at(0));
        assert!(escalations.step(&[breaching], at(9)).is_empty());
        let due = escalations.step(&[breaching], at(10));
        assert_eq!(levels(&due), [(1, at(10))]);
        assert!(due[0].breach, "paged for the breach");
        assert_eq!(
            escalations.next_due(),
            Some(at(40)),
            "level 3 counts from the breach"
        );
        assert!(escalations.step(&[breaching], at(20)).is_empty(), "once");
        let last = escalations.step(&[breaching], at(40));
        assert_eq!(levels(&last), [(2, at(40))]);
        assert!(!last[0].breach);
    }

    #[test]
    fn restored_ladders_continue_and_one_whose_policy_is_gone_stops() {
        let policy = policy();
        let mut before = Escalations::default();
        before.step(&[view(&policy, Some(0))], at(0));
        let stored = before.take_changes(at(0));
        let mut after = Escalations::restore(&stored);
        assert!(
            after.step(&[view(&policy, Some(0))], at(10)).is_empty(),
            "level 1 is not paged again"
        );
        assert_eq!(
            levels(&after.step(&[view(&policy, Some(0))], at(16))),
            [(1, at(15))]
        );
        let mut gone = view(&policy, Some(0));
        gone.policy = None;
        after.step(&[gone], at(20));
        assert!(after.get("fp").unwrap().ladder.stopped);
    }
}
