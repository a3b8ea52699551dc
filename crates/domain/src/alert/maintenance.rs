//! Maintenance windows: planned time during which a monitor's alerts are
//! still evaluated and recorded but not sent. A window is one-off (a start
//! and an end) or recurring (a cron expression in a time zone, each
//! occurrence lasting a fixed duration), and covers monitors named by id or
//! by their component.
//!
//! Times are wall-clock instants (the `Clock`'s wall reading): a window
//! planned for "Sunday 02:00 Europe/Berlin" is about the time people read
//! on their clocks. Daylight saving time follows [`CronSchedule`]: an
//! occurrence in the spring-forward gap starts right after it, one in the
//! repeated hour of the fall-back starts at the first pass, and it lasts
//! its duration in real time from there.

use jiff::{SignedDuration, Timestamp};

use crate::id::{ComponentId, MonitorId};
use crate::schedule::CronSchedule;

/// When a window is in effect.
#[derive(Debug, Clone, PartialEq)]
pub enum When {
    /// From `start` (inclusive) to `end` (exclusive).
    Once { start: Timestamp, end: Timestamp },
    /// Each occurrence of `cron`, for `duration`. (Boxed: a parsed cron
    /// is many times the size of a one-off window's two timestamps.)
    Recurring {
        cron: Box<CronSchedule>,
        duration: SignedDuration,
    },
}

/// One occurrence of a window: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Occurrence {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MaintenanceWindow {
    pub id: String,
    /// What the status page and the API show, e.g. "Database upgrade".
    pub title: String,
    pub monitors: Vec<MonitorId>,
    pub components: Vec<ComponentId>,
    pub when: When,
}

impl MaintenanceWindow {
    /// Whether the window applies to `monitor` (which belongs to
    /// `component`, if any): named itself, or through its component.
    pub fn covers(&self, monitor: &MonitorId, component: Option<&ComponentId>) -> bool {
        self.monitors.contains(monitor)
            || component.is_some_and(|component| self.components.contains(component))
    }

    /// The occurrence in effect at `now`, if any. When occurrences of a
    /// recurring window overlap (a duration longer than the gap between
    /// them), this is the earliest that still holds `now`.
    pub fn active_at(&self, now: Timestamp) -> Option<Occurrence> {
        match &self.when {
            When::Once { start, end } => {
                let once = Occurrence {
                    start: *start,
                    end: *end,
                };
                once.contains(now).then_some(once)
            }
            When::Recurring { cron, duration } => {
                // An occurrence holds `now` exactly when it started in
                // `(now - duration, now]`.
                let earliest = now.checked_sub(*duration).ok()?;
                let start = cron.after(earliest)?;
                let occurrence = Occurrence {
                    start,
                    end: start.checked_add(*duration).ok()?,
                };
                occurrence.contains(now).then_some(occurrence)
            }
        }
    }

    /// The next occurrence that starts after `now` (for "upcoming
    /// maintenance"); `None` when there is none (a one-off window that has
    /// started or passed).
    pub fn next_after(&self, now: Timestamp) -> Option<Occurrence> {
        match &self.when {
            When::Once { start, end } => (*start > now).then_some(Occurrence {
                start: *start,
                end: *end,
            }),
            When::Recurring { cron, duration } => {
                let start = cron.after(now)?;
                Some(Occurrence {
                    start,
                    end: start.checked_add(*duration).ok()?,
                })
            }
        }
    }
}

