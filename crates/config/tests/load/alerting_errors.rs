//! One test per alerting rule: the error text and its exact position.

use crate::support::{assert_error, errors};

/// Two monitors (`db` every 10 s in component `database`, `api` every
/// minute in `api`) and a notifier `hook`, for rules to refer to. Lines 1–16.
const BASE: &str = r#"[[component]]
id = "api"

[[component]]
id = "database"

[[monitor]]
id = "db"
component = "database"
interval = "10s"
tcp = { address = "127.0.0.1:5432" }

[[monitor]]
id = "api"
component = "api"
interval = "1m"
"#;

/// `BASE` plus the api monitor's probe and a notifier; what follows starts
/// on line 22.
fn with(rest: &str) -> String {
    format!(
        "{BASE}tcp = {{ address = \"127.0.0.1:8080\" }}\n\n[[notifier]]\nid = \"hook\"\nwebhook = {{ url = \"http://127.0.0.1:9/\" }}\n{rest}"
    )
}

#[test]
fn alerting_settings_are_checked() {
    assert_eq!(
        errors(
            "[alerting]\nfailure_threshold = 0\nsuccess_threshold = -1\nseverities = [\"P1\", \"P1\", \"bad name\"]\ndefault_severity = \"P9\"\n"
        ),
        "watchkeeper.toml:2:21: `failure_threshold` must be a count of consecutive results from 1 to 100000, not 0\n\
         watchkeeper.toml:3:21: `success_threshold` must be a count of consecutive results from 1 to 100000, not -1\n\
         watchkeeper.toml:4:21: severity `P1` is listed twice\n\
         watchkeeper.toml:4:27: invalid severity \"bad name\": letters, digits, '-' and '_' only, like \"P1\" or \"critical\"\n\
         watchkeeper.toml:5:20: unknown severity `P9`; the severities are P1 ([alerting] severities)"
    );
    assert_error(
        "[alerting]\nseverities = []\n",
        "watchkeeper.toml:2:14: `severities` must list at least one severity, most severe first",
    );
}

#[test]
fn alerting_belongs_in_the_main_file() {
    let scratch = crate::support::Scratch::new(&[
        ("watchkeeper.toml", "include = [\"more.toml\"]\n"),
        ("more.toml", "[alerting]\nfailure_threshold = 2\n"),
    ]);
    let error = scratch.errors("watchkeeper.toml");
    assert!(
        error.starts_with(
            "<dir>/more.toml:1:2: [alerting] belongs in the main config file; an included file may hold only [[component]], [[monitor]], [[alert]], [[slo]], [[route]], [[inhibit]], [[maintenance]], [[notifier]], [[person]], [[schedule]], [[escalation]] and [[incident_template]]"
        ),
        "{error}"
    );
}

#[test]
fn a_monitors_alerting_keys_are_checked() {
    let config = format!(
        "{BASE}tcp = {{ address = \"127.0.0.1:8080\" }}\nseverity = \"P22\"\nlabels = {{ \"1team\" = \"x\", severity = \"P1\" }}\nfailure_threshold = 0\ndepends_on = [\"databse\", \"api\", \"Bad\"]\n"
    );
    assert_eq!(
        errors(&config),
        "watchkeeper.toml:18:12: unknown severity `P22`; the severities are P0, P1, P2, P3 ([alerting] severities)\n\
         watchkeeper.toml:19:12: invalid label name \"1team\" in `labels`: letters, digits and _, not starting with a digit\n\
         watchkeeper.toml:19:27: label `severity` is Watchkeeper's own; use the `severity` key\n\
         watchkeeper.toml:20:21: `failure_threshold` must be a count of consecutive results from 1 to 100000, not 0\n\
         watchkeeper.toml:21:15: unknown monitor or component `databse`; did you mean `database`?\n\
         watchkeeper.toml:21:26: monitor `api` cannot depend on itself\n\
         watchkeeper.toml:21:33: invalid id in `depends_on`: id \"Bad\" may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit"
    );
}

