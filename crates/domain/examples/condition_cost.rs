//! How estimated steps relate to time: for costly conditions on large
//! answers, the estimate on the answer's actual size, the measured time of
//! one `judge`, and the nanoseconds per estimated step; then how long the
//! runtime budget lets a runaway evaluation run before it is stopped.
//!
//! ```text
//! cargo run --release -p watchkeeper-domain --example condition_cost
//! ```

// A measuring program: a panic is a failed run, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use watchkeeper_domain::condition::cost::{MEMORY_LIMIT, STEP_LIMIT};
use watchkeeper_domain::condition::{Condition, judge};
use watchkeeper_domain::monitor::ProbeKind;
use watchkeeper_domain::observation::{HttpObservation, Observation, ObservationDetail};

fn http(body: String) -> Observation {
    Observation {
        latency: Duration::from_millis(12),
        detail: ObservationDetail::Http(HttpObservation {
            status: 200,
            headers: Vec::new(),
            body: body.into_bytes(),
            cert_expires_in: None,
            final_url: "http://127.0.0.1/".to_owned(),
        }),
    }
}

fn ones(count: usize) -> String {
    format!("[{}]", vec!["1"; count].join(","))
}

fn median(rounds: usize, mut call: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let items = format!(
        r#"{{"items":[{}]}}"#,
        (0..50_000)
            .map(|i| format!(r#"{{"id":{i},"ok":true,"name":"item-{i}"}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let text = "ok ".repeat(300_000);
    let cases: Vec<(&str, String)> = vec![
        ("json.all(x, x == 1)", ones(450_000)),
        ("json.items.all(i, i.ok)", items.clone()),
        ("json.items.map(i, i.id).size() > 0", items.clone()),
        (r#"json.items.exists(i, i.name == "none")"#, items.clone()),
        (r#"json.items.all(i, i.name.contains("item"))"#, items),
        (r#"!body.contains("error")"#, text.clone()),
        (r#"!body.matches("(?i)error|fail")"#, text),
        ("json.all(a, json.all(b, b == a))", ones(1000)),
    ];
    println!(
        "limits: {STEP_LIMIT} steps, {} MiB\n",
        MEMORY_LIMIT / 1024.0 / 1024.0
    );
    println!(
        "| condition | answer bytes | estimated steps on it | median time | ns per estimated step | worst case on 1 MiB |"
    );
    println!("|---|---|---|---|---|---|");
    for (source, body) in cases {
        let condition = Condition::compile(source, ProbeKind::Http).unwrap();
        let steps = condition.worst_case(body.len() as u64).steps;
        let worst = condition.worst_case(1 << 20).steps;
        let observation = http(body);
        let expect = [condition];
        let time = median(5, || {
            std::hint::black_box(judge(&expect, &[], &observation));
        });
        println!(
            "| `{source}` | {} | {steps:.0} | {time:.1?} | {:.1} | {worst:.3e} |",
            observation.answer_len(),
            time.as_nanos() as f64 / steps
        );
    }
    // a runaway evaluation: 1,200 × 1,200 iterations, stopped by the budget
    let condition =
        Condition::compile("json.all(a, json.all(b, b == a))", ProbeKind::Http).unwrap();
    let observation = http(ones(1200));
    let expect = [condition];
    let mut reason = None;
    let time = median(5, || {
        reason = judge(&expect, &[], &observation).reason;
    });
    println!("\nstopped by the runtime budget after {time:.1?}: {reason:?}");
}
