//! Schedules with a fake clock: layers over layers, overrides over both,
//! the shift under way with its start and end, and listings of shifts.

use jiff::civil::{Date, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::*;
use crate::oncall::rotation::{Restriction, parse_handoff};

fn person(id: &str) -> PersonId {
    PersonId::parse(id).unwrap()
}

fn local(text: &str) -> Timestamp {
    format!("{text}[Europe/London]")
        .parse::<Zoned>()
        .unwrap()
        .timestamp()
}

fn shown(at: Timestamp) -> String {
    at.to_zoned(TimeZone::get("Europe/London").unwrap())
        .strftime("%a %Y-%m-%d %H:%M")
        .to_string()
}

fn layer(name: &str, every_days: u32, handoff: &str, start: Date, members: &[&str]) -> Rotation {
    Rotation {
        name: name.to_owned(),
        time_zone: TimeZone::get("Europe/London").unwrap(),
        every_days,
        handoff: parse_handoff(handoff).unwrap(),
        start,
        members: members.iter().map(|id| person(id)).collect(),
        restrictions: Vec::new(),
    }
}

/// A weekly base rotation of alice and bob, and business hours on top
/// covered by carol and dave, day by day.
fn primary() -> OnCallSchedule {
    let mut business = layer(
        "business-hours",
        1,
        "09:00",
        date(2026, 11, 30),
        &["carol", "dave"],
    );
    business.restrictions = vec![Restriction {
        days: vec![
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ],
        from: time(9, 0, 0, 0),
        to: time(17, 0, 0, 0),
    }];
    OnCallSchedule {
        id: ScheduleId::parse("primary").unwrap(),
        name: "Primary".to_owned(),
        layers: vec![
            layer(
                "base",
                7,
                "Mon 09:00",
                date(2026, 11, 30),
                &["alice", "bob"],
            ),
            business,
        ],
        overrides: Vec::new(),
    }
}

fn who(schedule: &OnCallSchedule, extra: &[Override], at: &str) -> Option<String> {
    schedule
        .who(extra, local(at))
        .map(|(person, _)| person.to_string())
}

#[test]
fn the_highest_layer_with_someone_on_call_decides() {
    let schedule = primary();
    // Monday 2026-11-30 is carol's business day; the base is alice's week.
    assert_eq!(
        who(&schedule, &[], "2026-11-30T10:00:00").as_deref(),
        Some("carol")
    );
    assert_eq!(
        who(&schedule, &[], "2026-12-01T10:00:00").as_deref(),
        Some("dave")
    );
    assert_eq!(
        who(&schedule, &[], "2026-12-01T18:00:00").as_deref(),
        Some("alice")
    );
    assert_eq!(
        who(&schedule, &[], "2026-12-05T10:00:00").as_deref(),
        Some("alice"),
        "Saturday"
    );
    assert_eq!(
        who(&schedule, &[], "2026-12-08T03:00:00").as_deref(),
        Some("bob")
    );
    assert_eq!(
        who(&schedule, &[], "2026-11-30T08:00:00"),
        None,
        "before every layer's start"
    );
}

#[test]
fn an_override_wins_over_every_layer_for_its_span_only() {
    let schedule = primary();
    let swap = Override {
        id: Some(7),
        person: person("erin"),
        start: local("2026-12-01T12:00:00"),
        end: local("2026-12-02T12:00:00"),
    };
    let extra = [swap];
    assert_eq!(
        who(&schedule, &extra, "2026-12-01T11:59:59").as_deref(),
        Some("dave")
    );
    assert_eq!(
        who(&schedule, &extra, "2026-12-01T12:00:00").as_deref(),
        Some("erin")
    );
    assert_eq!(
        who(&schedule, &extra, "2026-12-02T03:00:00").as_deref(),
        Some("erin")
    );
    assert_eq!(
        who(&schedule, &extra, "2026-12-02T12:00:00").as_deref(),
        Some("carol")
    );
    let (_, source) = schedule.who(&extra, local("2026-12-01T13:00:00")).unwrap();
    assert_eq!(source, Source::Override(Some(7)));
}

#[test]
fn the_shift_under_way_says_since_and_until_when_the_person_changes() {
    let schedule = primary();
    // Tuesday 18:00: alice until dave's business hours on Wednesday.
    let shift = schedule.on_call(&[], local("2026-12-01T18:00:00")).unwrap();
    assert_eq!(shift.person, person("alice"));
    assert_eq!(shown(shift.start), "Tue 2026-12-01 17:00");
    assert_eq!(shown(shift.end), "Wed 2026-12-02 09:00");
    // Friday evening: alice over the whole weekend until carol on Monday.
    let weekend = schedule.on_call(&[], local("2026-12-04T20:00:00")).unwrap();
    assert_eq!(shown(weekend.start), "Fri 2026-12-04 17:00");
    assert_eq!(shown(weekend.end), "Mon 2026-12-07 09:00");
    assert_eq!(weekend.source, Source::Layer("base".to_owned()));
}

#[test]
fn shifts_over_a_span_are_cut_to_it_and_merged_where_nothing_changes() {
    let mut schedule = primary();
    schedule.layers.truncate(1);
    let shifts = schedule.shifts(
        &[],
        local("2026-12-03T00:00:00"),
        local("2026-12-21T00:00:00"),
    );
    let listed: Vec<(String, String, String)> = shifts
        .iter()
        .map(|shift| {
            (
                shift.person.to_string(),
                shown(shift.start),
                shown(shift.end),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (
                "alice".to_owned(),
                "Thu 2026-12-03 00:00".to_owned(),
                "Mon 2026-12-07 09:00".to_owned()
            ),
            (
                "bob".to_owned(),
                "Mon 2026-12-07 09:00".to_owned(),
                "Mon 2026-12-14 09:00".to_owned()
            ),
            (
                "alice".to_owned(),
                "Mon 2026-12-14 09:00".to_owned(),
                "Mon 2026-12-21 00:00".to_owned()
            ),
        ]
    );
}

#[test]
fn overlapping_overrides_are_found_and_touching_ones_are_not() {
    let one = |id: i64, start: &str, end: &str| Override {
        id: Some(id),
        person: person("erin"),
        start: local(start),
        end: local(end),
    };
    let touching = [
        one(1, "2026-12-01T00:00:00", "2026-12-02T00:00:00"),
        one(2, "2026-12-02T00:00:00", "2026-12-03T00:00:00"),
    ];
    assert_eq!(first_overlap(&touching), None);
    let overlapping = [
        one(3, "2026-12-05T00:00:00", "2026-12-06T00:00:00"),
        one(4, "2026-12-01T00:00:00", "2026-12-05T00:00:01"),
    ];
    let (earlier, later) = first_overlap(&overlapping).unwrap();
    assert_eq!((earlier.id, later.id), (Some(4), Some(3)));
}