#[test]
fn a_dependency_cycle_is_named_whole() {
    // api → database (its monitor db) → api
    let config =
        format!("{BASE}tcp = {{ address = \"127.0.0.1:8080\" }}\ndepends_on = [\"database\"]\n")
            .replace(
                "interval = \"10s\"\n",
                "interval = \"10s\"\ndepends_on = [\"api\"]\n",
            );
    assert_error(
        &config,
        "watchkeeper.toml:19:15: `depends_on` makes a cycle: db → api → db; a monitor cannot wait for itself",
    );
}

#[test]
fn an_alert_watches_monitors_or_a_component_that_exist() {
    assert_eq!(
        errors(&with(
            "\n[[alert]]\nid = \"a\"\nmonitors = [\"db\"]\ncomponent = \"api\"\nwhen = \"samples > 0\"\n\n\
             [[alert]]\nid = \"b\"\nwhen = \"samples > 0\"\n\n\
             [[alert]]\nid = \"c\"\nmonitors = [\"dbb\", \"db\", \"db\"]\nwhen = \"samples > 0\"\n\n\
             [[alert]]\nid = \"d\"\ncomponent = \"apii\"\nwhen = \"samples > 0\"\n"
        )),
        "watchkeeper.toml:26:13: alert `a` names both `monitors` and `component`; give one of them\n\
         watchkeeper.toml:29:1: alert `b` watches nothing; give `monitors = [...]` or `component = \"...\"`\n\
         watchkeeper.toml:35:13: unknown monitor `dbb`; did you mean `db`?\n\
         watchkeeper.toml:35:26: monitor `db` is listed twice in `monitors`\n\
         watchkeeper.toml:40:13: unknown component `apii`; did you mean `api`?"
    );
}

#[test]
fn a_component_without_monitors_watches_nothing() {
    assert_error(
        &with(
            "\n[[component]]\nid = \"empty\"\n\n[[alert]]\nid = \"a\"\ncomponent = \"empty\"\nwhen = \"samples > 0\"\n",
        ),
        "watchkeeper.toml:28:13: component `empty` has no monitors, so alert `a` would watch nothing",
    );
}

#[test]
fn a_when_over_an_unknown_variable_or_bad_cel_is_refused_at_its_position() {
    assert_eq!(
        errors(&with(
            "\n[[alert]]\nid = \"a\"\nmonitors = [\"db\"]\nwhen = \"availabilty < 0.99\"\n\n\
             [[alert]]\nid = \"b\"\nmonitors = [\"db\"]\nwhen = \"samples >\"\n\n\
             [[alert]]\nid = \"c\"\nmonitors = [\"db\"]\n"
        )),
        "watchkeeper.toml:26:8: unknown variable `availabilty` in \"availabilty < 0.99\"; did you mean `availability`? an alert rule has: samples, availability, error_rate, consecutive_failures, consecutive_successes, avg_latency, p50_latency, p95_latency, p99_latency, last\n\
         watchkeeper.toml:31:8: invalid CEL expression \"samples >\": the expression ends too soon (at column 10)\n\
         watchkeeper.toml:33:1: alert `c` is missing `when`"
    );
}

#[test]
fn a_bad_when_repeated_by_two_rules_is_reported_at_both() {
    // Each distinct `when` is compiled once and shared; its error is not.
    assert_eq!(
        errors(&with(
            "\n[[alert]]\nid = \"a\"\nmonitors = [\"db\"]\nwhen = \"samples >\"\n\n\
             [[alert]]\nid = \"b\"\nmonitors = [\"api\"]\nwhen = \"samples >\"\n"
        )),
        "watchkeeper.toml:26:8: invalid CEL expression \"samples >\": the expression ends too soon (at column 10)\n\
         watchkeeper.toml:31:8: invalid CEL expression \"samples >\": the expression ends too soon (at column 10)"
    );
}

#[test]
fn a_window_fits_between_the_interval_and_the_raw_retention() {
    assert_eq!(
        errors(&with(
            "\n[[alert]]\nid = \"short\"\nmonitors = [\"db\", \"api\"]\nwindow = \"30s\"\nwhen = \"samples > 0\"\n\n\
             [[alert]]\nid = \"long\"\nmonitors = [\"db\"]\nwindow = \"3d\"\nwhen = \"samples > 0\"\n\n\
             [[alert]]\nid = \"zero\"\nmonitors = [\"db\"]\nwindow = \"0s\"\nwhen = \"samples > 0\"\n"
        )),
        "watchkeeper.toml:26:10: `window` 30s is shorter than the interval of monitor `api` (1m); it would hold at most one result of it\n\
         watchkeeper.toml:32:10: `window` 3d is longer than `[storage] raw_retention` (2d); a window is refilled from raw results at start\n\
         watchkeeper.toml:38:10: `window` must be longer than zero"
    );
}

