//! A condition's worst case is checked at load against the monitor's own
//! answer limit: the adversarial trial's conditions are refused with their
//! position, and the same condition passes once the limit is small enough.

use crate::support::{assert_error, load, monitor};

#[test]
fn a_triple_loop_over_a_long_literal_is_refused_at_its_position() {
    let list = format!("[{}]", vec!["1"; 3000].join(","));
    let text = monitor(&format!(
        "http = {{ url = \"http://127.0.0.1/\" }}\nexpect = ['{list}.all(x, {list}.all(y, {list}.all(z, true)))']"
    ));
    let error = crate::support::errors(&text);
    assert!(
        error.starts_with("watchkeeper.toml:4:11: \"[1,1,1,"),
        "{error}"
    );
    assert!(
        error.ends_with(
            "…\" (18034 bytes) is too expensive to evaluate: it can take 189 billion steps, \
             and a condition may take at most 10 million (about half a second), whatever the answer"
        ),
        "{error}"
    );
    assert!(error.len() < 400, "{} bytes", error.len());
}

#[test]
fn a_loop_in_a_loop_over_the_body_names_the_body_limit_that_fits() {
    let condition = "expect = ['json.all(a, json.all(b, b == a))']";
    assert_error(
        &monitor(&format!(
            "http = {{ url = \"http://127.0.0.1/\" }}\n{condition}"
        )),
        "watchkeeper.toml:4:11: \"json.all(a, json.all(b, b == a))\" is too expensive to evaluate: \
         on an answer of up to 1 MiB (`body_limit`) it can take 1.9 trillion steps, and a \
         condition may take at most 10 million (about half a second); it fits with \
         `body_limit` up to 2 KiB",
    );
    let small = monitor(&format!(
        "http = {{ url = \"http://127.0.0.1/\", body_limit = \"2KiB\" }}\n{condition}"
    ));
    assert!(load(&small).is_ok());
}

#[test]
fn a_commands_output_limit_bounds_its_conditions() {
    assert_error(
        &monitor("command = { argv = [\"true\"] }\nexpect = ['json.all(a, json.all(b, true))']"),
        "watchkeeper.toml:4:11: \"json.all(a, json.all(b, true))\" is too expensive to evaluate: \
         on an answer of up to 64 KiB (`output_limit`) it can take 5.4 billion steps, and a \
         condition may take at most 10 million (about half a second); it fits with \
         `output_limit` up to 2 KiB",
    );
}

#[test]
fn a_20000_deep_expression_is_refused_in_one_short_line() {
    let deep = format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000));
    let error = crate::support::errors(&monitor(&format!(
        "http = {{ url = \"http://127.0.0.1/\" }}\nexpect = ['{deep} == 1']"
    )));
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.len() < 400, "{} bytes: {error}", error.len());
    assert!(
        error.ends_with(
            "(40006 bytes): it nests brackets and conditionals more than 64 deep; split it into several conditions"
        ),
        "{error}"
    );
}
