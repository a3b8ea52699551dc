//! One test per rule: the error text and its exact position. Longer than
//! 600 lines on purpose: one short test per validation rule of the monitor
//! and settings sections, read as a list; the alerting rules have their own
//! file (`alerting_errors.rs`).

use std::time::Duration;

use watchkeeper_config::Database;
use watchkeeper_domain::monitor::{ProbeSpec, RedirectHeaders, RedirectPolicy};

use crate::support::{Scratch, assert_error, errors, load, monitor};

const HTTP: &str = "http = { url = \"http://127.0.0.1/\" }";

#[test]
fn a_syntax_error_is_reported_alone_at_its_position() {
    assert_error(
        "[server]\nlisten = \n",
        "watchkeeper.toml:2:10: string values must be quoted, expected literal string",
    );
}

#[test]
fn a_missing_file_is_an_error_at_line_one() {
    let scratch = Scratch::new(&[]);
    let error = scratch.errors("nope.toml");
    assert!(
        error.starts_with("<dir>/nope.toml:1:1: cannot read config file: "),
        "{error}"
    );
}

#[test]
fn a_missing_file_at_a_relative_path_says_where_it_was_looked_for() {
    let errors = watchkeeper_config::load_with(
        std::path::Path::new("no-such-dir/watchkeeper.toml"),
        &crate::support::env,
    )
    .unwrap_err()
    .to_string();
    let here = std::env::current_dir().unwrap();
    assert_eq!(
        errors,
        format!(
            "no-such-dir/watchkeeper.toml:1:1: cannot read config file: there is no such file in {}; give its path with --config PATH or set WATCHKEEPER_CONFIG",
            here.display()
        )
    );
}

#[test]
fn unknown_keys_are_rejected_with_a_suggestion() {
    assert_error(
        "[server]\nlisten = \"127.0.0.1:1\"\nregoin = \"x\"\n",
        "watchkeeper.toml:3:1: unknown key `regoin` in [server]; did you mean `region`?",
    );
    assert_error(
        &monitor(&format!("{HTTP}\nintervall = \"5s\"")),
        "watchkeeper.toml:4:1: unknown key `intervall` in [[monitor]]; did you mean `interval`?",
    );
    assert_error(
        &monitor("http = { url = \"http://127.0.0.1/\", verify_ssl = false }"),
        "watchkeeper.toml:3:37: unknown key `verify_ssl` in http; did you mean `verify_tls`?",
    );
}

#[test]
fn unknown_keys_without_a_close_match_list_what_is_allowed() {
    assert_error(
        "[probes]\ncolour = 1\n",
        "watchkeeper.toml:2:1: unknown key `colour` in [probes]; expected one of: concurrency, allow_loopback, allow",
    );
    assert_error(
        "[[runbook]]\nid = \"x\"\n",
        "watchkeeper.toml:1:3: unknown key `runbook` in the top level; expected one of: include, server, storage, probes, alerting, oncall, incidents, api, status_page, component, monitor, alert, slo, route, inhibit, maintenance, notifier, person, schedule, escalation, incident_template",
    );
}

#[test]
fn api_reads_need_a_token_unless_public_read_is_set() {
    assert!(!load("").unwrap().api.public_read);
    assert!(
        !load("[api]\npublic_read = false\n")
            .unwrap()
            .api
            .public_read
    );
    assert!(load("[api]\npublic_read = true\n").unwrap().api.public_read);
    assert_error(
        "[api]\npublic_read = \"yes\"\n",
        "watchkeeper.toml:2:15: `public_read` must be true or false, found string",
    );
    assert_error(
        "[api]\npublic = true\n",
        "watchkeeper.toml:2:1: unknown key `public` in [api]; expected one of: public_read",
    );
}

#[test]
fn values_of_the_wrong_type_name_what_was_expected() {
    assert_error(
        "[probes]\nconcurrency = \"many\"\nallow_loopback = 1\n",
        "watchkeeper.toml:2:15: `concurrency` must be an integer, found string\n\
         watchkeeper.toml:3:18: `allow_loopback` must be true or false, found integer",
    );
    assert_error(
        "monitor = { id = \"x\" }\n",
        "watchkeeper.toml:1:11: `monitor` must be an array of tables ([[monitor]]), found table",
    );
}

