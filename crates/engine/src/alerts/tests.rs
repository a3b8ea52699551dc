//! The evaluator driven by results with chosen instants: no clock.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::alert::variables::SCHEMA;
use watchkeeper_domain::alert::{
    AlertChange, AlertPhase, AlertRule, RuleCheck, RuleSet, StoredAlert, Transition,
};
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::condition::Condition;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_testkit::{monitor, result};

use super::Alerts;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn id(name: &str) -> MonitorId {
    MonitorId::parse(name).unwrap()
}

fn up(second: i64) -> CheckResult {
    result("api", at(second)).build()
}

fn down(second: i64) -> CheckResult {
    result("api", at(second)).down("connection refused").build()
}

fn monitors() -> Vec<Arc<MonitorSpec>> {
    vec![monitor("api").component("edge").arc(), monitor("db").arc()]
}

fn threshold() -> RuleSet {
    RuleSet::new(vec![Arc::new(AlertRule::monitor_down(
        id("api"),
        3,
        2,
        "P2".to_owned(),
    ))])
}

/// Feeds `results`, returning each change as (second it ended at, transition).
fn feed(alerts: &mut Alerts, results: &[CheckResult]) -> Vec<(Timestamp, Transition)> {
    let mut changes = Vec::new();
    for result in results {
        alerts.record(result, &mut changes);
    }
    changes.iter().map(|c| (c.at, c.transition)).collect()
}

fn ended(second: i64) -> Timestamp {
    at(second) + jiff::SignedDuration::from_millis(10)
}

#[test]
fn three_failures_fire_once_and_two_successes_resolve_once() {
    let (mut alerts, gone) = Alerts::new(&threshold(), &monitors(), vec![], at(0));
    assert!(gone.is_empty());
    let changes = feed(
        &mut alerts,
        &[
            down(0),
            down(10),
            down(20),
            down(30),
            up(40),
            down(50),
            up(60),
            up(70),
            up(80),
        ],
    );
    assert_eq!(
        changes,
        [
            (ended(20), Transition::Fired),
            (ended(70), Transition::Resolved)
        ],
        "one success between failures does not resolve"
    );
}

#[test]
fn a_firing_alert_comes_back_firing_after_a_restart_and_is_neither_fired_again_nor_forgotten() {
    let (mut alerts, _) = Alerts::new(&threshold(), &monitors(), vec![], at(0));
    let mut changes = Vec::new();
    for result in [down(0), down(10), down(20)] {
        alerts.record(&result, &mut changes);
    }
    let fired = changes.pop().unwrap();
    let stored = StoredAlert {
        fingerprint: fired.fingerprint.clone(),
        rule: fired.rule.clone(),
        monitor: fired.monitor.clone(),
        labels: fired.labels.clone(),
        state: fired.state.clone(),
        updated_at: fired.at,
    };

    // Still down after the restart: no second `Fired`.
    let (mut again, gone) = Alerts::new(&threshold(), &monitors(), vec![stored.clone()], at(100));
    assert!(gone.is_empty());
    assert_eq!(
        feed(&mut again, &[down(100), down(110), down(120), down(130)]),
        []
    );
    assert_eq!(again.views()[0].1.phase, AlertPhase::Firing);

    // Recovered while Watchkeeper was down: resolved, once.
    let (mut again, _) = Alerts::new(&threshold(), &monitors(), vec![stored], at(100));
    assert_eq!(
        feed(&mut again, &[up(100), up(110), up(120)]),
        [(ended(110), Transition::Resolved)]
    );
}

#[test]
fn a_stored_firing_alert_whose_rule_is_gone_is_resolved_at_start_with_the_reason() {
    let (mut alerts, _) = Alerts::new(&threshold(), &monitors(), vec![], at(0));
    let mut changes = Vec::new();
    for result in [down(0), down(10), down(20)] {
        alerts.record(&result, &mut changes);
    }
    let fired = changes.pop().unwrap();
    let stored = StoredAlert {
        fingerprint: fired.fingerprint,
        rule: fired.rule,
        monitor: fired.monitor,
        labels: fired.labels,
        state: fired.state,
        updated_at: fired.at,
    };
    let (alerts, gone) = Alerts::new(&RuleSet::default(), &monitors(), vec![stored], at(500));
    assert!(alerts.views().is_empty());
    let [resolved]: [AlertChange; 1] = gone.try_into().unwrap();
    assert_eq!(resolved.transition, Transition::Resolved);
    assert_eq!(resolved.at, at(500));
    assert_eq!(resolved.state.phase, AlertPhase::Resolved);
    assert!(resolved.reason.unwrap().contains("removed"));
}

