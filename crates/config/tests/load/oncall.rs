//! The on-call sections: a full config loads into the domain's people,
//! schedules and escalation policies, and each rule's violation is
//! reported at its position.

use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::id::{EscalationId, PersonId, ScheduleId};
use watchkeeper_domain::oncall::escalation::EscalationTarget;
use watchkeeper_domain::oncall::schedule::Source;

use crate::support::{assert_error, errors, load};

/// Two notifiers and two people (the second, bob, open for more keys);
/// what follows starts on line 19.
const PEOPLE: &str = r#"[[notifier]]
id = "team-slack"
slack = { url = "http://127.0.0.1:9/slack" }

[[notifier]]
id = "mail"
email = { smtp = "smtp://127.0.0.1:2525", from = "wk@example.com", to = ["ops@example.com"], tls = "none" }

[[person]]
id = "alice"
name = "Alice Example"
email = "alice@example.com"
slack = "U024BE7LH"
time_zone = "Europe/London"
contact = ["mail", "team-slack"]

[[person]]
id = "bob"
"#;

fn with(rest: &str) -> String {
    format!("{PEOPLE}{rest}")
}

#[test]
fn people_schedules_and_escalation_policies_load_as_written() {
    let config = load(&with(
        r#"
[oncall]
ack_targets = { P1 = "30m" }
link_expiry = "12h"

[[schedule]]
id = "primary"
time_zone = "Europe/London"
every = "1w"
handoff = "Mon 09:00"
start = "2026-01-05"
members = ["alice", "bob"]

[[schedule.layer]]
name = "business-hours"
every = "1d"
members = ["bob"]
restrict = [{ days = ["Mon", "Fri"], from = "09:00", to = "17:00" }]

[[schedule.override]]
person = "bob"
start = "2026-12-24T00:00:00Z"
end = "2026-12-27T00:00:00Z"

[[escalation]]
id = "default"
repeat = 1
escalate_on_breach = true
levels = [
  { notify = ["schedule:primary"], delay = "15m" },
  { notify = ["person:alice", "team-slack"], delay = "30m" },
]

[[route]]
notify = []
escalation = "default"
"#,
    ))
    .unwrap();
    let oncall = &config.oncall;
    let alice = oncall.person(&PersonId::parse("alice").unwrap()).unwrap();
    assert_eq!(alice.name, "Alice Example");
    assert_eq!(alice.slack.as_deref(), Some("U024BE7LH"));
    assert_eq!(
        alice
            .contact
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>(),
        ["mail", "team-slack"]
    );
    let bob = oncall.person(&PersonId::parse("bob").unwrap()).unwrap();
    assert_eq!(bob.name, "bob", "the name defaults to the id");

    let primary = oncall
        .schedule(&ScheduleId::parse("primary").unwrap())
        .unwrap();
    assert_eq!(primary.layers.len(), 2);
    assert_eq!(primary.layers[0].name, "base");
    assert_eq!(primary.layers[0].every_days, 7);
    assert_eq!(primary.layers[1].restrictions.len(), 1);
    assert_eq!(primary.overrides.len(), 1);
    // 2026-12-02 12:00 UTC is a Wednesday: the base rotation decides, and
    // weeks from 2026-01-05 alternate alice, bob; the 48th is bob's.
    let wednesday: Timestamp = "2026-12-02T12:00:00Z".parse().unwrap();
    let (who, _) = primary.who(&[], wednesday).unwrap();
    assert_eq!(who.as_str(), "bob");
    // Christmas falls in alice's week, but the override puts bob on call.
    let christmas: Timestamp = "2026-12-25T12:00:00Z".parse().unwrap();
    let (who, source) = primary.who(&[], christmas).unwrap();
    assert_eq!((who.as_str(), source), ("bob", Source::Override(None)));
    let boxing_day_after: Timestamp = "2026-12-27T12:00:00Z".parse().unwrap();
    assert_eq!(
        primary.who(&[], boxing_day_after).unwrap().0.as_str(),
        "alice"
    );

    let policy = oncall
        .escalation(&EscalationId::parse("default").unwrap())
        .unwrap();
    assert_eq!(policy.repeat, 1);
    assert!(policy.escalate_on_breach);
    assert_eq!(
        policy.levels[1].targets,
        [
            EscalationTarget::Person(PersonId::parse("alice").unwrap()),
            EscalationTarget::Notifier("team-slack".parse().unwrap()),
        ]
    );
    assert_eq!(policy.levels[0].delay, Some(Duration::from_secs(15 * 60)));
    assert_eq!(
        config.alerting.routes[0].escalation,
        Some(EscalationId::parse("default").unwrap())
    );
    assert_eq!(
        oncall.ack_targets.within("P1"),
        Some(Duration::from_secs(30 * 60))
    );
    assert_eq!(
        oncall.ack_targets.within("P0"),
        Some(Duration::from_secs(15 * 60))
    );
    assert_eq!(oncall.link_expiry, Duration::from_secs(12 * 3600));
}

