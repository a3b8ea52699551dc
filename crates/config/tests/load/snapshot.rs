//! The whole error report for configs with many mistakes at once: every
//! error appears, each at its FILE:LINE:COL, sorted by file and position.

use crate::support::Scratch;

const MAIN: &str = r#"include = ["monitors/*.toml"]

[server]
listen = "127.0.0.1:8080"
regoin = "eu-west"

[storage]
url = "sqlite://watchkeeper.db"
raw_retention = "two days"

[probes]
concurrency = 0

[[component]]
id = "api"
name = "API"

[[component]]
id = "api"

[[monitor]]
id = "api-health"
component = "apii"
interval = "30"
timeout = "5s"
http = { url = "http://127.0.0.1:8081/health", headers = { Authorization = "Bearer ${API_TOKN}" } }
expect = ['status == 200', 'json.status = "ok"']
degraded_if = ['latency > duration("2s")', 'received == "x"']

[[monitor]]
id = "api-health"
name = "Twice"
tcp = { address = "127.0.0.1:5432", sned = "PING" }

[[monitor]]
id = "both"
dns = { name = "localhost", type = "AAA" }
command = { argv = ["true"] }
"#;

const INCLUDED: &str = r#"# monitors/db.toml
[[monitor]]
id = "db-ready"
component = "db"
interval = "1m"
timeout = "2m"
command = { argv = ["pg_isready"], env = { PGPASSWORD = "x", PGPASSWORD_file = "secrets/pg" } }

[[monitor]]
id = "db-port"
tcp = { address = "localhost" }
expect = ['exit_code == 0']
"#;

#[test]
fn every_error_of_a_config_full_of_mistakes() {
    let scratch = Scratch::new(&[("watchkeeper.toml", MAIN), ("monitors/db.toml", INCLUDED)]);
    insta::assert_snapshot!("many_errors", scratch.errors("watchkeeper.toml"));
}

#[test]
fn every_error_of_a_single_file_config() {
    let output = crate::support::errors(
        r#"[server]
listen = "nowhere"

[[monitor]]
id = "Bad Id"
interval = "-1s"
http = { url = "gopher://127.0.0.1/", method = "get", max_redirects = 99, body_limit = "lots", parity = true }
expect = ['status ==']

[[monitor]]
name = "no id"
tcp = { address = "[::1]" }
"#,
    );
    insta::assert_snapshot!("single_file_errors", output);
}
