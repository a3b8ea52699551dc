//! Tests of conditions: what they say when they fail, match or cannot be
//! evaluated (insta snapshots, one per probe area, each line a condition and
//! its verdict), what compiling refuses, and how `judge` orders down and
//! degraded.

use std::fmt::Write as _;
use std::time::Duration;

use crate::condition::{Condition, ConditionError, Verdict, judge, render};
use crate::health::Health;
use crate::monitor::ProbeKind;
use crate::observation::{
    CommandObservation, DnsObservation, HttpObservation, Observation, ObservationDetail,
    TcpObservation,
};

fn http(status: u16, headers: &[(&str, &str)], body: &str) -> Observation {
    Observation {
        latency: Duration::from_millis(1204),
        detail: ObservationDetail::Http(HttpObservation {
            status,
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
            cert_expires_in: None,
            final_url: "https://status.example.com/health".to_owned(),
        }),
    }
}

fn https(expires_in: jiff::SignedDuration) -> Observation {
    let mut observation = http(200, &[], "ok");
    if let ObservationDetail::Http(detail) = &mut observation.detail {
        detail.cert_expires_in = Some(expires_in);
    }
    observation
}

fn tcp(received: Option<&str>) -> Observation {
    Observation {
        latency: Duration::from_micros(850),
        detail: ObservationDetail::Tcp(TcpObservation {
            received: received.map(|text| text.as_bytes().to_vec()),
        }),
    }
}

fn dns(answers: &[&str]) -> Observation {
    Observation {
        latency: Duration::from_millis(12),
        detail: ObservationDetail::Dns(DnsObservation {
            answers: answers.iter().map(|answer| (*answer).to_owned()).collect(),
        }),
    }
}

fn command(exit_code: Option<i32>, stdout: &str, stderr: &str) -> Observation {
    Observation {
        latency: Duration::from_millis(2500),
        detail: ObservationDetail::Command(CommandObservation {
            exit_code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }),
    }
}

fn kind_of(observation: &Observation) -> ProbeKind {
    match observation.detail {
        ObservationDetail::Http(_) => ProbeKind::Http,
        ObservationDetail::Tcp(_) => ProbeKind::Tcp,
        ObservationDetail::Dns(_) => ProbeKind::Dns,
        ObservationDetail::Command(_) => ProbeKind::Command,
    }
}

fn compile(source: &str, kind: ProbeKind) -> Condition {
    match Condition::compile(source, kind) {
        Ok(condition) => condition,
        Err(error) => panic!("{source} should compile: {error}"),
    }
}

/// One line per condition, judged as the only `expect` of the observation:
/// `up`, or `down: <reason>`.
fn expect_table(observation: &Observation, sources: &[&str]) -> String {
    let mut table = String::new();
    for source in sources {
        let condition = compile(source, kind_of(observation));
        let verdict = judge(std::slice::from_ref(&condition), &[], observation);
        let _ = writeln!(table, "{}", line(&verdict));
    }
    table
}

fn line(verdict: &Verdict) -> String {
    match &verdict.reason {
        Some(reason) => format!("{}: {reason}", verdict.health),
        None => verdict.health.to_string(),
    }
}

#[test]
fn http_status_failures_name_the_status() {
    insta::assert_snapshot!(expect_table(
        &http(503, &[], "Service Unavailable"),
        &[
            "status == 200",
            "status in [200, 204]",
            "status >= 200 && status < 300",
            "status == 200 || status == 204",
            "!(status >= 500)",
            "status == 503",
        ],
    ));
}

#[test]
fn http_json_failures_name_the_failing_field_only() {
    insta::assert_snapshot!(expect_table(
        &http(
            200,
            &[],
            r#"{"status":"degraded","checks":{"db":"ok","cache":"slow"},"items":[1,2],"count":2,"ok":true}"#
        ),
        &[
            r#"json.status == "ok""#,
            r#"status == 200 && json.status == "ok""#,
            r#"status == 200 && json.checks.db == "ok" && json.checks.cache == "ok""#,
            "json.count > 2",
            "size(json.items) >= 3",
            "json.ok",
            r#"json.data.version == "2""#,
            "json.items[5] == 1",
            r#"json.status.code == "x""#,
            r#"has(json.status) && json.status == "ok""#,
        ],
    ));
}