#[test]
fn severities_annotations_labels_and_runbooks_of_an_alert_are_checked() {
    assert_eq!(
        errors(&with(
            "\n[[alert]]\nid = \"a\"\nmonitors = [\"db\"]\nwhen = \"samples > 0\"\nseverity = \"critical\"\n\
             labels = { team = \"payments\", alertname = \"x\" }\n\
             annotations = { summary = \"{{ labels.teem }}\", description = \"{% if %}\" }\n\
             runbook = \"ftp://docs/runbook\"\n"
        )),
        "watchkeeper.toml:27:12: unknown severity `critical`; the severities are P0, P1, P2, P3 ([alerting] severities)\n\
         watchkeeper.toml:28:31: label `alertname` is Watchkeeper's own; it is set on every alert\n\
         watchkeeper.toml:29:27: `annotations.summary` does not render (line 1 of the template): undefined value\n\
         watchkeeper.toml:29:62: `annotations.description` does not render (line 1 of the template): syntax error: unexpected end of block\n\
         watchkeeper.toml:30:11: `runbook` must be an http:// or https:// link, not \"ftp://docs/runbook\""
    );
}

#[test]
fn an_slo_objective_and_period_are_bounded() {
    assert_eq!(
        errors(&with(
            "\n[[slo]]\nid = \"full\"\nmonitors = [\"db\"]\nobjective = \"100%\"\nperiod = \"30d\"\n\n\
             [[slo]]\nid = \"word\"\nmonitors = [\"db\"]\nobjective = \"three nines\"\nperiod = \"1h\"\n\n\
             [[slo]]\nid = \"old\"\nmonitors = [\"db\"]\nobjective = 0.99\nperiod = \"400d\"\n\n\
             [[slo]]\nid = \"none\"\nmonitors = [\"db\"]\n"
        )),
        "watchkeeper.toml:26:13: `objective` must be above 0% and below 100% (an objective of 100% leaves no error budget)\n\
         watchkeeper.toml:32:13: `objective` must be a percentage like \"99.9%\" or a fraction like 0.999, not \"three nines\"\n\
         watchkeeper.toml:39:10: `period` 400d is longer than `[storage] rollup_retention` (90d), so its budget could not be read\n\
         watchkeeper.toml:41:1: slo `none` is missing `objective`\n\
         watchkeeper.toml:41:1: slo `none` is missing `period`"
    );
    assert_error(
        &with(
            "\n[[slo]]\nid = \"short\"\nmonitors = [\"db\"]\nobjective = 0.99\nperiod = \"6h\"\n",
        ),
        "watchkeeper.toml:27:10: `period` 6h is shorter than a day; its burn-rate alerts look back 6 hours, and one bad hour would spend the whole budget",
    );
}

#[test]
fn a_routes_matchers_notifiers_and_grouping_are_checked() {
    assert_eq!(
        errors(&with(
            "\n[[route]]\nmatch = { severity = [\"P1\", \"P7\"], \"bad-name\" = \"x\" }\n\
             matchers = ['team=~\"(pay\"', 'severity=\"P8\"', 'team']\n\
             notify = [\"hoook\"]\ngroup_by = [\"...\", \"team\"]\n\n[[route]]\nmatch = { team = \"x\" }\n"
        )),
        "watchkeeper.toml:24:29: unknown severity `P7`; the severities are P0, P1, P2, P3 ([alerting] severities)\n\
         watchkeeper.toml:24:36: invalid matcher \"bad-name=x\": the label name \"bad-name\" must be letters, digits and _, not starting with a digit\n\
         watchkeeper.toml:25:13: invalid matcher \"team=~(pay\": error: unclosed group\n\
         watchkeeper.toml:25:29: unknown severity `P8`; the severities are P0, P1, P2, P3 ([alerting] severities)\n\
         watchkeeper.toml:25:46: invalid matcher \"team\": expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX\n\
         watchkeeper.toml:26:11: unknown notifier `hoook`; did you mean `hook`?\n\
         watchkeeper.toml:27:12: `group_by = [\"...\"]` groups by every label; it cannot be listed with other labels\n\
         watchkeeper.toml:29:1: [[route]] is missing `notify`, the notifiers it sends to (`notify = []` sends nowhere)"
    );
}