#[test]
fn a_reload_keeps_what_stays_and_resolves_what_goes() {
    let db_down = Arc::new(AlertRule::monitor_down(id("db"), 1, 1, "P1".to_owned()));
    let mut rules = threshold();
    rules.rules.push(db_down.clone());
    let (mut alerts, _) = Alerts::new(&rules, &monitors(), vec![], at(0));
    let mut changes = Vec::new();
    for result in [down(0), down(10)] {
        alerts.record(&result, &mut changes);
    }
    alerts.record(&result("db", at(5)).down("refused").build(), &mut changes);
    assert_eq!(changes.len(), 1, "db fired; api has two failures of three");

    // db's rule goes; api's stays, with its two failures counted.
    let gone = alerts.replace(&threshold(), &monitors(), at(15));
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].monitor, id("db"));
    assert_eq!(gone[0].transition, Transition::Resolved);
    assert_eq!(
        feed(&mut alerts, &[down(20)]),
        [(ended(20), Transition::Fired)],
        "the window survived the reload"
    );
}

#[test]
fn a_when_over_the_window_fires_after_for_and_labels_name_the_alert() {
    let when = Condition::compile("error_rate > 0.5 && samples >= 2", &SCHEMA).unwrap();
    let rule = AlertRule {
        name: "ApiErrors".to_owned(),
        window: Duration::from_secs(60),
        check: RuleCheck::When(when),
        timing: watchkeeper_domain::alert::Timing {
            hold_for: Duration::from_secs(20),
            keep_firing_for: Duration::ZERO,
        },
        ..AlertRule::monitor_down(id("api"), 1, 1, "P1".to_owned())
    };
    let mut rules = RuleSet::new(vec![Arc::new(rule)]);
    rules.monitor_labels.insert(
        id("api"),
        [("team".to_owned(), "payments".to_owned())].into(),
    );
    let (mut alerts, _) = Alerts::new(&rules, &monitors(), vec![], at(0));
    let changes = feed(
        &mut alerts,
        &[
            up(0),
            down(10),
            down(20),
            down(30),
            down(40),
            up(50),
            up(60),
            up(70),
        ],
    );
    assert_eq!(
        changes,
        [
            (ended(20), Transition::Pending),
            (ended(40), Transition::Fired),
            (ended(70), Transition::Resolved)
        ]
    );
    let (labels, _) = alerts.views()[0];
    assert_eq!(labels["alertname"], "ApiErrors");
    assert_eq!(labels["monitor"], "api");
    assert_eq!(labels["component"], "edge");
    assert_eq!(labels["severity"], "P1");
    assert_eq!(labels["team"], "payments", "the monitor's own labels");
}

#[test]
fn results_of_a_monitor_without_alerts_change_nothing() {
    let (mut alerts, _) = Alerts::new(&threshold(), &monitors(), vec![], at(0));
    let mut changes = Vec::new();
    for second in [0, 10, 20, 30] {
        alerts.record(
            &result("db", at(second)).down("refused").build(),
            &mut changes,
        );
    }
    assert!(changes.is_empty());
}

#[test]
fn an_alert_resolved_by_hand_says_who_and_fires_again_if_its_rule_still_holds() {
    use crate::input::ManualResolution;
    let (mut alerts, _) = Alerts::new(&threshold(), &monitors(), vec![], at(0));
    assert_eq!(
        alerts.resolve_by_hand("nope", "alice", at(1)).unwrap_err(),
        ManualResolution::Unknown
    );
    let fired = feed(&mut alerts, &[down(0), down(10), down(20)]);
    assert_eq!(fired, [(ended(20), Transition::Fired)]);
    let fingerprint = alerts.views()[0].0.clone();
    let fingerprint = watchkeeper_domain::alert::fingerprint::fingerprint(&fingerprint);
    let change = alerts
        .resolve_by_hand(&fingerprint, "alice", at(25))
        .unwrap();
    assert_eq!(change.transition, Transition::Resolved);
    assert_eq!(change.reason.as_deref(), Some("resolved by hand by alice"));
    assert_eq!(change.state.phase, AlertPhase::Resolved);
    assert_eq!(
        alerts
            .resolve_by_hand(&fingerprint, "alice", at(26))
            .unwrap_err(),
        ManualResolution::NotFiring
    );
    // Still failing: the next result fires it again.
    assert_eq!(
        feed(&mut alerts, &[down(30)]),
        [(ended(30), Transition::Fired)]
    );
}