#[test]
fn durations_are_parsed_and_bounded() {
    assert_error(
        &monitor(&format!("{HTTP}\ninterval = \"30\"")),
        "watchkeeper.toml:4:12: invalid duration \"30\": expected a number and a unit, like \"250ms\", \"30s\", \"5m\", \"1h30m\" or \"400d\"",
    );
    assert_error(
        &monitor(&format!("{HTTP}\ninterval = \"500ms\"")),
        "watchkeeper.toml:4:12: `interval` must be at least 1s, not \"500ms\"",
    );
    assert_error(
        &monitor(&format!("{HTTP}\ninterval = \"-5s\"")),
        "watchkeeper.toml:4:12: duration \"-5s\" is negative",
    );
    assert_error(
        &monitor(&format!("{HTTP}\ntimeout = \"0s\"")),
        "watchkeeper.toml:4:11: `timeout` must be longer than zero",
    );
    assert_error(
        "[storage]\nraw_retention = \"10m\"\nrollup_retention = \"1y\"\n",
        "watchkeeper.toml:2:17: `raw_retention` must be at least 1h, not \"10m\"\n\
         watchkeeper.toml:3:20: invalid duration \"1y\": months and years have no fixed length; use days, like \"365d\"",
    );
}

#[test]
fn a_duration_too_long_says_so_and_names_the_maximum() {
    assert_error(
        &monitor(&format!("{HTTP}\ninterval = \"99999999d\"")),
        "watchkeeper.toml:4:12: duration \"99999999d\" is too long: the maximum is \"7304484d\" (about 20,000 years)",
    );
}

#[test]
fn timeout_defaults_to_ten_seconds_capped_by_the_interval_and_may_not_exceed_it() {
    let config = load(&format!(
        "[[monitor]]\nid = \"a\"\n{HTTP}\n[[monitor]]\nid = \"b\"\ninterval = \"3s\"\n{HTTP}\n[[monitor]]\nid = \"c\"\ninterval = \"1h30m\"\ntimeout = \"250ms\"\n{HTTP}\n"
    ))
    .unwrap();
    let timing: Vec<_> = config
        .monitors
        .iter()
        .map(|m| (m.schedule.interval().unwrap(), m.timeout))
        .collect();
    assert_eq!(
        timing,
        vec![
            (Duration::from_secs(60), Duration::from_secs(10)),
            (Duration::from_secs(3), Duration::from_secs(3)),
            (Duration::from_secs(5400), Duration::from_millis(250)),
        ]
    );
    assert_error(
        &monitor(&format!("{HTTP}\ninterval = \"30s\"\ntimeout = \"1m\"")),
        "watchkeeper.toml:5:11: `timeout` \"1m\" is longer than the interval (\"30s\"); a probe must finish before the next one is due",
    );
}

#[test]
fn a_monitor_needs_exactly_one_probe() {
    assert_error(
        "[[monitor]]\nid = \"lonely\"\n",
        "watchkeeper.toml:1:1: monitor `lonely` has no probe; give exactly one of http, tcp, dns or command",
    );
    assert_error(
        &monitor(&format!("{HTTP}\ntcp = {{ address = \"127.0.0.1:1\" }}")),
        "watchkeeper.toml:4:1: monitor `m` has more than one probe (http and tcp); give exactly one of http, tcp, dns or command",
    );
}

#[test]
fn ids_are_checked_and_duplicates_point_at_the_first() {
    assert_error(
        &format!("[[monitor]]\nid = \"API\"\n{HTTP}\n"),
        "watchkeeper.toml:2:6: invalid monitor id: id \"API\" may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit",
    );
    assert_error(
        &format!("[[monitor]]\n{HTTP}\n"),
        "watchkeeper.toml:1:1: [[monitor]] is missing `id`",
    );
    assert_error(
        &format!("[[monitor]]\nid = \"api\"\n{HTTP}\n\n[[monitor]]\nid = \"api\"\n{HTTP}\n"),
        "watchkeeper.toml:6:6: duplicate monitor id `api` (first defined at watchkeeper.toml:2:6)",
    );
    assert_error(
        "[[component]]\nid = \"db\"\n[[component]]\nid = \"db\"\n",
        "watchkeeper.toml:4:6: duplicate component id `db` (first defined at watchkeeper.toml:2:6)",
    );
}