#[test]
fn an_inhibition_selects_something_on_both_sides() {
    assert_eq!(
        errors(
            "[[inhibit]]\nsource = {}\nequal = [\"re-gion\"]\n\n[[inhibit]]\nsource = ['region=\"eu\"']\ntarget = 3\n"
        ),
        "watchkeeper.toml:1:1: [[inhibit]] is missing `target`, the alerts it selects\n\
         watchkeeper.toml:2:10: `source` must have at least one matcher, or it would select every alert\n\
         watchkeeper.toml:3:10: invalid label name \"re-gion\" in `equal`: letters, digits and _, not starting with a digit\n\
         watchkeeper.toml:5:1: [[inhibit]] is missing `target`, the alerts it selects\n\
         watchkeeper.toml:7:10: `target` must be a table of labels ({ alertname = \"region-down\" }) or a list of matchers (['severity=~\"P0|P1\"']), found integer"
    );
}

#[test]
fn a_one_off_window_ends_after_it_starts() {
    assert_error(
        &with(
            "\n[[maintenance]]\nid = \"m\"\nmonitors = [\"db\"]\nstart = \"2026-06-01T04:00:00+02:00\"\nend = \"2026-06-01T02:00:00Z\"\n",
        ),
        "watchkeeper.toml:27:7: `end` \"2026-06-01T02:00:00Z\" is not after `start` \"2026-06-01T04:00:00+02:00\"",
    );
}

#[test]
fn a_recurring_window_lasts_less_than_the_gap_between_occurrences() {
    assert_eq!(
        errors(&with(
            "\n[[maintenance]]\nid = \"zero\"\nmonitors = [\"db\"]\nschedule = \"0 2 * * *\"\nduration = \"0s\"\n\n\
             [[maintenance]]\nid = \"long\"\ncomponents = [\"api\"]\nschedule = \"0 2,22 * * *\"\nduration = \"5h\"\ntime_zone = \"Europe/Berlin\"\n\n\
             [[maintenance]]\nid = \"nowhere\"\nmonitors = [\"db\"]\nschedule = \"0 2 * * *\"\nduration = \"1h\"\ntime_zone = \"Mars/Olympus\"\n"
        )),
        "watchkeeper.toml:27:12: `duration` must be longer than zero\n\
         watchkeeper.toml:33:12: `duration` 5h is longer than the 4h between two occurrences of `schedule` \"0 2,22 * * *\"; each occurrence must end before the next begins\n\
         watchkeeper.toml:41:13: `time_zone`: unknown time zone \"Mars/Olympus\": failed to find time zone `Mars/Olympus` in time zone database"
    );
}

#[test]
fn overlapping_one_off_windows_on_one_monitor_are_refused_naming_both() {
    assert_error(
        &with(
            "\n[[maintenance]]\nid = \"first\"\nmonitors = [\"db\"]\nstart = \"2026-06-01T02:00:00Z\"\nend = \"2026-06-01T04:00:00Z\"\n\n\
             [[maintenance]]\nid = \"apart\"\nmonitors = [\"db\"]\nstart = \"2026-06-01T04:00:00Z\"\nend = \"2026-06-01T05:00:00Z\"\n\n\
             [[maintenance]]\nid = \"second\"\nmonitors = [\"api\", \"db\"]\nstart = \"2026-06-01T03:00:00Z\"\nend = \"2026-06-01T03:30:00Z\"\n",
        ),
        "watchkeeper.toml:38:9: maintenance `second` (2026-06-01T03:00:00Z to 2026-06-01T03:30:00Z) overlaps maintenance `first` (2026-06-01T02:00:00Z to 2026-06-01T04:00:00Z, at watchkeeper.toml:26:9) on monitor `db`; merge them into one window or move one",
    );
}