#[test]
fn unknown_people_schedules_policies_and_notifiers_are_named_where_they_are_used() {
    assert_eq!(
        errors(&with(
            r#"
[[schedule]]
id = "primary"
every = "1w"
members = ["alice", "bbo"]

[[escalation]]
id = "default"
levels = [{ notify = ["schedule:secondary", "person:carol", "team-slak", "pager:x"] }]

[[route]]
notify = []
escalation = "defualt"
"#
        )),
        "watchkeeper.toml:23:21: unknown person `bbo`; did you mean `bob`?\n\
         watchkeeper.toml:27:23: unknown schedule `secondary`; known schedules: primary\n\
         watchkeeper.toml:27:45: unknown person `carol`; known people: alice, bob\n\
         watchkeeper.toml:27:61: unknown notifier `team-slak`; did you mean `team-slack`?\n\
         watchkeeper.toml:27:74: unknown kind `pager:` in \"pager:x\"; a level pages a notifier (its id), \"person:ID\" or \"schedule:ID\"\n\
         watchkeeper.toml:31:14: unknown escalation policy `defualt`; did you mean `default`?"
    );
}

#[test]
fn a_rotation_needs_members_whole_days_and_a_real_hand_off() {
    assert_eq!(
        errors(&with(
            r#"
[[schedule]]
id = "empty"

[[schedule]]
id = "bad"
time_zone = "Europe/Lodnon"
every = "12h"
handoff = "Mon 25:00"
members = []

[[schedule]]
id = "odd"
every = "3d"
handoff = "Fri 09:00"
members = ["bob"]
restrict = [{ days = ["Funday"], from = "9am" }]
"#
        )),
        "watchkeeper.toml:20:1: [[schedule]] has nobody to put on call: give `members` (a rotation) or [[schedule.layer]]s\n\
         watchkeeper.toml:25:13: unknown time zone \"Europe/Lodnon\"; use an IANA name such as \"Europe/London\" or \"UTC\"\n\
         watchkeeper.toml:26:9: `every` is a turn's length in whole days or weeks, such as \"1w\" or \"3d\", not \"12h\" (turns are counted on the calendar, so a hand-off keeps its wall-clock time across daylight saving)\n\
         watchkeeper.toml:27:11: `handoff`: \"25:00\" is not a time of day as HH:MM, 24-hour (\"09:00\", \"17:30\")\n\
         watchkeeper.toml:28:11: `members` is empty: a rotation needs at least one person\n\
         watchkeeper.toml:32:9: a hand-off on a weekday needs turns of whole weeks; `every` is 3 days\n\
         watchkeeper.toml:35:13: a restriction needs `from` and `to`; `to` is missing\n\
         watchkeeper.toml:35:23: \"Funday\" is not a weekday; use Mon, Tue, Wed, Thu, Fri, Sat or Sun\n\
         watchkeeper.toml:35:41: `from`: \"9am\" is not a time of day as HH:MM, 24-hour (\"09:00\", \"17:30\")"
    );
}

