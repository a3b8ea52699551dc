//! When a group of alerts notifies, as Alertmanager's aggregation groups
//! and notification log decide it: a new group waits `group_wait`, then at
//! every `group_interval` it notifies if an alert fires that its last
//! notification did not announce, or one it announced has resolved, and
//! otherwise only once `repeat_interval` has passed since it last notified
//! (while anything fires). An alert that is quieted (silenced, inhibited, in
//! maintenance, its parent down) is neither announced nor counted; when the
//! quiet ends it is announced if it still fires. A pure function of the
//! group's state, the alerts firing and resolved, and the instant, so the
//! dispatcher stores the state and a restart continues the same timing.

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
/// were announced firing but have resolved since.
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
    /// fingerprints of its alerts that fire and are not quieted, and of
    /// those that have resolved (quieted or not). Returns the new state and,
    /// when it notifies, what: the firing alerts, and the resolved ones its
    /// last notification announced firing (a resolution nobody was told
    /// of the firing of is not news).
    pub fn flush(
        &self,
        timing: &GroupTiming,
        firing: &BTreeSet<String>,
        resolved: &BTreeSet<String>,
        now: Timestamp,
    ) -> (GroupState, Option<Flush>) {
        let announced_resolved: Vec<String> =
            self.sent_firing.intersection(resolved).cloned().collect();
        let new_firing = !firing.is_subset(&self.sent_firing);
        let repeat_due = !firing.is_empty()
            && self
                .last_sent
                .is_some_and(|sent| later(sent, timing.repeat_interval) <= now);
        let notify = new_firing || !announced_resolved.is_empty() || repeat_due;
        let next_flush = later(now, timing.group_interval);
        if !notify {
            // resolved alerts leave the record unannounced; the rest stays
            let sent_firing = self.sent_firing.difference(resolved).cloned().collect();
            let state = GroupState {
                next_flush,
                last_sent: self.last_sent,
                sent_firing,
            };
            return (state, None);
        }
        let state = GroupState {
            next_flush,
            last_sent: Some(now),
            sent_firing: firing.clone(),
        };
        let flush = Flush {
            firing: firing.iter().cloned().collect(),
            resolved: announced_resolved,
        };
        (state, Some(flush))
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

    fn none() -> BTreeSet<String> {
        BTreeSet::new()
    }

    #[test]
    fn a_new_group_waits_then_notifies_once_per_change() {
        let group = GroupState::new(&TIMING, at(0));
        assert_eq!(group.next_flush, at(30));
        // alerts that fired within group_wait go out together
        let (group, flush) = group.flush(&TIMING, &set(&["a", "b"]), &none(), at(30));
        assert_eq!(
            flush,
            Some(Flush {
                firing: strings(&["a", "b"]),
                resolved: Vec::new()
            })
        );
        assert_eq!(group.next_flush, at(330));
        // nothing changed: no notification at the next interval
        let (group, flush) = group.flush(&TIMING, &set(&["a", "b"]), &none(), at(330));
        assert_eq!(flush, None);
        // c joined, b resolved: one notification with both
        let (group, flush) = group.flush(&TIMING, &set(&["a", "c"]), &set(&["b"]), at(630));
        assert_eq!(
            flush,
            Some(Flush {
                firing: strings(&["a", "c"]),
                resolved: strings(&["b"])
            })
        );
        // everything resolved: a last notification
        let (group, flush) = group.flush(&TIMING, &none(), &set(&["a", "c"]), at(930));
        assert_eq!(
            flush,
            Some(Flush {
                firing: Vec::new(),
                resolved: strings(&["a", "c"])
            })
        );
        assert!(group.sent_firing.is_empty());
    }

    #[test]
    fn an_unchanged_group_repeats_after_the_repeat_interval() {
        let group = GroupState::new(&TIMING, at(0));
        let (mut group, _) = group.flush(&TIMING, &set(&["a"]), &none(), at(30));
        let mut sent = Vec::new();
        let mut now = 30;
        for _ in 0..100 {
            now += 300;
            let (next, flush) = group.flush(&TIMING, &set(&["a"]), &none(), at(now));
            if flush.is_some() {
                sent.push(now);
            }
            group = next;
            if sent.len() == 2 {
                break;
            }
        }
        // 4 h after 30 s is 14,430 s: the first flush at or after it
        assert_eq!(sent, [14_430, 28_830]);
    }

    #[test]
    fn a_resolution_nobody_was_told_of_is_not_sent() {
        let group = GroupState::new(&TIMING, at(0));
        let (group, flush) = group.flush(&TIMING, &none(), &set(&["a"]), at(30));
        assert_eq!(flush, None);
        assert!(group.sent_firing.is_empty());
    }

    #[test]
    fn a_quieted_alert_is_not_news_and_is_announced_when_the_quiet_ends() {
        let group = GroupState::new(&TIMING, at(0));
        let (group, _) = group.flush(&TIMING, &set(&["a", "b"]), &none(), at(30));
        // b is silenced: the caller leaves it out of firing; not a resolution
        let (group, flush) = group.flush(&TIMING, &set(&["a"]), &none(), at(330));
        assert_eq!(flush, None);
        assert_eq!(group.sent_firing, set(&["a", "b"]));
        // c fires while silenced from the start: nothing
        let (group, flush) = group.flush(&TIMING, &set(&["a"]), &none(), at(630));
        assert_eq!(flush, None);
        // the silence ends and c still fires: announced
        let (_, flush) = group.flush(&TIMING, &set(&["a", "b", "c"]), &none(), at(930));
        assert_eq!(
            flush,
            Some(Flush {
                firing: strings(&["a", "b", "c"]),
                resolved: Vec::new()
            })
        );
    }
}