#[test]
fn a_window_is_one_off_or_recurring_and_covers_something_known() {
    assert_eq!(
        errors(&with(
            "\n[[maintenance]]\nid = \"both\"\nmonitors = [\"dbb\"]\nstart = \"2026-06-01T02:00:00Z\"\nend = \"2026-06-01T04:00:00Z\"\nschedule = \"0 2 * * *\"\nduration = \"1h\"\n\n\
             [[maintenance]]\nid = \"empty\"\nstart = \"tomorrow\"\nend = \"2026-06-01T04:00:00Z\"\n"
        )),
        "watchkeeper.toml:25:13: unknown monitor `dbb`; did you mean `db`?\n\
         watchkeeper.toml:26:9: a window is one-off (`start` and `end`) or recurring (`schedule` and `duration`), not both\n\
         watchkeeper.toml:27:7: a window is one-off (`start` and `end`) or recurring (`schedule` and `duration`), not both\n\
         watchkeeper.toml:31:1: [[maintenance]] covers nothing; give `monitors`, `components` or both\n\
         watchkeeper.toml:33:9: `start` must be an instant with an offset, such as \"2026-06-01T02:00:00Z\" or \"2026-06-01T04:00:00+02:00\", not \"tomorrow\": failed to parse four digit integer as year: invalid digit, expected 0-9 but got t"
    );
}

#[test]
fn a_notifier_has_one_channel_whose_keys_are_its_own() {
    assert_eq!(
        errors(
            "[[notifier]]\nid = \"a\"\nslack = { url = \"http://127.0.0.1/x\", secret = \"whsec_AAAA\" }\n\n\
             [[notifier]]\nid = \"b\"\nslack = { url = \"http://127.0.0.1/x\" }\nteams = { url = \"http://127.0.0.1/y\" }\n\n\
             [[notifier]]\nid = \"c\"\nsend_resolved = true\n\n\
             [[notifier]]\nid = \"d\"\nwebhook = { url = \"http://127.0.0.1/\", secrett = \"x\" }\n"
        ),
        "watchkeeper.toml:3:39: unknown key `secret` in notifier.slack; expected one of: url\n\
         watchkeeper.toml:8:1: notifier `b` has more than one channel (slack and teams); give exactly one of webhook, slack, discord, teams, ntfy, pagerduty, email or command\n\
         watchkeeper.toml:10:1: notifier `c` has no channel; give exactly one of webhook, slack, discord, teams, ntfy, pagerduty, email or command\n\
         watchkeeper.toml:16:40: unknown key `secrett` in notifier.webhook; did you mean `secret`?"
    );
}

#[test]
fn a_webhook_secret_is_standard_webhooks_and_never_shown() {
    assert_eq!(
        errors(
            "[[notifier]]\nid = \"a\"\nwebhook = { url = \"http://127.0.0.1/\", secret = \"s3cr3t-value\" }\n\n\
             [[notifier]]\nid = \"b\"\nwebhook = { url = \"http://127.0.0.1/\", secret = \"whsec_not base64!\", format = \"json\", headers = { webhook-id = \"x\" } }\n"
        ),
        "watchkeeper.toml:3:49: `secret` is not a Standard Webhooks secret (`whsec_` and base64): a Standard Webhooks secret starts with `whsec_` followed by base64\n\
         watchkeeper.toml:7:49: `secret` is not a Standard Webhooks secret (`whsec_` and base64): the secret after `whsec_` is not base64: Invalid symbol 32, offset 3.\n\
         watchkeeper.toml:7:79: unknown `format` \"json\"; expected \"watchkeeper\" or \"alertmanager\"\n\
         watchkeeper.toml:7:99: header `webhook-id` is set by the Standard Webhooks signature; give `secret` instead"
    );
}

#[test]
fn a_notifier_url_error_masks_its_password() {
    assert_eq!(
        errors(
            "[[notifier]]\nid = \"a\"\nwebhook = { url = \"http://user:hunter2@127.0.0.1:99999/\" }\n\n\
             [[notifier]]\nid = \"b\"\nntfy = { url = \"${API_TOKEN}\", priority = 9 }\n"
        ),
        "watchkeeper.toml:3:19: invalid `url` \"http://user:***@127.0.0.1:99999/\": invalid port number\n\
         watchkeeper.toml:7:16: invalid `url` \"${API_TOKEN}\" (its value is not shown): relative URL without a base\n\
         watchkeeper.toml:7:43: `priority` must be from 1 (min) to 5 (max), as ntfy has them, not 9"
    );
}