/// The first window (in config order) in effect at `now` that covers
/// `monitor`: while there is one, its alerts are recorded, not sent.
pub fn suppressing<'a>(
    windows: &'a [MaintenanceWindow],
    monitor: &MonitorId,
    component: Option<&ComponentId>,
    now: Timestamp,
) -> Option<(&'a MaintenanceWindow, Occurrence)> {
    windows
        .iter()
        .filter(|window| window.covers(monitor, component))
        .find_map(|window| window.active_at(now).map(|occurrence| (window, occurrence)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn monitor(id: &str) -> MonitorId {
        MonitorId::parse(id).unwrap()
    }

    fn component(id: &str) -> ComponentId {
        ComponentId::parse(id).unwrap()
    }

    fn once(start: &str, end: &str) -> MaintenanceWindow {
        MaintenanceWindow {
            id: "upgrade".into(),
            title: "Database upgrade".into(),
            monitors: vec![monitor("db")],
            components: vec![component("storage")],
            when: When::Once {
                start: ts(start),
                end: ts(end),
            },
        }
    }

    /// Sundays at 02:00 in Berlin, for two hours.
    fn sundays() -> MaintenanceWindow {
        MaintenanceWindow {
            id: "weekly".into(),
            title: "Weekly patching".into(),
            monitors: vec![],
            components: vec![component("api")],
            when: When::Recurring {
                cron: Box::new(CronSchedule::parse("0 2 * * SUN", "Europe/Berlin").unwrap()),
                duration: SignedDuration::from_hours(2),
            },
        }
    }

    #[test]
    fn a_window_covers_its_monitors_and_the_monitors_of_its_components() {
        let window = once("2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z");
        assert!(window.covers(&monitor("db"), None));
        assert!(window.covers(&monitor("blob"), Some(&component("storage"))));
        assert!(!window.covers(&monitor("blob"), Some(&component("api"))));
        assert!(!window.covers(&monitor("api"), None));
    }

    #[test]
    fn a_one_off_window_holds_from_its_start_until_just_before_its_end() {
        let window = once("2026-05-01T00:00:00Z", "2026-05-01T01:00:00Z");
        assert_eq!(window.active_at(ts("2026-04-30T23:59:59Z")), None);
        let expected = Occurrence {
            start: ts("2026-05-01T00:00:00Z"),
            end: ts("2026-05-01T01:00:00Z"),
        };
        assert_eq!(window.active_at(ts("2026-05-01T00:00:00Z")), Some(expected));
        assert_eq!(window.active_at(ts("2026-05-01T00:59:59Z")), Some(expected));
        assert_eq!(window.active_at(ts("2026-05-01T01:00:00Z")), None);
        assert_eq!(
            window.next_after(ts("2026-04-30T00:00:00Z")),
            Some(expected)
        );
        assert_eq!(window.next_after(ts("2026-05-01T00:30:00Z")), None);
    }

    #[test]
    fn a_recurring_window_holds_for_its_duration_after_each_occurrence() {
        let window = sundays();
        // Sunday 2026-05-03, 02:00 CEST = 00:00 UTC.
        let at = |utc: &str| window.active_at(ts(utc));
        assert_eq!(at("2026-05-02T23:59:59Z"), None);
        let may_3 = Occurrence {
            start: ts("2026-05-03T00:00:00Z"),
            end: ts("2026-05-03T02:00:00Z"),
        };
        assert_eq!(at("2026-05-03T00:00:00Z"), Some(may_3));
        assert_eq!(at("2026-05-03T01:30:00Z"), Some(may_3));
        assert_eq!(at("2026-05-03T02:00:00Z"), None);
        // A weekday is outside every occurrence.
        assert_eq!(at("2026-05-06T00:30:00Z"), None);
        assert_eq!(
            window.next_after(ts("2026-05-03T00:30:00Z")),
            Some(Occurrence {
                start: ts("2026-05-10T00:00:00Z"),
                end: ts("2026-05-10T02:00:00Z"),
            })
        );
    }

    #[test]
    fn across_daylight_saving_changes_a_window_keeps_to_the_wall_clock() {
        let window = sundays();
        // 2026-03-29: Berlin springs forward at 02:00 CET to 03:00 CEST, so
        // 02:00 does not exist; the occurrence starts right after the gap,
        // 03:00 CEST = 01:00 UTC, and lasts two real hours.
        assert_eq!(
            window.active_at(ts("2026-03-29T01:30:00Z")),
            Some(Occurrence {
                start: ts("2026-03-29T01:00:00Z"),
                end: ts("2026-03-29T03:00:00Z"),
            })
        );
        assert_eq!(window.active_at(ts("2026-03-29T00:30:00Z")), None);
        // 2026-10-25: Berlin falls back at 03:00 CEST to 02:00 CET, so
        // 02:00 happens twice; the occurrence starts at the first, 02:00
        // CEST = 00:00 UTC, and is not started again an hour later.
        let october = Occurrence {
            start: ts("2026-10-25T00:00:00Z"),
            end: ts("2026-10-25T02:00:00Z"),
        };
        assert_eq!(window.active_at(ts("2026-10-25T00:10:00Z")), Some(october));
        assert_eq!(window.active_at(ts("2026-10-25T01:10:00Z")), Some(october));
        assert_eq!(window.active_at(ts("2026-10-25T02:10:00Z")), None);
        // Winter: 02:00 CET = 01:00 UTC.
        assert_eq!(
            window
                .active_at(ts("2026-11-01T01:00:00Z"))
                .map(|o| o.start),
            Some(ts("2026-11-01T01:00:00Z"))
        );
    }

    #[test]
    fn the_first_covering_window_in_effect_suppresses() {
        let windows = [
            once("2026-05-03T00:30:00Z", "2026-05-03T00:40:00Z"),
            sundays(),
        ];
        let now = ts("2026-05-03T00:35:00Z");
        let (window, occurrence) =
            suppressing(&windows, &monitor("edge"), Some(&component("api")), now).unwrap();
        assert_eq!(window.id, "weekly");
        assert_eq!(occurrence.start, ts("2026-05-03T00:00:00Z"));
        let (window, _) = suppressing(&windows, &monitor("db"), None, now).unwrap();
        assert_eq!(window.id, "upgrade");
        assert!(suppressing(&windows, &monitor("other"), None, now).is_none());
        assert!(
            suppressing(
                &windows,
                &monitor("edge"),
                Some(&component("api")),
                ts("2026-05-04T00:35:00Z")
            )
            .is_none()
        );
    }
}
