//! Escalation policies and the ladder an alert climbs: level 1 is paged
//! when the alert fires, each level's `delay` later the next one, and after
//! the last level the ladder starts again from level 1, `repeat` more
//! times; it stops as soon as the alert is acknowledged or resolved.
//!
//! [`Ladder`] is the state stored per alert; [`Ladder::advance`] is the
//! pure step: given the state and an instant it says which levels are due
//! and what the state becomes. After a restart the stored state continues:
//! every level whose time has come is paged once, in order (none skipped,
//! none twice), and the next one is due at its own time from the last.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::id::{EscalationId, NotifierId, PersonId, ScheduleId};

/// Whom a level pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EscalationTarget {
    /// A notifier as it is (a team channel, a pager service).
    Notifier(NotifierId),
    /// A person, through their contact notifiers.
    Person(PersonId),
    /// Whoever is on call on the schedule at the moment the level is paged.
    Schedule(ScheduleId),
}

impl EscalationTarget {
    /// As written in config: `"team-slack"`, `"person:carol"`,
    /// `"schedule:primary"`.
    pub fn reference(&self) -> String {
        match self {
            EscalationTarget::Notifier(id) => id.to_string(),
            EscalationTarget::Person(id) => format!("person:{id}"),
            EscalationTarget::Schedule(id) => format!("schedule:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub targets: Vec<EscalationTarget>,
    /// How long after this level is paged the next one is (after the last
    /// level: the ladder starts again). `None` only on the last level of a
    /// policy that does not repeat.
    pub delay: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub id: EscalationId,
    /// Never empty.
    pub levels: Vec<Level>,
    /// How many more times the whole ladder is climbed after the first.
    pub repeat: u32,
    /// When an alert's acknowledgement target (`[oncall] ack_targets`)
    /// passes unacknowledged, page its next level then instead of waiting
    /// out the level's delay.
    pub escalate_on_breach: bool,
}

/// One level paged: `level` counts from 0, `round` from 0 (the first climb).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub level: usize,
    pub round: u32,
    /// When it was due (the instant it is recorded as paged at).
    pub due: Timestamp,
}

/// Where an alert is on its policy's ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// The level paged last, and in which round.
    pub level: usize,
    pub round: u32,
    /// When the next level is due; `None` once the ladder has ended (the
    /// last level of the last round paged) or stopped.
    pub next_due: Option<Timestamp>,
    /// Acknowledged or resolved: nothing more is paged.
    pub stopped: bool,
}

impl Ladder {
    /// The ladder of an alert that fired at `fired`: level 1 is paged at once.
    pub fn start(policy: &EscalationPolicy, fired: Timestamp) -> (Ladder, Page) {
        let page = Page {
            level: 0,
            round: 0,
            due: fired,
        };
        let ladder = Ladder {
            level: 0,
            round: 0,
            next_due: next_due(policy, 0, 0, fired),
            stopped: false,
        };
        (ladder, page)
    }

    /// Every level due by `now`, in order, and the state after paging them.
    /// Each is paged at the instant it was due, and the next delay counts
    /// from there, so a late step (a restart) does not stretch the ladder.
    /// A bound of one page per level per round keeps a zero delay from
    /// looping.
    pub fn advance(self, policy: &EscalationPolicy, now: Timestamp) -> (Ladder, Vec<Page>) {
        let mut ladder = self;
        let mut pages = Vec::new();
        if ladder.stopped {
            return (ladder, pages);
        }
        let bound = policy.levels.len() * (usize::try_from(policy.repeat).unwrap_or(0) + 1);
        while let Some(due) = ladder.next_due
            && due <= now
            && pages.len() < bound
        {
            let (level, round) = if ladder.level + 1 < policy.levels.len() {
                (ladder.level + 1, ladder.round)
            } else {
                (0, ladder.round + 1)
            };
            pages.push(Page { level, round, due });
            ladder = Ladder {
                level,
                round,
                next_due: next_due(policy, level, round, due),
                stopped: false,
            };
        }
        (ladder, pages)
    }

