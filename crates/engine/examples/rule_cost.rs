//! What an alert rule costs the recorder per result, measured in-process
//! and without the noise of a fleet: the evaluation `engine::alerts` does
//! on every result (each alert's window updated, its rule judged, its state
//! stepped), for N monitors with no alert, each monitor's own alert, and
//! its own alert plus one CEL `[[alert]]` (`error_rate > 0.05 && samples >=
//! 3` over 1 min, as bench/alert_cost.py configures), fed results at 10 s
//! with 5 % of the monitors failing. Prints a table of CPU time per result
//! (median of several runs). Run by bench/rule_cost.sh:
//!
//! ```sh
//! cargo run --release -p watchkeeper-engine --example rule_cost -- [MONITORS] [ROUNDS] [RUNS]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use watchkeeper_domain::alert::variables::SCHEMA;
use watchkeeper_domain::alert::{AlertRule, RuleCheck, RuleSet, Timing};
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::condition::Condition;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_engine::alerts::Alerts;
use watchkeeper_testkit::monitor;

fn result(monitor: &MonitorId, second: i64, failing: bool) -> CheckResult {
    let at = Timestamp::from_second(1_800_000_000 + second).unwrap();
    CheckResult {
        monitor: monitor.clone(),
        due_at: at,
        started_at: at,
        latency: Duration::from_millis(3),
        evaluation: Duration::ZERO,
        health: if failing { Health::Down } else { Health::Up },
        reason: failing.then(|| "status == 200 failed: status was 500".to_owned()),
        fallback: None,
    }
}

fn rules(ids: &[MonitorId], variant: &str) -> RuleSet {
    let mut rules = Vec::new();
    if variant != "none" {
        for id in ids {
            rules.push(Arc::new(AlertRule::monitor_down(
                id.clone(),
                3,
                2,
                "P2".to_owned(),
            )));
        }
    }
    if variant == "rule" {
        let when = Condition::compile("error_rate > 0.05 && samples >= 3", &SCHEMA).unwrap();
        for id in ids {
            rules.push(Arc::new(AlertRule {
                name: format!("errors-{id}"),
                monitors: vec![id.clone()],
                window: Duration::from_secs(60),
                check: RuleCheck::When(when.clone()),
                timing: Timing::default(),
                severity: "P2".to_owned(),
                labels: Default::default(),
                annotations: Default::default(),
                runbook: None,
                degraded_fails: false,
            }));
        }
    }
    RuleSet::new(rules)
}

/// CPU time per result over `rounds` results of every monitor.
fn run(monitors: usize, rounds: i64, variant: &str) -> f64 {
    let ids: Vec<MonitorId> = (0..monitors)
        .map(|n| MonitorId::parse(&format!("m{n}")).unwrap())
        .collect();
    let specs: Vec<Arc<MonitorSpec>> = ids.iter().map(|id| monitor(id.as_str()).arc()).collect();
    let (mut alerts, _) = Alerts::new(
        &rules(&ids, variant),
        &specs,
        Vec::new(),
        Timestamp::from_second(1_800_000_000).unwrap(),
    );
    let results: Vec<Vec<CheckResult>> = (0..rounds)
        .map(|round| {
            ids.iter()
                .enumerate()
                .map(|(n, id)| result(id, round * 10, n % 20 == 0))
                .collect()
        })
        .collect();
    let mut changes = Vec::new();
    let started = Instant::now();
    for round in &results {
        for result in round {
            alerts.record(result, &mut changes);
        }
        changes.clear();
    }
    started.elapsed().as_secs_f64() * 1e6 / (monitors as f64 * rounds as f64)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let monitors = args.first().copied().unwrap_or(10_000);
    let rounds = args.get(1).copied().unwrap_or(60) as i64;
    let runs = args.get(2).copied().unwrap_or(7);
    println!("{monitors} monitors, {rounds} results each, median of {runs} runs");
    println!();
    println!("| alerts | CPU per result | against none |");
    println!("|---|---|---|");
    let none = median((0..runs).map(|_| run(monitors, rounds, "none")).collect());
    for variant in ["none", "own", "rule"] {
        let us = if variant == "none" {
            none
        } else {
            median((0..runs).map(|_| run(monitors, rounds, variant)).collect())
        };
        println!("| {variant} | {us:.2} µs | {:+.2} µs |", us - none);
    }
}
