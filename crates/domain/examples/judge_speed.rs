//! What judging costs for the conditions monitors usually have: the median
//! time of one `judge` call per condition and answer, in a table. Uses only
//! `Condition::compile` and `judge`, so the same file runs on older
//! revisions for a before/after comparison:
//!
//! ```text
//! cargo run --release -p watchkeeper-domain --example judge_speed [CASE]
//! ```
//!
//! With a CASE (e.g. `status`) only that row is measured, which suits
//! `valgrind --tool=callgrind` for an instruction count.

// A measuring program: a panic is a failed run, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use watchkeeper_domain::condition::{Condition, judge};
use watchkeeper_domain::monitor::ProbeKind;
use watchkeeper_domain::observation::{HttpObservation, Observation, ObservationDetail};

fn http(body: &str) -> Observation {
    Observation {
        latency: Duration::from_millis(12),
        detail: ObservationDetail::Http(HttpObservation {
            status: 200,
            headers: vec![
                ("content-type".to_owned(), "application/json".to_owned()),
                ("x-cache".to_owned(), "HIT".to_owned()),
            ],
            body: body.as_bytes().to_vec(),
            cert_expires_in: None,
            final_url: "http://127.0.0.1:9001/health".to_owned(),
        }),
    }
}

/// The median over `rounds` of the mean time of `batch` calls.
fn median_ns(rounds: usize, batch: usize, mut call: impl FnMut()) -> f64 {
    let mut means: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                call();
            }
            start.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    means[rounds / 2]
}

fn main() {
    let health = r#"{"status":"ok","version":"1.4.2","region":"eu-west"}"#;
    let checks = format!(
        r#"{{"status":"ok","checks":[{}]}}"#,
        (0..10)
            .map(|i| format!(r#"{{"name":"c{i}","ok":true}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: [(&str, &[&str], &str); 7] = [
        ("default expect", &["status >= 200 && status < 400"], health),
        ("status", &["status == 200"], health),
        ("json field", &[r#"json.status == "ok""#], health),
        ("header", &[r#"headers["x-cache"] == "HIT""#], health),
        ("body contains", &[r#"body.contains("ok")"#], health),
        ("latency", &[r#"latency < duration("2s")"#], health),
        ("loop over 10", &["json.checks.all(c, c.ok)"], &checks),
    ];
    println!("| case | condition | answer bytes | median ns per judge |");
    println!("|---|---|---|---|");
    let only = std::env::args().nth(1);
    for (name, sources, body) in cases {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let expect: Vec<Condition> = sources
            .iter()
            .map(|source| Condition::compile(source, ProbeKind::Http).unwrap())
            .collect();
        let observation = http(body);
        let verdict = judge(&expect, &[], &observation);
        assert!(verdict.reason.is_none(), "{name}: {verdict:?}");
        let ns = median_ns(9, 20_000, || {
            std::hint::black_box(judge(&expect, &[], std::hint::black_box(&observation)));
        });
        println!(
            "| {name} | `{}` | {} | {ns:.0} |",
            sources.join("`, `"),
            body.len()
        );
    }
}