#[test]
fn overrides_must_end_after_they_start_and_not_overlap() {
    assert_eq!(
        errors(&with(
            r#"
[[schedule]]
id = "primary"
every = "1w"
members = ["alice"]

[[schedule.override]]
person = "bob"
start = "2026-12-24T00:00:00Z"
end = "2026-12-27T00:00:00Z"

[[schedule.override]]
person = "alice"
start = "2026-12-26T00:00:00Z"
end = "2026-12-28T00:00:00Z"

[[schedule.override]]
person = "alice"
start = "2027-01-02T00:00:00Z"
end = "2027-01-01T00:00:00Z"
"#
        )),
        "watchkeeper.toml:30:1: this override (2026-12-26T00:00:00Z to 2026-12-28T00:00:00Z) overlaps the one at watchkeeper.toml:25:1 (2026-12-24T00:00:00Z to 2026-12-27T00:00:00Z); who would be on call?\n\
         watchkeeper.toml:38:7: `end` \"2027-01-01T00:00:00Z\" is not after `start` \"2027-01-02T00:00:00Z\""
    );
}

#[test]
fn escalation_levels_need_targets_and_delays_except_a_last_that_does_not_repeat() {
    assert_eq!(
        errors(&with(
            r#"
[[escalation]]
id = "ladder"
repeat = 2
levels = [
  { notify = ["team-slack"] },
  { notify = [], delay = "5m" },
  { notify = ["person:bob", "person:bob"] },
]

[[escalation]]
id = "empty"
repeat = 1000
"#
        )),
        "watchkeeper.toml:24:3: this level needs `delay`: how long after it is paged the next level is\n\
         watchkeeper.toml:25:14: `notify` is empty: a level must page someone\n\
         watchkeeper.toml:26:3: `person:bob` is listed twice in this level\n\
         watchkeeper.toml:26:3: the last level needs `delay` when the policy repeats: how long after it the ladder starts again\n\
         watchkeeper.toml:29:1: [[escalation]] has no `levels`; give at least one: levels = [{ notify = [\"schedule:primary\"], delay = \"15m\" }]\n\
         watchkeeper.toml:31:10: `repeat` must be from 0 to 100, not 1000"
    );
}

#[test]
fn a_person_needs_a_valid_address_slack_id_and_notifiers() {
    assert_error(
        &with("email = \"not an address\"\n"),
        "watchkeeper.toml:19:9: invalid address \"not an address\" in `email`: Invalid input",
    );
    assert_error(
        &with("slack = \"@bob\"\n"),
        "watchkeeper.toml:19:9: `slack` must be a Slack member id such as \"U024BE7LH\" (in Slack: the profile's ⋮ menu, \"Copy member ID\"), not \"@bob\"",
    );
    assert_error(
        &with("contact = [\"mail\", \"mail\"]\n"),
        "watchkeeper.toml:19:20: notifier `mail` is listed twice in `contact`",
    );
    assert_error(
        "[oncall]\nack_targets = { P7 = \"1h\" }\nlink_expiry = \"30d\"\n",
        "watchkeeper.toml:2:17: unknown severity `P7`; the severities are P0, P1, P2, P3 ([alerting] severities)\n\
         watchkeeper.toml:3:15: `link_expiry` may be at most 7d: a link in an old message should not still acknowledge",
    );
}

/// The seeds' ladders in `examples/oncall/` load (`watchkeeper validate`
/// runs the same `load`; the serve tests run the binary on them too).
#[test]
fn the_seeds_ladders_in_examples_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/oncall");
    let mut loaded = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let config = watchkeeper_config::load(&path)
                .unwrap_or_else(|errors| panic!("{}:\n{errors}", path.display()));
            assert!(
                !config.oncall.escalations.is_empty(),
                "{} has no ladder",
                path.display()
            );
            loaded.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    loaded.sort();
    assert_eq!(
        loaded,
        [
            "seed-000-l1-l4.toml",
            "seed-001-l1-l3.toml",
            "seed-003-p0-p3.toml"
        ]
    );
}