#[test]
fn a_monitor_must_name_a_known_component() {
    assert_error(
        &format!(
            "[[component]]\nid = \"db\"\n[[component]]\nid = \"api\"\n[[monitor]]\nid = \"m\"\ncomponent = \"apii\"\n{HTTP}\n"
        ),
        "watchkeeper.toml:7:13: unknown component `apii`; did you mean `api`?",
    );
    assert_error(
        &format!(
            "[[component]]\nid = \"db\"\n[[component]]\nid = \"api\"\n[[monitor]]\nid = \"m\"\ncomponent = \"cache\"\n{HTTP}\n"
        ),
        "watchkeeper.toml:7:13: unknown component `cache`; known components: api, db",
    );
    assert_error(
        &monitor(&format!("component = \"api\"\n{HTTP}")),
        "watchkeeper.toml:3:13: unknown component `api`; none are defined; add a [[component]]",
    );
    assert_error(
        &monitor(&format!("component = \"Api\"\n{HTTP}")),
        "watchkeeper.toml:3:13: invalid component id: id \"Api\" may only contain lowercase letters, digits, '-', '_' and '.', and must start with a letter or digit",
    );
}

/// References are resolved after every file's sections are read, so a
/// monitor may name a component written after it, in any file.
#[test]
fn references_resolve_against_ids_of_every_file_in_any_order() {
    let scratch = Scratch::new(&[
        (
            "watchkeeper.toml",
            &format!(
                "include = [\"more.toml\"]\n[[monitor]]\nid = \"early\"\ncomponent = \"later\"\n{HTTP}\n"
            ),
        ),
        (
            "more.toml",
            &format!(
                "[[monitor]]\nid = \"typo\"\ncomponent = \"latre\"\n{HTTP}\n[[component]]\nid = \"later\"\n"
            ),
        ),
    ]);
    assert_eq!(
        scratch.errors("watchkeeper.toml"),
        "<dir>/more.toml:3:13: unknown component `latre`; did you mean `later`?"
    );
}

#[test]
fn components_default_their_name_to_the_id() {
    let config = load("[[component]]\nid = \"db\"\n").unwrap();
    assert_eq!(config.components[0].name, "db");
}

#[test]
fn conditions_are_compiled_at_load_with_the_probe_kinds_variables() {
    let text = monitor(&format!(
        "{HTTP}\nexpect = ['status == 200', 'status ==']\ndegraded_if = ['exit_code != 0']"
    ));
    let output = errors(&text);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2, "{output}");
    assert!(
        lines[0].starts_with("watchkeeper.toml:4:28: invalid CEL expression \"status ==\": "),
        "{output}"
    );
    assert_eq!(
        lines[1],
        "watchkeeper.toml:5:16: unknown variable `exit_code` in \"exit_code != 0\"; a http monitor has: latency, status, headers, body, json, cert, url"
    );
}

/// Conditions are compiled once per distinct source and probe kind, but a
/// bad one is reported wherever it is written, and the same text is judged
/// by each monitor's own kind.
#[test]
fn a_repeated_condition_is_reported_at_each_place_and_checked_per_kind() {
    let text = "[[monitor]]\nid = \"a\"\nhttp = { url = \"http://127.0.0.1/\" }\nexpect = ['status ==']\n\n\
                [[monitor]]\nid = \"b\"\nhttp = { url = \"http://127.0.0.1/\" }\nexpect = ['status ==']\n\n\
                [[monitor]]\nid = \"c\"\ncommand = { argv = [\"true\"] }\nexpect = ['status == 0']\n";
    let output = errors(text);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 3, "{output}");
    assert!(
        lines[0].starts_with("watchkeeper.toml:4:11: invalid CEL expression"),
        "{output}"
    );
    assert!(
        lines[1].starts_with("watchkeeper.toml:9:11: invalid CEL expression"),
        "{output}"
    );
    assert!(
        lines[2].starts_with("watchkeeper.toml:14:11: unknown variable `status`"),
        "{output}"
    );

    let shared = "[[monitor]]\nid = \"a\"\nhttp = { url = \"http://127.0.0.1/\" }\nexpect = ['status == 200']\n\n\
                  [[monitor]]\nid = \"b\"\ntcp = { address = \"127.0.0.1:1\" }\nexpect = ['latency < duration(\"1s\")']\n\n\
                  [[monitor]]\nid = \"c\"\nhttp = { url = \"http://127.0.0.1/\" }\nexpect = ['status == 200']\n";
    let config = load(shared).unwrap();
    let sources: Vec<Vec<&str>> = config
        .monitors
        .iter()
        .map(|m| m.expect.iter().map(|c| c.source()).collect())
        .collect();
    assert_eq!(
        sources,
        vec![
            vec!["status == 200"],
            vec!["latency < duration(\"1s\")"],
            vec!["status == 200"]
        ]
    );
}

