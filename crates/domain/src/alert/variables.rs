//! What an alert rule's `when` may read: the [`SCHEMA`] of window
//! statistics, and the [`facts`] one window's statistics bind
//! ([`facts_for`] one condition: only what it reads).
//!
//! | variable | type | |
//! | --- | --- | --- |
//! | `samples` | int | results in the window |
//! | `availability` | double | 0–1, successes over samples (1 when empty) |
//! | `error_rate` | double | 0–1, failures over samples |
//! | `consecutive_failures`, `consecutive_successes` | int | over every result seen |
//! | `avg_latency`, `p50_latency`, `p95_latency`, `p99_latency` | duration | over the window |
//! | `last` | map | `last.health` (`"up"`, `"degraded"`, `"down"`), `last.reason` (string or null), `last.latency` |

use crate::alert::window::WindowStats;
use crate::condition::schema::{Size, ValueKind, Variable, scalar, variable};
use crate::condition::{Condition, Fact, Facts, Schema};

/// A reason is at most this long in `last.reason` (result reasons are cut
/// where they are made; this bounds the cost estimate).
const REASON_BYTES: f64 = 64.0 * 1024.0;

pub static SCHEMA: Schema = Schema {
    subject: "an alert rule",
    answer: "the window",
    variables: &[
        scalar("samples", ValueKind::Int),
        scalar("availability", ValueKind::Double),
        scalar("error_rate", ValueKind::Double),
        scalar("consecutive_failures", ValueKind::Int),
        scalar("consecutive_successes", ValueKind::Int),
        scalar("avg_latency", ValueKind::Duration),
        scalar("p50_latency", ValueKind::Duration),
        scalar("p95_latency", ValueKind::Duration),
        scalar("p99_latency", ValueKind::Duration),
        LAST,
    ],
};

const LAST: Variable = variable(
    "last",
    ValueKind::Map,
    Size::Fixed {
        items: 3.0,
        bytes: REASON_BYTES,
    },
);

const PERCENTILES: [&str; 3] = ["p50_latency", "p95_latency", "p99_latency"];

/// Whether any of `conditions` reads a latency percentile, so the window
/// computes them (they are the one costly statistic).
pub fn reads_percentiles(conditions: &[&Condition]) -> bool {
    conditions
        .iter()
        .any(|condition| PERCENTILES.iter().any(|name| condition.reads(name)))
}

/// The facts `stats` bind for any rule condition. Percentiles absent from
/// `stats` (not asked for, or an empty window) are bound as null.
pub fn facts(stats: &WindowStats) -> Facts {
    bind(Facts::new(&SCHEMA), stats)
}

/// The facts `stats` bind for `condition`: only the variables it reads,
/// so a rule evaluated on every result builds only what it needs (no copy
/// of the last reason for a rule over `availability`).
pub fn facts_for(condition: &Condition, stats: &WindowStats) -> Facts {
    bind(Facts::for_condition(condition), stats)
}

