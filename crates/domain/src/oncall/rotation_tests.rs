//! Rotations with a fake clock: hand-offs across daylight-saving changes
//! and year boundaries, restrictions, and turn order.

use jiff::civil::{Time, Weekday, date, time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::*;

fn person(id: &str) -> PersonId {
    PersonId::parse(id).unwrap()
}

fn london() -> TimeZone {
    TimeZone::get("Europe/London").unwrap()
}

fn rotation(every_days: u32, handoff: &str, start: Date, members: &[&str]) -> Rotation {
    Rotation {
        name: "base".to_owned(),
        time_zone: london(),
        every_days,
        handoff: parse_handoff(handoff).unwrap(),
        start,
        members: members.iter().map(|id| person(id)).collect(),
        restrictions: Vec::new(),
    }
}

fn local(text: &str) -> Timestamp {
    format!("{text}[Europe/London]")
        .parse::<Zoned>()
        .unwrap()
        .timestamp()
}

fn shown(at: Timestamp) -> String {
    at.to_zoned(london())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[test]
fn a_weekly_rotation_hands_over_on_its_weekday_at_its_time_in_turn() {
    // 2026-12-02 is a Wednesday: the first hand-off is Monday 2026-12-07.
    let weekly = rotation(
        7,
        "Mon 09:00",
        date(2026, 12, 2),
        &["alice", "bob", "carol"],
    );
    assert_eq!(
        weekly.on_call(local("2026-12-07T08:59:59")),
        None,
        "before the first turn"
    );
    let turn = weekly.turn_at(local("2026-12-07T09:00:00")).unwrap();
    assert_eq!(
        (turn.person.as_str(), shown(turn.start), shown(turn.end)),
        (
            "alice",
            "2026-12-07 09:00 GMT".to_owned(),
            "2026-12-14 09:00 GMT".to_owned()
        )
    );
    assert_eq!(
        weekly.on_call(local("2026-12-14T08:59:59")),
        Some(person("alice"))
    );
    assert_eq!(
        weekly.on_call(local("2026-12-14T09:00:00")),
        Some(person("bob"))
    );
    assert_eq!(
        weekly.on_call(local("2026-12-21T12:00:00")),
        Some(person("carol"))
    );
    // Across the new year, the turn order goes on.
    assert_eq!(
        weekly.on_call(local("2027-01-01T00:00:00")),
        Some(person("alice"))
    );
    assert_eq!(
        weekly.on_call(local("2027-01-04T09:00:00")),
        Some(person("bob"))
    );
}

#[test]
fn hand_offs_keep_their_wall_clock_time_across_both_daylight_saving_changes() {
    let daily = rotation(1, "09:00", date(2027, 3, 20), &["alice", "bob"]);
    // British Summer Time starts on Sunday 2027-03-28 at 01:00 GMT.
    let turn = daily.turn_at(local("2027-03-28T12:00:00")).unwrap();
    assert_eq!(shown(turn.start), "2027-03-28 09:00 BST");
    assert_eq!(shown(turn.end), "2027-03-29 09:00 BST");
    let before = daily.turn_at(local("2027-03-28T08:00:00")).unwrap();
    assert_eq!(
        before.end.duration_since(before.start).as_hours(),
        23,
        "the turn across the change is an hour short in real time"
    );
    // It ends on Sunday 2027-10-31 at 02:00 BST.
    let autumn = daily.turn_at(local("2027-10-31T08:00:00")).unwrap();
    assert_eq!(shown(autumn.start), "2027-10-30 09:00 BST");
    assert_eq!(shown(autumn.end), "2027-10-31 09:00 GMT");
    assert_eq!(autumn.end.duration_since(autumn.start).as_hours(), 25);
}

#[test]
fn a_hand_off_inside_the_spring_forward_gap_moves_to_the_gaps_end_and_one_in_the_fold_is_the_first()
{
    // 01:30 does not exist in London on 2027-03-28 (01:00 GMT → 02:00 BST).
    let nightly = rotation(1, "01:30", date(2027, 3, 26), &["alice", "bob"]);
    let gap_day = nightly.turn_start(2);
    assert_eq!(
        shown(gap_day),
        "2027-03-28 02:00 BST",
        "the next valid instant"
    );
    assert_eq!(gap_day.to_string(), "2027-03-28T01:00:00Z");
    // 01:30 happens twice on 2027-10-31: the first is 00:30 UTC.
    let fold = rotation(1, "01:30", date(2027, 10, 30), &["alice", "bob"]);
    assert_eq!(fold.turn_start(1).to_string(), "2027-10-31T00:30:00Z");
}

#[test]
fn restrictions_leave_the_layer_empty_outside_their_hours_including_overnight_ones() {
    let mut business = rotation(7, "Mon 09:00", date(2026, 11, 30), &["alice", "bob"]);
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
    assert_eq!(
        business.on_call(local("2026-12-02T10:00:00")),
        Some(person("alice"))
    );
    assert_eq!(business.on_call(local("2026-12-02T17:00:00")), None);
    assert_eq!(
        business.on_call(local("2026-12-05T10:00:00")),
        None,
        "Saturday"
    );
    let edges: Vec<String> = business
        .changes(local("2026-12-04T12:00:00"), local("2026-12-07T12:00:00"))
        .into_iter()
        .map(shown)
        .collect();
    assert!(
        edges.contains(&"2026-12-04 17:00 GMT".to_owned()),
        "{edges:?}"
    );
    assert!(
        edges.contains(&"2026-12-07 09:00 GMT".to_owned()),
        "{edges:?}"
    );

    let mut nights = rotation(1, "18:00", date(2026, 11, 30), &["carol"]);
    nights.restrictions = vec![Restriction {
        days: vec![Weekday::Friday],
        from: time(18, 0, 0, 0),
        to: time(8, 0, 0, 0),
    }];
    assert_eq!(
        nights.on_call(local("2026-12-04T23:00:00")),
        Some(person("carol"))
    );
    assert_eq!(
        nights.on_call(local("2026-12-05T07:59:00")),
        Some(person("carol")),
        "Friday's window runs into Saturday morning"
    );
    assert_eq!(nights.on_call(local("2026-12-05T08:00:00")), None);
    assert_eq!(
        nights.on_call(local("2026-12-05T23:00:00")),
        None,
        "Saturday night"
    );
}

#[test]
fn hand_offs_and_times_parse_strictly() {
    assert_eq!(
        parse_handoff("mon 09:00"),
        Ok(Handoff {
            weekday: Some(Weekday::Monday),
            time: time(9, 0, 0, 0)
        })
    );
    assert_eq!(
        parse_handoff("Sunday 23:30").map(|h| h.weekday),
        Ok(Some(Weekday::Sunday))
    );
    assert_eq!(
        parse_handoff("17:45").map(|h| h.time),
        Ok(Time::constant(17, 45, 0, 0))
    );
    assert!(parse_handoff("Mon").unwrap_err().contains("HH:MM"));
    assert!(
        parse_handoff("Funday 09:00")
            .unwrap_err()
            .contains("not a weekday")
    );
    assert!(parse_handoff("9").is_err());
    assert!(parse_time("25:00").is_err());
    assert!(parse_time("9:00").is_err());
}