#[test]
fn environment_variables_are_interpolated_in_values() {
    let config = load(
        "[server]\nregion = \"${REGION}-1\"\n[[monitor]]\nid = \"m\"\nhttp = { url = \"http://127.0.0.1/$${literal}\" }\n",
    )
    .unwrap();
    assert_eq!(config.server.region.as_deref(), Some("eu-west-1"));
    let ProbeSpec::Http(http) = &config.monitors[0].probe else {
        panic!()
    };
    assert_eq!(http.url.as_str(), "http://127.0.0.1/$%7Bliteral%7D");
}

#[test]
fn a_missing_environment_variable_is_named_at_the_string() {
    assert_error(
        "[server]\nregion = \"${NOPE}\"\n",
        "watchkeeper.toml:2:10: environment variable `NOPE` is not set",
    );
    assert_error(
        &monitor("command = { argv = [\"true\", \"${ALSO_NOPE}\"] }"),
        "watchkeeper.toml:3:29: environment variable `ALSO_NOPE` is not set",
    );
}

#[test]
fn a_broken_url_is_quoted_only_as_written_in_the_file() {
    // The token comes from the environment, so the error shows the text
    // as written and never the interpolated value.
    let output = errors(&monitor(
        "http = { url = \"http://:${API_TOKEN}@/x\", fallback_url = \"http://127.0.0.1:99999/\" }",
    ));
    assert_eq!(
        output,
        "watchkeeper.toml:3:16: invalid `url` \"http://:***@/x\" (its value is not shown): empty host\n\
         watchkeeper.toml:3:58: invalid `fallback_url` \"http://127.0.0.1:99999/\": invalid port number"
    );
    assert!(!output.contains("t0ken"), "{output}");

    let scratch = Scratch::new(&[
        ("secrets/url", "http://user:hunter2@[::1/\n"),
        (
            "watchkeeper.toml",
            "[[monitor]]\nid = \"m\"\nhttp = { url_file = \"secrets/url\" }\n",
        ),
    ]);
    let output = scratch.errors("watchkeeper.toml");
    assert_eq!(
        output,
        "<dir>/watchkeeper.toml:3:21: invalid `url` (read from `url_file`, not shown): invalid IPv6 address"
    );
}

#[test]
fn a_broken_url_never_shows_its_password() {
    // The trial's case, and a password holding a `/`, which cuts the
    // authority short where the parser reads it.
    let output = errors(&monitor(
        "http = { url = \"http://user:S3cretPW@/x\", fallback_url = \"http://svc:pa/ss@127.0.0.1:99999/\" }",
    ));
    assert_eq!(
        output,
        "watchkeeper.toml:3:16: invalid `url` \"http://user:***@/x\": empty host\n\
         watchkeeper.toml:3:58: invalid `fallback_url` \"http://svc:***@127.0.0.1:99999/\": invalid port number"
    );
}

#[test]
fn secrets_come_from_files_beside_the_config() {
    let scratch = Scratch::new(&[
        ("secrets/token", "Bearer from-file\n"),
        ("secrets/pw", "${NOT_INTERPOLATED}\r\n"),
        (
            "watchkeeper.toml",
            "[server]\nregion_file = \"secrets/pw\"\n[[monitor]]\nid = \"m\"\nhttp = { url = \"http://127.0.0.1/\", headers = { Authorization_file = \"secrets/token\" } }\n",
        ),
    ]);
    let config = scratch.load("watchkeeper.toml").unwrap();
    assert_eq!(config.server.region.as_deref(), Some("${NOT_INTERPOLATED}"));
    let ProbeSpec::Http(http) = &config.monitors[0].probe else {
        panic!()
    };
    assert_eq!(http.headers[0].0, "Authorization");
    assert_eq!(http.headers[0].1.expose(), "Bearer from-file");
}