fn bind(mut facts: Facts, stats: &WindowStats) -> Facts {
    let count = |value: u64| Fact::Int(i64::try_from(value).unwrap_or(i64::MAX));
    facts
        .set("samples", count(stats.samples))
        .set("availability", Fact::Double(stats.availability))
        .set("error_rate", Fact::Double(stats.error_rate))
        .set("consecutive_failures", count(stats.consecutive_failures))
        .set("consecutive_successes", count(stats.consecutive_successes))
        .set("avg_latency", Fact::Duration(stats.avg_latency));
    let percentile = |pick: fn(&crate::alert::window::Percentiles) -> std::time::Duration| {
        stats
            .percentiles
            .as_ref()
            .map_or(Fact::Null, |percentiles| Fact::Duration(pick(percentiles)))
    };
    facts
        .set("p50_latency", percentile(|p| p.p50))
        .set("p95_latency", percentile(|p| p.p95))
        .set("p99_latency", percentile(|p| p.p99));
    if facts.wants("last") {
        let last = match &stats.last {
            Some(last) => Fact::Fields(vec![
                ("health", Fact::Text(last.health.as_str().to_owned())),
                (
                    "reason",
                    last.reason
                        .as_ref()
                        .map_or(Fact::Null, |reason| Fact::Text(reason.clone())),
                ),
                ("latency", Fact::Duration(last.latency)),
            ]),
            None => Fact::Null,
        };
        facts.set("last", last);
    }
    facts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::Timestamp;

    use super::*;
    use crate::alert::window::Window;
    use crate::check::CheckResult;
    use crate::condition::{Budget, Truth};
    use crate::health::Health;
    use crate::id::MonitorId;

    fn window(healths: &[Health]) -> Window {
        let mut window = Window::new(Duration::from_secs(300), false);
        for (index, health) in healths.iter().enumerate() {
            let at = Timestamp::from_second(1_800_000_000 + index as i64 * 10).unwrap();
            window.record(&CheckResult {
                monitor: MonitorId::parse("api").unwrap(),
                due_at: at,
                started_at: at,
                latency: Duration::from_millis(100 * (index as u64 + 1)),
                evaluation: Duration::ZERO,
                health: *health,
                reason: (*health == Health::Down)
                    .then(|| "status == 200 failed: status was 503".to_owned()),
                fallback: None,
            });
        }
        window
    }

    fn truth(source: &str, window: &Window) -> Truth {
        let condition = Condition::compile(source, &SCHEMA).unwrap();
        let stats = window.stats(reads_percentiles(&[&condition]));
        let all = condition.test(&facts(&stats), Budget::default());
        assert_eq!(
            condition.test(&facts_for(&condition, &stats), Budget::default()),
            all,
            "{source}: the facts bound for it alone decide as all of them do"
        );
        all
    }

    #[test]
    fn rules_read_the_windows_statistics() {
        let healths = [
            Health::Up,
            Health::Up,
            Health::Down,
            Health::Down,
            Health::Down,
        ];
        let window = window(&healths);
        assert_eq!(truth("consecutive_failures >= 3", &window), Truth::True);
        assert_eq!(truth("availability < 0.5", &window), Truth::True);
        assert_eq!(
            truth("error_rate > 0.05 && samples >= 5", &window),
            Truth::True
        );
        assert_eq!(
            truth(r#"p95_latency >= duration("500ms")"#, &window),
            Truth::True
        );
        assert_eq!(
            truth(r#"avg_latency == duration("300ms")"#, &window),
            Truth::True
        );
        assert_eq!(
            truth(
                r#"last.health == "down" && last.reason.contains("503")"#,
                &window
            ),
            Truth::True
        );
        assert_eq!(truth("consecutive_successes >= 2", &window), Truth::False);
    }

    #[test]
    fn an_empty_window_is_available_and_has_no_percentiles() {
        let empty = window(&[]);
        assert_eq!(truth("availability < 0.99", &empty), Truth::False);
        assert!(matches!(
            truth(r#"p95_latency > duration("2s")"#, &empty),
            Truth::Unknown(_)
        ));
        assert!(matches!(
            truth(r#"last.health == "down""#, &empty),
            Truth::Unknown(_)
        ));
    }

    #[test]
    fn facts_for_one_condition_bind_only_what_it_reads_and_still_meter_its_loops() {
        let window = window(&[Health::Up, Health::Down]);
        let stats = window.stats(false);
        let availability = Condition::compile("availability < 0.9", &SCHEMA).unwrap();
        let bound = facts_for(&availability, &stats);
        assert!(bound.wants("availability") && !bound.wants("last"));
        assert_eq!(availability.test(&bound, Budget::default()), Truth::True);
        let samples = Condition::compile("samples > 0", &SCHEMA).unwrap();
        assert!(
            matches!(samples.test(&bound, Budget::default()), Truth::Unknown(_)),
            "samples was not bound for a condition that does not read it"
        );
        let looping = Condition::compile("[1, 2, 3].all(x, x > samples)", &SCHEMA).unwrap();
        assert!(matches!(
            looping.test(&facts_for(&looping, &stats), Budget { steps: 2 }),
            Truth::Stopped(_)
        ));
    }

    #[test]
    fn the_default_thresholds_compile_and_cost_little() {
        for source in ["consecutive_failures >= 3", "consecutive_successes >= 2"] {
            let condition = Condition::compile(source, &SCHEMA).unwrap();
            assert!(condition.worst_case(0).steps < 10.0, "{source}");
        }
    }
}