#[test]
fn http_json_on_a_body_that_is_not_json_keeps_the_parse_error() {
    insta::assert_snapshot!(expect_table(
        &http(502, &[], "<html>Bad Gateway</html>"),
        &[
            r#"json.status == "ok""#,
            r#"status == 200 && json.status == "ok""#,
            r#"has(json.status)"#,
        ],
    ));
}

#[test]
fn http_headers_show_their_value_or_that_they_are_missing() {
    insta::assert_snapshot!(expect_table(
        &http(
            200,
            &[
                ("x-cache", "MISS"),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2")
            ],
            "ok"
        ),
        &[
            r#"headers["x-cache"] == "HIT""#,
            r#"headers["x-served-by"] == "edge-1""#,
            r#"headers["set-cookie"].contains("c=3")"#,
            r#""x-request-id" in headers"#,
        ],
    ));
}

#[test]
fn http_body_is_shown_cut_when_long() {
    let long = format!("<html>{}</html>", "all systems nominal; ".repeat(200));
    let mut table = expect_table(
        &http(200, &[], "maintenance in progress"),
        &[r#"body.contains("ok")"#, r#"!body.contains("maintenance")"#],
    );
    table.push_str(&expect_table(
        &http(200, &[], &long),
        &[r#"body.contains("degraded")"#],
    ));
    insta::assert_snapshot!(table);
}

#[test]
fn http_latency_and_cert_show_durations() {
    let mut table = expect_table(
        &http(200, &[], "ok"),
        &[
            r#"latency < duration("500ms")"#,
            r#"cert.expires_in > duration("336h")"#,
            r#"url.startsWith("https://status.")"#,
        ],
    );
    table.push_str(&expect_table(
        &https(jiff::SignedDuration::from_hours(72)),
        &[r#"cert.expires_in > duration("336h")"#],
    ));
    table.push_str(&expect_table(
        &https(jiff::SignedDuration::from_secs(-90 * 60)),
        &[r#"cert.expires_in > duration("0s")"#],
    ));
    insta::assert_snapshot!(table);
}

#[test]
fn tcp_received_is_shown() {
    insta::assert_snapshot!(expect_table(
        &tcp(Some("-ERR unknown command\r\n")),
        &[
            r#"received.startsWith("+PONG")"#,
            r#"received == "+PONG\r\n" && latency < duration("1ms")"#,
        ],
    ));
}

#[test]
fn dns_answers_are_shown_as_a_list() {
    let mut table = expect_table(
        &dns(&[]),
        &["size(answers) > 0", r#"answers[0] == "10.0.0.1""#],
    );
    table.push_str(&expect_table(
        &dns(&["10.0.0.2", "10.0.0.3"]),
        &[
            r#""10.0.0.1" in answers"#,
            r#"answers.exists(a, a.startsWith("192.168."))"#,
            r#"answers.all(a, a.startsWith("10."))"#,
        ],
    ));
    insta::assert_snapshot!(table);
}

#[test]
fn command_output_and_exit_code_are_shown() {
    let mut table = expect_table(
        &command(Some(2), "", "pg_isready: no response\n"),
        &[
            "exit_code == 0",
            r#"exit_code == 0 && stderr == """#,
            r#"json.healthy == true"#,
        ],
    );
    table.push_str(&expect_table(
        &command(None, r#"{"healthy":false,"replicas":1}"#, ""),
        &[
            "exit_code == 0",
            "json.healthy && json.replicas >= 2",
            r#"stdout.contains("\"healthy\":true")"#,
        ],
    ));
    insta::assert_snapshot!(table);
}

#[test]
fn results_that_are_not_booleans_or_errors_say_so() {
    insta::assert_snapshot!(expect_table(
        &http(200, &[], r#"{"count":"3"}"#),
        &[
            "json.count",
            "json.count > 2",
            "status > \"200\"",
            "status / 0 == 1",
            "int(json.count) == 3",
        ],
    ));
}

#[test]
fn degraded_matches_name_the_values_that_matched() {
    let observation = http(
        200,
        &[("x-cache", "MISS")],
        r#"{"status":"ok","queue":950}"#,
    );
    let expect = [compile("status == 200", ProbeKind::Http)];
    let mut table = String::new();
    for source in [
        r#"latency > duration("1s")"#,
        r#"json.queue > 900 && headers["x-cache"] == "MISS""#,
        r#"json.queue > 5000 || latency > duration("1s")"#,
        r#"!(json.status == "ok" && json.queue < 100)"#,
    ] {
        let degraded = [compile(source, ProbeKind::Http)];
        let _ = writeln!(table, "{}", line(&judge(&expect, &degraded, &observation)));
    }
    insta::assert_snapshot!(table);
}

#[test]
fn judge_is_down_when_expect_fails_even_if_degraded_matches() {
    let observation = http(503, &[], "busy");
    let expect = [compile("status == 200", ProbeKind::Http)];
    let degraded = [compile(r#"body == "busy""#, ProbeKind::Http)];
    let verdict = judge(&expect, &degraded, &observation);
    assert_eq!(verdict.health, Health::Down);
    assert_eq!(
        verdict.reason.as_deref(),
        Some("status == 200 failed: status was 503")
    );
}

#[test]
fn judge_is_degraded_when_every_expect_holds_and_a_degraded_condition_matches() {
    let observation = http(200, &[], "busy");
    let expect = [
        compile("status == 200", ProbeKind::Http),
        compile(r#"body != """#, ProbeKind::Http),
    ];
    let degraded = [
        compile(r#"body == "idle""#, ProbeKind::Http),
        compile(r#"body == "busy""#, ProbeKind::Http),
    ];
    let verdict = judge(&expect, &degraded, &observation);
    assert_eq!(verdict.health, Health::Degraded);
    assert_eq!(
        verdict.reason.as_deref(),
        Some(r#"body == "busy" matched: body was "busy""#)
    );
}

#[test]
fn judge_is_up_when_expect_holds_and_no_degraded_condition_matches() {
    let observation = http(200, &[], "fine");
    let expect = [compile("status == 200", ProbeKind::Http)];
    let degraded = [
        compile(r#"body == "busy""#, ProbeKind::Http),
        compile(r#"json != null && json.state == "busy""#, ProbeKind::Http),
    ];
    let verdict = judge(&expect, &degraded, &observation);
    assert_eq!(
        verdict,
        Verdict {
            health: Health::Up,
            reason: None
        }
    );
    assert_eq!(judge(&[], &[], &observation).health, Health::Up);
}

/// A certificate check on a plain-HTTP URL cannot run: reported, not taken
/// for "not degraded", so the wrong URL does not look healthy.
#[test]
fn a_degraded_if_condition_that_cannot_be_evaluated_is_reported() {
    let observation = http(200, &[], "fine");
    let expect = [compile("status == 200", ProbeKind::Http)];
    let degraded = [compile(
        r#"cert.expires_in < duration("336h")"#,
        ProbeKind::Http,
    )];
    assert_eq!(
        judge(&expect, &degraded, &observation),
        Verdict {
            health: Health::Degraded,
            reason: Some(
                r#"cert.expires_in < duration("336h") could not be evaluated: cert is null: the target is not HTTPS"#
                    .to_owned()
            )
        }
    );
    let not_json = [compile(r#"json.state == "busy""#, ProbeKind::Http)];
    let verdict = judge(&expect, &not_json, &observation);
    assert_eq!(verdict.health, Health::Degraded);
    assert_eq!(
        verdict.reason.as_deref(),
        Some(
            r#"json.state == "busy" could not be evaluated: the body is not JSON (expected ident at line 1 column 2)"#
        )
    );
    // a result that is not a boolean is reported too
    let text = [compile("json.state", ProbeKind::Http)];
    let verdict = judge(&expect, &text, &http(200, &[], r#"{"state": "idle"}"#));
    assert_eq!(
        verdict.reason.as_deref(),
        Some(r#"json.state did not evaluate to a boolean: it returned "idle""#)
    );
}

#[test]
fn judge_reports_the_first_failing_expect() {
    let observation = http(500, &[], "down");
    let expect = [
        compile("latency < duration(\"10s\")", ProbeKind::Http),
        compile(r#"body == "up""#, ProbeKind::Http),
        compile("status == 200", ProbeKind::Http),
    ];
    let verdict = judge(&expect, &[], &observation);
    assert_eq!(verdict.health, Health::Down);
    assert_eq!(
        verdict.reason.as_deref(),
        Some(r#"body == "up" failed: body was "down""#)
    );
}

fn compile_error(source: &str, kind: ProbeKind) -> ConditionError {
    match Condition::compile(source, kind) {
        Ok(condition) => panic!("{source} should not compile, got {condition:?}"),
        Err(error) => error,
    }
}

#[test]
fn compile_errors_are_readable() {
    let mut table = String::new();
    for (source, kind) in [
        ("status ==", ProbeKind::Http),
        ("status == 200 &&& body", ProbeKind::Http),
        ("json.status == \"ok", ProbeKind::Http),
        ("status == 200 &&\n  json.status ==", ProbeKind::Http),
        ("status == 200 )", ProbeKind::Http),
        ("stauts == 200", ProbeKind::Http),
        ("status == 200", ProbeKind::Tcp),
        ("200", ProbeKind::Http),
        ("\"ok\"", ProbeKind::Http),
        ("body", ProbeKind::Http),
        ("[1, 2]", ProbeKind::Http),
        ("status + 1", ProbeKind::Http),
        ("size(answers)", ProbeKind::Dns),
    ] {
        let _ = writeln!(table, "{}", compile_error(source, kind));
    }
    insta::assert_snapshot!(table);
}

#[test]
fn a_syntax_error_gives_the_character_offset_inside_the_expression() {
    let offset = |source: &str| match compile_error(source, ProbeKind::Http) {
        ConditionError::Syntax { offset, .. } => offset,
        other => panic!("expected a syntax error for {source}, got {other}"),
    };
    assert_eq!(offset("status == 200 &&& body"), Some(16));
    assert_eq!(offset("status ==="), Some(9));
    // characters, not bytes: `é` is two bytes
    assert_eq!(offset(r#"body == "é" &&& true"#), Some(14));
    assert_eq!(offset("status == 200 &&\n  &&& body"), Some(19));
}

#[test]
fn comprehension_variables_and_type_names_are_not_unknown_variables() {
    compile(
        r#"answers.exists(answer, answer.endsWith(".internal."))"#,
        ProbeKind::Dns,
    );
    compile("json.items.all(item, item.ok)", ProbeKind::Command);
    compile("type(status) == int", ProbeKind::Http);
    compile("true", ProbeKind::Http);
    let error = compile_error("answers.exists(a, a == b)", ProbeKind::Dns);
    assert!(
        matches!(&error, ConditionError::UnknownVariable { variable, .. } if variable == "b"),
        "{error}"
    );
}

#[test]
fn conditions_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Condition>();
}

#[test]
fn durations_render_like_cel_duration_strings() {
    let rendered: Vec<String> = [
        chrono::Duration::zero(),
        chrono::Duration::nanoseconds(750),
        chrono::Duration::nanoseconds(1500),
        chrono::Duration::microseconds(1500),
        chrono::Duration::milliseconds(250),
        chrono::Duration::nanoseconds(999_999_900),
        chrono::Duration::milliseconds(1204),
        chrono::Duration::nanoseconds(1_204_381_923),
        chrono::Duration::seconds(185),
        chrono::Duration::hours(72),
        -chrono::Duration::minutes(90),
    ]
    .into_iter()
    .map(render::duration)
    .collect();
    assert_eq!(
        rendered,
        [
            "0s", "750ns", "1.5µs", "1.5ms", "250ms", "1s", "1.204s", "1.204s", "3m5s", "72h0m0s",
            "-1h30m0s"
        ]
    );
}

#[test]
fn values_render_as_cel_literals() {
    use cel::Value;
    let long = "x".repeat(130);
    let cases = [
        (Value::Int(-3), "-3"),
        (Value::UInt(3), "3u"),
        (Value::Float(2.0), "2.0"),
        (Value::Float(0.25), "0.25"),
        (Value::Null, "null"),
        (Value::Bool(false), "false"),
        (Value::from("say \"hi\"\n"), r#""say \"hi\"\n""#),
        (Value::Bytes(vec![b'o', b'k', 0xff].into()), r#"b"ok\xff""#),
        (Value::from(Vec::<String>::new()), "[]"),
        (
            Value::from(long.clone()),
            &*format!("\"{}…\" (130 bytes)", "x".repeat(120)),
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(render::value(&value), expected);
    }
    let many: Vec<i64> = (1..=12).collect();
    assert_eq!(
        render::value(&Value::from(many)),
        "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …] (12 items)"
    );
}