#[test]
fn a_value_and_its_file_together_or_an_unreadable_file_are_errors() {
    let scratch = Scratch::new(&[(
        "watchkeeper.toml",
        "[server]\nregion = \"x\"\nregion_file = \"r\"\n[[monitor]]\nid = \"m\"\n\
         http = { url = \"http://127.0.0.1/\", headers = { A = \"1\", A_file = \"a\", B_file = \"missing\" } }\n",
    )]);
    let output = scratch.errors("watchkeeper.toml");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 3, "{output}");
    assert_eq!(
        lines[0],
        "<dir>/watchkeeper.toml:3:1: give either `region` or `region_file` in [server], not both"
    );
    assert_eq!(
        lines[1],
        "<dir>/watchkeeper.toml:6:58: give either `A` or `A_file` in `headers`, not both"
    );
    assert!(
        lines[2]
            .starts_with("<dir>/watchkeeper.toml:6:81: cannot read `B_file` file <dir>/missing: "),
        "{output}"
    );
}

#[test]
fn http_urls_methods_headers_and_redirects_are_checked() {
    let output = errors(&monitor(
        "http = { url = \"ftp://127.0.0.1/\", method = \"get\", headers = { \"Bad Name\" = \"x\", Ok = \"a\\nb\" }, max_redirects = 21, fallback_url = \"not a url\" }",
    ));
    assert_eq!(
        output,
        "watchkeeper.toml:3:16: `url` must be an http:// or https:// URL, not ftp://\n\
         watchkeeper.toml:3:45: `method` must be upper-case letters, like \"GET\" or \"POST\", not \"get\"\n\
         watchkeeper.toml:3:64: invalid header name \"Bad Name\"\n\
         watchkeeper.toml:3:87: the value of header `Ok` contains a control character (such as a newline)\n\
         watchkeeper.toml:3:113: `max_redirects` must be between 0 and 20, not 21\n\
         watchkeeper.toml:3:132: invalid `fallback_url` \"not a url\": relative URL without a base"
    );
}

#[test]
fn redirects_follow_by_default_and_can_be_turned_off() {
    let config = load(&monitor(HTTP)).unwrap();
    let ProbeSpec::Http(http) = &config.monitors[0].probe else {
        panic!()
    };
    assert_eq!(http.redirects, RedirectPolicy::DEFAULT);
    assert_eq!(
        http.redirects,
        RedirectPolicy::Follow {
            max_hops: 10,
            headers: RedirectHeaders::SameOrigin
        }
    );
    assert_eq!(http.method, "GET");
    assert!(http.verify_tls);
    assert_error(
        &monitor(
            "http = { url = \"http://127.0.0.1/\", follow_redirects = false, max_redirects = 3 }",
        ),
        "watchkeeper.toml:3:79: `max_redirects` has no effect with follow_redirects = false",
    );
}

#[test]
fn headers_go_to_other_origins_only_when_the_monitor_says_so() {
    let config = load(&monitor(
        "http = { url = \"http://127.0.0.1/\", redirect_headers = \"all\" }",
    ))
    .unwrap();
    let ProbeSpec::Http(http) = &config.monitors[0].probe else {
        panic!()
    };
    assert_eq!(
        http.redirects,
        RedirectPolicy::Follow {
            max_hops: 10,
            headers: RedirectHeaders::All
        }
    );
    assert_eq!(
        errors(&monitor(
            "http = { url = \"http://127.0.0.1/\", redirect_headers = \"keep\" }\n\
             [[monitor]]\nid = \"n\"\n\
             http = { url = \"http://127.0.0.1/\", follow_redirects = false, redirect_headers = \"all\" }",
        )),
        "watchkeeper.toml:3:56: `redirect_headers` must be \"same-origin\" or \"all\", not \"keep\"\n\
         watchkeeper.toml:6:82: `redirect_headers` has no effect with follow_redirects = false"
    );
}

