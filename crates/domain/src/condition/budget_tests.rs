//! Tests of what a condition may cost: the worst-case check at load (the
//! adversarial trial's conditions are refused with their reasons, everyday
//! ones fit a 1 MiB body), the runtime budget (an evaluation that spends it
//! stops and says so), that metering changes no verdict, and which
//! judgements stay on the async runtime.

use std::time::Duration;

use cel::Value;

use crate::condition::meter::{self, Budget, Meter};
use crate::condition::{Condition, judge, judge_within, judges_quickly};
use crate::health::Health;
use crate::monitor::{AnswerLimit, ProbeKind};
use crate::observation::{HttpObservation, Observation, ObservationDetail};

fn compile(source: &str) -> Condition {
    Condition::compile(source, ProbeKind::Http).unwrap()
}

fn http(body: &str) -> Observation {
    Observation {
        latency: Duration::from_millis(10),
        detail: ObservationDetail::Http(HttpObservation {
            status: 200,
            headers: vec![("x-cache".to_owned(), "HIT".to_owned())],
            body: body.as_bytes().to_vec(),
            cert_expires_in: None,
            final_url: "http://127.0.0.1/health".to_owned(),
        }),
    }
}

/// `[1,1,…]` with `count` elements.
fn ones(count: usize) -> String {
    format!("[{}]", vec!["1"; count].join(","))
}

const DEFAULT_HTTP: AnswerLimit = ProbeKind::Http.default_answer_limit();

#[test]
fn everyday_conditions_fit_a_one_mebibyte_body() {
    for source in [
        "status == 200",
        "status >= 200 && status < 400",
        r#"json.status == "ok""#,
        r#"json.checks.all(c, c.status == "pass" && c.latency < 100)"#,
        "json.items.exists(i, i.id == 3)",
        "json.items.exists_one(i, i.primary)",
        "json.items.map(i, i.id).size() > 0",
        "json.items.filter(i, i.bad).size() == 0",
        r#"json.checks.all(c, c.name.contains("db"))"#,
        r#"body.contains("ok") && !body.matches("(?i)error")"#,
        r#"headers["x-cache"] == "HIT""#,
        r#"latency < duration("2s")"#,
        r#"cert.expires_in > duration("336h")"#,
        r#"size(json.data) > 0 && json.data[0].version == "1.2""#,
    ] {
        let condition = compile(source);
        assert!(
            condition.check_cost(DEFAULT_HTTP).is_ok(),
            "{source}: {:?}",
            condition.worst_case(DEFAULT_HTTP.bytes)
        );
    }
}

#[test]
fn a_triple_loop_over_literal_lists_is_refused_whatever_the_answer() {
    let list = ones(3000);
    let source = format!("{list}.all(x, {list}.all(y, {list}.all(z, true)))");
    let error = compile(&source).check_cost(DEFAULT_HTTP).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "\"{}…\" (18034 bytes) is too expensive to evaluate: it can take 189 billion \
             steps, and a condition may take at most 10 million (about half a second), \
             whatever the answer",
            &source[..120]
        )
    );
}

#[test]
fn a_loop_inside_a_loop_over_the_body_is_refused_with_the_body_limit_that_fits() {
    let error = compile("json.all(a, json.all(b, b == a))")
        .check_cost(DEFAULT_HTTP)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "\"json.all(a, json.all(b, b == a))\" is too expensive to evaluate: on an answer of \
         up to 1 MiB (`body_limit`) it can take 1.9 trillion steps, and a condition may \
         take at most 10 million (about half a second); it fits with `body_limit` up to 2 KiB"
    );
    // and with that limit it is accepted
    let fits = AnswerLimit {
        bytes: 2048,
        key: Some("body_limit"),
    };
    assert!(
        compile("json.all(a, json.all(b, b == a))")
            .check_cost(fits)
            .is_ok()
    );
}

#[test]
fn building_a_huge_list_is_refused_for_its_memory() {
    let list = ones(1500);
    let source = format!("{list}.map(x, {list}).size() > 0");
    let condition = compile(&source);
    let worst = condition.worst_case(DEFAULT_HTTP.bytes);
    assert!(worst.steps < super::STEP_LIMIT, "{worst:?}");
    let error = condition.check_cost(DEFAULT_HTTP).unwrap_err().to_string();
    assert!(
        error.ends_with(
            "is too expensive to evaluate: it can allocate 138 MiB, and a condition may \
             allocate at most 64 MiB, whatever the answer"
        ),
        "{error}"
    );
}

#[test]
fn a_hostile_body_cannot_outlast_the_runtime_budget() {
    // accepted for a small body limit, then a target sends more: the
    // runtime budget stops it (1,200 × 1,200 iterations of 9 nodes each
    // would be 13 million steps)
    let condition = compile("json.all(a, json.all(b, b == a))");
    let verdict = judge(std::slice::from_ref(&condition), &[], &http(&ones(1200)));
    assert_eq!(verdict.health, Health::Down);
    assert_eq!(
        verdict.reason.as_deref(),
        Some(
            "json.all(a, json.all(b, b == a)) was stopped: evaluating it took more than \
             its budget of 10 million steps"
        )
    );
}

