//! When a group of alerts notifies, as Alertmanager's aggregation groups
//! decide it: a new group waits `group_wait`, then every `group_interval`
//! it notifies if its firing alerts changed (one joined, or one resolved)
//! and otherwise only once `repeat_interval` has passed since it last
//! notified. A pure function of the group's state, its alerts and the
//! instant, so the dispatcher stores the state and a restart continues the
//! same timing.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use crate::alert::route::GroupTiming;

/// What the dispatcher keeps of a group between flushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    /// When the group should next be looked at.
    pub next_flush: Timestamp,
    /// When it last notified, if ever.
    pub last_sent: Option<Timestamp>,
    /// The fingerprints that were firing in the last notification.
    pub sent_firing: BTreeSet<String>,
}

/// One notification of a group: the alerts firing now, and those that
/// were in the last notification but have resolved since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush {
    pub firing: Vec<String>,
    pub resolved: Vec<String>,
}

impl GroupState {
    /// A group born at `now`: its first flush waits `group_wait`.
    pub fn new(timing: &GroupTiming, now: Timestamp) -> GroupState {
        GroupState {
            next_flush: later(now, timing.group_wait),
            last_sent: None,
            sent_firing: BTreeSet::new(),
        }
    }

    /// The group's flush at `now` (due when `now >= next_flush`), given the
    /// fingerprints firing in it now. Returns the new state and, when it
    /// notifies, what; `None` as the state when the group is done (nothing
    /// firing and nothing left to announce).
    pub fn flush(
        &self,
        timing: &GroupTiming,
        firing_now: &BTreeSet<String>,
        now: Timestamp,
    ) -> (Option<GroupState>, Option<Flush>) {
        let resolved: Vec<String> = self.sent_firing.difference(firing_now).cloned().collect();
        let changed = *firing_now != self.sent_firing;
        let repeat_due = !firing_now.is_empty()
            && self
                .last_sent
                .is_some_and(|sent| later(sent, timing.repeat_interval) <= now);
        let notify = changed || repeat_due;
        let flush = notify.then(|| Flush {
            firing: firing_now.iter().cloned().collect(),
            resolved,
        });
        if firing_now.is_empty() && (notify || self.sent_firing.is_empty()) {
            // everything announced resolved (or never announced): done
            return (None, flush);
        }
        let state = GroupState {
            next_flush: later(now, timing.group_interval),
            last_sent: if notify { Some(now) } else { self.last_sent },
            sent_firing: if notify {
                firing_now.clone()
            } else {
                self.sent_firing.clone()
            },
        };
        (Some(state), flush)
    }
}

fn later(at: Timestamp, by: std::time::Duration) -> Timestamp {
    SignedDuration::try_from(by)
        .ok()
        .and_then(|by| at.checked_add(by).ok())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn set(fingerprints: &[&str]) -> BTreeSet<String> {
        fingerprints.iter().map(|f| (*f).to_owned()).collect()
    }

    fn strings(fingerprints: &[&str]) -> Vec<String> {
        fingerprints.iter().map(|f| (*f).to_owned()).collect()
    }

    const TIMING: GroupTiming = GroupTiming {
        group_wait: Duration::from_secs(30),
        group_interval: Duration::from_secs(300),
        repeat_interval: Duration::from_secs(4 * 3600),
    };

    #[test]
    fn a_new_group_waits_then_notifies_once_per_change() {
        let group = GroupState::new(&TIMING, at(0));
        assert_eq!(group.next_flush, at(30));
        // alerts that fired within group_wait go out together
        let (group, flush) = group.flush(&TIMING, &set(&["a", "b"]), at(30));
        assert_eq!(
            flush,
            Some(Flush {
                firing: strings(&["a", "b"]),
                resolved: Vec::new()
            })
        );
        let group = group.unwrap();
        assert_eq!(group.next_flush, at(330));
        // nothing changed: no notification at the next interval
        let (group, flush) = group.flush(&TIMING, &set(&["a", "b"]), at(330));
        assert_eq!(flush, None);
        // c joined, b resolved: one notification with both
        let (group, flush) = group.unwrap().flush(&TIMING, &set(&["a", "c"]), at(630));
        assert_eq!(
            flush,
            Some(Flush {
                firing: strings(&["a", "c"]),
                resolved: strings(&["b"])
            })
        );
        // everything resolved: a last notification, then the group is done
        let (group, flush) = group.unwrap().flush(&TIMING, &set(&[]), at(930));
        assert_eq!(
            flush,
            Some(Flush {
                firing: Vec::new(),
                resolved: strings(&["a", "c"])
            })
        );
        assert_eq!(group, None);
    }

    #[test]
    fn an_unchanged_group_repeats_after_the_repeat_interval() {
        let group = GroupState::new(&TIMING, at(0));
        let (group, _) = group.flush(&TIMING, &set(&["a"]), at(30));
        let mut group = group.unwrap();
        let mut sent = Vec::new();
        let mut now = 30;
        for _ in 0..100 {
            now += 300;
            let (next, flush) = group.flush(&TIMING, &set(&["a"]), at(now));
            if flush.is_some() {
                sent.push(now);
            }
            group = next.unwrap();
            if sent.len() == 2 {
                break;
            }
        }
        // 4 h after 30 s is 14,430 s: the first flush at or after it
        assert_eq!(sent, [14_430, 28_830]);
    }

    #[test]
    fn a_group_whose_alert_resolved_before_it_ever_notified_stays_silent() {
        let group = GroupState::new(&TIMING, at(0));
        let (group, flush) = group.flush(&TIMING, &set(&[]), at(30));
        assert_eq!((group, flush), (None, None));
    }
}