#[test]
fn an_authorization_header_and_url_credentials_are_not_both_given() {
    // The URL's password is sent as basic auth, itself an Authorization
    // header: with a configured one too, the target would get two.
    assert_eq!(
        errors(&monitor(
            "http = { url = \"http://user:S3cretPW@127.0.0.1/\", fallback_url = \"http://ci@127.0.0.2/\", headers = { authorization = \"Bearer t0ken\" } }",
        )),
        "watchkeeper.toml:3:102: `headers` sets `authorization`, and the password in `url` is sent as basic auth, another Authorization header; give only one of them\n\
         watchkeeper.toml:3:102: `headers` sets `authorization`, and the user name in `fallback_url` is sent as basic auth, another Authorization header; give only one of them"
    );
    // Either one alone is fine.
    load(&monitor(
        "http = { url = \"http://user:S3cretPW@127.0.0.1/\" }\n\
         [[monitor]]\nid = \"n\"\n\
         http = { url = \"http://127.0.0.1/\", headers = { Authorization = \"Bearer t0ken\" } }",
    ))
    .unwrap();
}

#[test]
fn parity_needs_a_fallback_url_and_fields() {
    assert_error(
        &monitor("http = { url = \"http://127.0.0.1/\", parity = true }"),
        "watchkeeper.toml:3:46: `parity` compares the answer with `fallback_url`, which is not given",
    );
    assert_error(
        &monitor(
            "http = { url = \"http://127.0.0.1/\", fallback_url = \"http://127.0.0.2/\", parity = [\"a..b\"] }",
        ),
        "watchkeeper.toml:3:83: invalid JSON field \"a..b\": expected a dotted path like \"data.version\"",
    );
    assert_error(
        &monitor(
            "http = { url = \"http://127.0.0.1/\", fallback_url = \"http://127.0.0.2/\", parity = \"yes\" }",
        ),
        "watchkeeper.toml:3:82: `parity` must be true, false or a list of JSON fields like [\"status\", \"data.version\"], found string",
    );
}

#[test]
fn sizes_take_units_or_bytes() {
    assert_error(
        &monitor("http = { url = \"http://127.0.0.1/\", body_limit = \"1 parsec\" }"),
        "watchkeeper.toml:3:50: invalid size \"1 parsec\": expected a number of bytes or a number and a unit, like \"512B\", \"64KiB\" or \"1MiB\"",
    );
    assert_error(
        &monitor("command = { argv = [\"true\"], output_limit = 0 }"),
        "watchkeeper.toml:3:45: `output_limit` must be more than zero bytes",
    );
}

#[test]
fn tcp_dns_and_command_targets_are_checked() {
    assert_error(
        &monitor("tcp = { address = \"::1:80\" }"),
        "watchkeeper.toml:3:19: invalid address \"::1:80\": write IPv6 addresses in brackets, like \"[::1]:80\"",
    );
    assert_error(
        &monitor("dns = { name = \"localhost\", type = \"SRV\", server = \"localhost:53\" }"),
        "watchkeeper.toml:3:36: unknown DNS record type \"SRV\"; expected one of A, AAAA, CNAME, MX, TXT\n\
         watchkeeper.toml:3:52: invalid DNS server \"localhost:53\": expected IP:PORT, like \"127.0.0.1:53\"",
    );
    assert_error(
        &monitor("command = { argv = [] }"),
        "watchkeeper.toml:3:20: `argv` must name a program: it is empty",
    );
    assert_error(
        &monitor("tcp = { send = \"x\" }"),
        "watchkeeper.toml:3:1: the tcp probe is missing `address`",
    );
}

#[test]
fn server_and_storage_values_are_checked() {
    assert_error(
        "[server]\nlisten = \"localhost:8080\"\n[storage]\nurl = \"postgres://wk@127.0.0.1/wk?sslmode=on\"\n",
        "watchkeeper.toml:2:10: invalid listen address \"localhost:8080\": expected IP:PORT, like \"127.0.0.1:8080\" or \"[::1]:8080\"\n\
         watchkeeper.toml:4:7: storage url has sslmode=\"on\"; use one of disable, allow, prefer, require, verify-ca, verify-full",
    );
}