    /// Acknowledged or resolved: the level stays as it was, nothing more is
    /// due.
    pub fn stop(self) -> Ladder {
        Ladder {
            next_due: None,
            stopped: true,
            ..self
        }
    }
}

/// When the level after (`level`, `round`), paged at `paged`, is due.
fn next_due(
    policy: &EscalationPolicy,
    level: usize,
    round: u32,
    paged: Timestamp,
) -> Option<Timestamp> {
    let last_level = level + 1 >= policy.levels.len();
    if last_level && round >= policy.repeat {
        return None;
    }
    let delay = policy.levels.get(level)?.delay?;
    let delay = SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX);
    Some(paged.saturating_add(delay).unwrap_or(Timestamp::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
    }

    fn policy(delays: &[Option<u64>], repeat: u32) -> EscalationPolicy {
        EscalationPolicy {
            id: EscalationId::parse("default").unwrap(),
            levels: delays
                .iter()
                .enumerate()
                .map(|(index, delay)| Level {
                    targets: vec![EscalationTarget::Notifier(
                        NotifierId::parse(&format!("level-{index}")).unwrap(),
                    )],
                    delay: delay.map(|minutes| Duration::from_secs(minutes * 60)),
                })
                .collect(),
            repeat,
            escalate_on_breach: false,
        }
    }

    fn levels(pages: &[Page]) -> Vec<(usize, u32, Timestamp)> {
        pages
            .iter()
            .map(|page| (page.level, page.round, page.due))
            .collect()
    }

    /// Steps the ladder minute by minute from `from` to `to`, collecting pages.
    fn walk(
        policy: &EscalationPolicy,
        mut ladder: Ladder,
        from: i64,
        to: i64,
    ) -> (Ladder, Vec<Page>) {
        let mut all = Vec::new();
        for minute in from..=to {
            let (next, pages) = ladder.advance(policy, at(minute));
            all.extend(pages);
            ladder = next;
        }
        (ladder, all)
    }

    #[test]
    fn four_levels_with_a_repeat_page_each_level_at_its_delay_then_climb_again() {
        let policy = policy(&[Some(15), Some(30), Some(10), Some(5)], 1);
        let (ladder, first) = Ladder::start(&policy, at(0));
        assert_eq!((first.level, first.round, first.due), (0, 0, at(0)));
        let (ladder, pages) = walk(&policy, ladder, 0, 200);
        assert_eq!(
            levels(&pages),
            vec![
                (1, 0, at(15)),
                (2, 0, at(45)),
                (3, 0, at(55)),
                (0, 1, at(60)),
                (1, 1, at(75)),
                (2, 1, at(105)),
                (3, 1, at(115)),
            ]
        );
        assert_eq!(
            ladder.next_due, None,
            "the ladder ends after its last round"
        );
        assert!(!ladder.stopped);
    }

    #[test]
    fn a_policy_without_repeat_ends_at_its_last_level_which_needs_no_delay() {
        let policy = policy(&[Some(15), Some(30), None], 0);
        let (ladder, _) = Ladder::start(&policy, at(0));
        let (ladder, pages) = walk(&policy, ladder, 0, 600);
        assert_eq!(levels(&pages), vec![(1, 0, at(15)), (2, 0, at(45))]);
        assert_eq!(ladder.next_due, None);
    }

    #[test]
    fn a_late_step_pages_every_level_due_once_in_order_and_keeps_the_ladders_times() {
        let policy = policy(&[Some(15), Some(30), Some(10), Some(5)], 0);
        let (ladder, _) = Ladder::start(&policy, at(0));
        // Down from minute 1 to minute 50: levels 2 and 3 came due meanwhile.
        let (ladder, pages) = ladder.advance(&policy, at(50));
        assert_eq!(levels(&pages), vec![(1, 0, at(15)), (2, 0, at(45))]);
        assert_eq!(
            ladder.next_due,
            Some(at(55)),
            "level 4 is due at its own time"
        );
        let (ladder, again) = ladder.advance(&policy, at(50));
        assert!(again.is_empty(), "nothing is paged twice");
        let (_, last) = ladder.advance(&policy, at(55));
        assert_eq!(levels(&last), vec![(3, 0, at(55))]);
    }

    #[test]
    fn a_stopped_ladder_pages_nothing_more() {
        let policy = policy(&[Some(15), Some(30), None], 2);
        let (ladder, _) = Ladder::start(&policy, at(0));
        let (ladder, pages) = ladder.advance(&policy, at(20));
        assert_eq!(pages.len(), 1);
        let stopped = ladder.stop();
        assert_eq!(
            (stopped.level, stopped.next_due, stopped.stopped),
            (1, None, true)
        );
        let (_, none) = stopped.advance(&policy, at(10_000));
        assert!(none.is_empty());
    }

    #[test]
    fn zero_delays_page_each_level_once_per_round_and_do_not_loop() {
        let policy = policy(&[Some(0), Some(0)], 2);
        let (ladder, _) = Ladder::start(&policy, at(0));
        let (ladder, pages) = ladder.advance(&policy, at(0));
        assert_eq!(
            levels(&pages),
            vec![
                (1, 0, at(0)),
                (0, 1, at(0)),
                (1, 1, at(0)),
                (0, 2, at(0)),
                (1, 2, at(0))
            ]
        );
        assert_eq!(ladder.next_due, None);
    }

    #[test]
    fn targets_read_as_they_are_written() {
        assert_eq!(
            EscalationTarget::Schedule(ScheduleId::parse("primary").unwrap()).reference(),
            "schedule:primary"
        );
        assert_eq!(
            EscalationTarget::Person(PersonId::parse("carol").unwrap()).reference(),
            "person:carol"
        );
    }
}