#[test]
fn an_email_notifier_parses_its_server_and_addresses() {
    assert_eq!(
        errors(
            "[[notifier]]\nid = \"a\"\nemail = { smtp = \"smtp://mail.example.com\", tls = \"none\", username = \"wk\", from = \"not an address\", to = [\"ops@example.com\", \"@nowhere\"] }\n\n\
             [[notifier]]\nid = \"b\"\nemail = { smtp = \"smtps://mail.example.com\", tls = \"starttls\", to = [] }\n\n\
             [[notifier]]\nid = \"c\"\nemail = { smtp = \"http://mail.example.com\", from = \"wk@example.com\", to = [\"ops@example.com\"] }\n"
        ),
        "watchkeeper.toml:3:51: `tls = \"none\"` sends mail and password in clear text; it is allowed only to a loopback server, not mail.example.com\n\
         watchkeeper.toml:3:70: give both `username` and `password` (or `password_file`) for SMTP AUTH, or neither\n\
         watchkeeper.toml:3:83: invalid address \"not an address\" in `from`: Invalid input\n\
         watchkeeper.toml:3:126: invalid address \"@nowhere\" in `to`: Invalid input\n\
         watchkeeper.toml:7:1: the email channel is missing `from`\n\
         watchkeeper.toml:7:52: an smtps:// server speaks TLS from the first byte; use `tls = \"tls\"` or an smtp:// URL\n\
         watchkeeper.toml:7:69: `to` must list at least one address\n\
         watchkeeper.toml:11:18: `smtp` must be an smtp:// (STARTTLS) or smtps:// (TLS) URL, not http://"
    );
}

#[test]
fn a_notifier_template_that_does_not_render_is_an_error_at_its_value() {
    assert_error(
        "[[notifier]]\nid = \"a\"\nslack = { url = \"http://127.0.0.1/x\" }\ntemplates = { text = \"line one\\n{{ alerts[0].rul }}\" }\n",
        "watchkeeper.toml:4:22: `templates.text` does not render (line 2 of the template): undefined value",
    );
}

#[test]
fn a_command_notifier_and_pagerduty_need_their_keys() {
    assert_eq!(
        errors(
            "[[notifier]]\nid = \"a\"\ncommand = { argv = [], timeout = \"0s\" }\n\n\
             [[notifier]]\nid = \"b\"\npagerduty = { }\n"
        ),
        "watchkeeper.toml:3:20: `argv` must name a program: it is empty\n\
         watchkeeper.toml:3:34: `timeout` must be longer than zero\n\
         watchkeeper.toml:7:1: the pagerduty channel is missing `routing_key`"
    );
}

/// Every alerting error of a two-file config at once, sorted by file and
/// position, as `watchkeeper validate` prints them.
#[test]
fn every_alerting_error_of_a_config_full_of_mistakes() {
    let main = r#"include = ["teams/*.toml"]

[alerting]
severities = ["P0", "P1", "P2"]
default_severity = "P3"

[[monitor]]
id = "api"
interval = "1m"
tcp = { address = "127.0.0.1:8080" }
depends_on = ["db"]

[[alert]]
id = "api-down"
monitors = ["api", "apii"]
window = "30s"
when = 'consecutive_failure >= 3'
severity = "P4"

[[route]]
match = { severity = "P5" }
notify = ["pager"]
"#;
    let included = r#"[[monitor]]
id = "db"
interval = "10s"
tcp = { address = "127.0.0.1:5432" }
depends_on = ["api"]

[[notifier]]
id = "pagr"
pagerduty = { routing_key = "k", url = "http://user:pw@127.0.0.1:0x/" }

[[maintenance]]
id = "window"
monitors = ["db"]
schedule = "*/30 * * * *"
duration = "1h"
"#;
    let scratch =
        crate::support::Scratch::new(&[("watchkeeper.toml", main), ("teams/db.toml", included)]);
    insta::assert_snapshot!("alerting_errors", scratch.errors("watchkeeper.toml"));
}