#[test]
fn a_small_budget_stops_an_evaluation_that_a_large_one_finishes() {
    let condition = compile("json.items.all(i, i > 0)");
    let body = format!(r#"{{"items": [{}]}}"#, vec!["1"; 1000].join(","));
    let observation = http(&body);
    let small = judge_within(
        std::slice::from_ref(&condition),
        &[],
        &observation,
        Budget { steps: 500 },
    );
    assert_eq!(small.health, Health::Down);
    assert_eq!(
        small.reason.as_deref(),
        Some(
            "json.items.all(i, i > 0) was stopped: evaluating it took more than its budget of 500 steps"
        )
    );
    let large = judge(std::slice::from_ref(&condition), &[], &observation);
    assert_eq!(large.health, Health::Up, "{:?}", large.reason);
}

#[test]
fn a_degraded_if_condition_that_spends_its_budget_fails_the_probe() {
    let degraded_if = compile("json.exists(x, x > 5)");
    let observation = http(&ones(1000));
    let verdict = judge_within(
        &[compile("status == 200")],
        std::slice::from_ref(&degraded_if),
        &observation,
        Budget { steps: 100 },
    );
    assert_eq!(verdict.health, Health::Down);
    assert!(
        verdict
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("was stopped")),
        "{verdict:?}"
    );
    let verdict = judge(&[compile("status == 200")], &[degraded_if], &observation);
    assert_eq!(verdict.health, Health::Up, "{verdict:?}");
}

#[test]
fn metered_loops_evaluate_exactly_as_written() {
    let body = r#"{"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3}],
                   "tags": {"a": 1, "b": 2}, "n": [3, 1, 2]}"#;
    let observation = http(body);
    let sources = [
        "json.items.all(i, i.ok)",
        "json.items.exists(i, i.id == 2)",
        "json.items.exists_one(i, i.id > 2)",
        "json.items.map(i, i.id) == [1, 2, 3]",
        "json.items.map(i, i.id > 1, i.id) == [2, 3]",
        "json.items.filter(i, has(i.ok)).size() == 2",
        "json.tags.all(k, k in ['a', 'b'])",
        "json.n.map(x, json.n.filter(y, y < x).size()) == [2, 0, 1]",
        "json.n.exists(x, json.n.all(y, y <= x))",
        "json.items.all(i, i.ok == true || i.missing)",
        "[1, 2, 3].map(x, x * 2).exists(y, y == 6)",
    ];
    for source in sources {
        let condition = compile(source);
        let metered = condition.0.metered.as_ref().expect("every one has a loop");
        let bindings = crate::condition_context::build(
            &observation,
            condition.0.schema,
            condition.0.variables,
            true,
        );
        bindings.start(Budget::default());
        let plain = Value::resolve(condition.program().expression(), &bindings.context);
        let with_meter = Value::resolve(metered, &bindings.context);
        assert_eq!(plain, with_meter, "{source}");
        assert!(!bindings.exceeded(), "{source}");
    }
}

#[test]
fn a_condition_without_a_loop_is_not_rewritten() {
    assert!(
        compile(r#"json.status == "ok" && status == 200"#)
            .0
            .metered
            .is_none()
    );
    assert!(meter::instrument(compile("status == 200").program().expression()).is_none());
}

#[test]
fn the_meter_fails_once_its_budget_is_spent() {
    let meter = Meter::default();
    meter.start(Budget { steps: 10 });
    let mut context = cel::Context::default();
    let shared = std::sync::Arc::new(meter);
    meter::register(&mut context, &shared);
    // the tick cannot be written in a condition, so call it through a
    // parsed call renamed to it
    let call = |steps: i64| {
        let mut expression = cel::Program::compile(&format!("f({steps})"))
            .unwrap()
            .expression()
            .clone();
        if let cel::common::ast::Expr::Call(call) = &mut expression.expr {
            call.func_name = meter::TICK.to_owned();
        }
        Value::resolve(&expression, &context)
    };
    assert_eq!(call(6), Ok(Value::Bool(true)));
    assert!(!shared.exceeded());
    assert!(call(6).is_err());
    assert!(shared.exceeded());
    shared.start(Budget { steps: 10 });
    assert!(!shared.exceeded());
    assert_eq!(call(10), Ok(Value::Bool(true)));
}

#[test]
fn only_cheap_judgements_stay_on_the_async_runtime() {
    let status = [compile("status == 200")];
    let json = [compile(r#"json.status == "ok""#)];
    let scan = [compile("json.items.all(i, i.ok)")];
    let small = http(r#"{"status": "ok", "items": []}"#);
    let large = http(&" ".repeat(1 << 20));
    assert!(judges_quickly(&status, &[], &large));
    assert!(judges_quickly(&json, &[], &small));
    assert!(!judges_quickly(&json, &[], &large));
    assert!(judges_quickly(&scan, &[], &small));
    assert!(!judges_quickly(&scan, &[], &http(&" ".repeat(64 * 1024))));
    assert!(!judges_quickly(&status, &scan, &large));
    let heavy = [compile(&format!("{}.all(x, true)", ones(3000)))];
    assert!(!judges_quickly(&heavy, &[], &small));
}

#[test]
fn an_error_quotes_a_huge_expression_cut() {
    let source = format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000));
    let error = Condition::compile(&source, ProbeKind::Http)
        .unwrap_err()
        .to_string();
    assert!(error.len() < 400, "{} bytes: {error}", error.len());
    assert!(
        error.starts_with("invalid CEL expression \"((((("),
        "{error}"
    );
    assert!(error.contains("…\" (40001 bytes)"), "{error}");
}