#[test]
fn probes_policy_networks_and_concurrency_are_checked() {
    assert_error(
        "[probes]\nconcurrency = 0\nallow = [\"10.0.0.0/33\"]\n",
        "watchkeeper.toml:2:15: `concurrency` must be a positive number, not 0\n\
         watchkeeper.toml:3:10: invalid network \"10.0.0.0/33\" in `allow`: expected an address or CIDR, like \"169.254.169.254/32\"",
    );
    let config = load("[probes]\nallow_loopback = false\nallow = [\"169.254.169.254\"]\n").unwrap();
    assert!(!config.probes.policy.allow_loopback);
    assert_eq!(
        config.probes.policy.allow,
        vec!["169.254.169.254/32".parse().unwrap()]
    );
}

#[test]
fn probes_concurrency_has_an_upper_bound() {
    // A huge count would make the engine's semaphore panic at start.
    assert_error(
        "[probes]\nconcurrency = 65537\n",
        "watchkeeper.toml:2:15: `concurrency` must be at most 65536, not 65537",
    );
    assert_error(
        "[probes]\nconcurrency = 9223372036854775807\n",
        "watchkeeper.toml:2:15: `concurrency` must be at most 65536, not 9223372036854775807",
    );
    assert_error(
        "[probes]\nconcurrency = -1\n",
        "watchkeeper.toml:2:15: `concurrency` must be a positive number, not -1",
    );
    let config = load("[probes]\nconcurrency = 65536\n").unwrap();
    assert_eq!(config.probes.concurrency, Some(65_536));
}

#[test]
fn server_limits_are_checked_at_their_position() {
    assert_error(
        "[server]\nheader_timeout = \"500ms\"\nmax_connections = 0\n",
        "watchkeeper.toml:2:18: `header_timeout` must be between 1s and 5m, not \"500ms\"\n\
         watchkeeper.toml:3:19: `max_connections` must be a positive number, not 0",
    );
    assert_error(
        "[server]\nheader_timeout = \"1h\"\nmax_connections = 65537\n",
        "watchkeeper.toml:2:18: `header_timeout` must be between 1s and 5m, not \"1h\"\n\
         watchkeeper.toml:3:19: `max_connections` must be at most 65536, not 65537",
    );
    assert_error(
        "[server]\nheader_timeout = \"soon\"\nmax_connections = -1\n",
        "watchkeeper.toml:2:18: invalid duration \"soon\": expected a number and a unit, like \"250ms\", \"30s\", \"5m\", \"1h30m\" or \"400d\"\n\
         watchkeeper.toml:3:19: `max_connections` must be a positive number, not -1",
    );
    assert_error(
        "[server]\nmax_connections = \"many\"\n",
        "watchkeeper.toml:2:19: `max_connections` must be an integer, found string",
    );
    let config = load("[server]\nheader_timeout = \"1s\"\nmax_connections = 65536\n").unwrap();
    assert_eq!(config.server.header_timeout, Duration::from_secs(1));
    assert_eq!(config.server.max_connections, Some(65_536));
    let config = load("[server]\nheader_timeout = \"5m\"\nmax_connections = 1\n").unwrap();
    assert_eq!(config.server.header_timeout, Duration::from_secs(300));
    assert_eq!(config.server.max_connections, Some(1));
}

#[test]
fn database_paths_resolve_beside_the_config() {
    let scratch = Scratch::new(&[(
        "etc/watchkeeper.toml",
        "[storage]\nurl = \"sqlite://state/wk.db\"\n",
    )]);
    let config = scratch.load("etc/watchkeeper.toml").unwrap();
    assert_eq!(
        config.storage.database,
        Database::Sqlite {
            path: scratch.path("etc/state/wk.db")
        }
    );
    let absolute = load("[storage]\nurl = \"/var/lib/wk.db\"\n").unwrap();
    assert_eq!(
        absolute.storage.database,
        Database::Sqlite {
            path: std::path::PathBuf::from("/var/lib/wk.db")
        }
    );
}

#[test]
fn load_reads_the_process_environment() {
    let path = std::env::var("PATH").expect("tests run with PATH set");
    let scratch = Scratch::new(&[("watchkeeper.toml", "[server]\nregion = \"${PATH}\"\n")]);
    let config = watchkeeper_config::load(&scratch.path("watchkeeper.toml")).unwrap();
    assert_eq!(config.server.region, Some(path));
}
