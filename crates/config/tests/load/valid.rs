//! The full example (tests/fixtures/full) loads into the expected values.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use watchkeeper_config::{Config, Database, load_with};
use watchkeeper_domain::monitor::{
    DnsRecordType, Parity, ProbeSpec, RedirectHeaders, RedirectPolicy, Secret,
};

use crate::support::env;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/full")
}

fn load_full() -> Config {
    match load_with(&fixture_dir().join("watchkeeper.toml"), &env) {
        Ok(config) => config,
        Err(errors) => panic!("the full example must load:\n{errors}"),
    }
}

#[test]
fn server_storage_and_probes_sections() {
    let config = load_full();
    let dir = fixture_dir();
    assert_eq!(
        config.server.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.server.region.as_deref(), Some("eu-west"));
    assert_eq!(config.server.header_timeout, Duration::from_secs(15));
    assert_eq!(config.server.max_connections, Some(512));
    assert_eq!(
        config.storage.database,
        Database::Sqlite {
            path: dir.join("data/watchkeeper.db")
        }
    );
    assert_eq!(config.storage.raw_retention, Duration::from_secs(48 * 3600));
    assert_eq!(
        config.storage.rollup_retention,
        Duration::from_secs(400 * 86_400)
    );
    assert_eq!(config.probes.concurrency, Some(64));
    assert!(config.probes.policy.allow_loopback);
    assert_eq!(
        config.probes.policy.allow,
        vec!["169.254.169.254/32".parse().unwrap()]
    );
    assert_eq!(
        config.files,
        vec![
            dir.join("watchkeeper.toml"),
            dir.join("monitors/db.toml"),
            dir.join("monitors/dns.toml"),
        ]
    );
}

#[test]
fn components_in_written_order() {
    let config = load_full();
    let summary: Vec<_> = config
        .components
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.name.as_str(),
                c.group.as_deref(),
                c.description.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("api", "API", Some("Backend"), Some("The public REST API")),
            ("db", "Database", Some("Backend"), None),
        ]
    );
}

#[test]
fn monitors_in_load_order_with_defaults_applied() {
    let config = load_full();
    let summary: Vec<_> = config
        .monitors
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.name.as_str(),
                m.component.as_ref().map(|c| c.as_str()),
                m.schedule.interval().unwrap(),
                m.timeout,
                m.probe.target(),
            )
        })
        .collect();
    let secs = Duration::from_secs;
    assert_eq!(
        summary,
        vec![
            (
                "api-health",
                "API health",
                Some("api"),
                secs(30),
                secs(5),
                "GET http://127.0.0.1:8081/health".to_owned()
            ),
            (
                "api-login",
                "api-login",
                Some("api"),
                secs(60),
                secs(10),
                "POST https://127.0.0.1:8443/login".to_owned()
            ),
            (
                "db-port",
                "Database port",
                Some("db"),
                secs(10),
                secs(10),
                "tcp 127.0.0.1:5432".to_owned()
            ),
            (
                "db-ready",
                "db-ready",
                Some("db"),
                secs(60),
                secs(10),
                "exec pg_isready -h 127.0.0.1".to_owned()
            ),
            (
                "resolver",
                "resolver",
                None,
                secs(300),
                secs(10),
                "dns AAAA localhost".to_owned()
            ),
            (
                "redis",
                "redis",
                None,
                secs(60),
                secs(10),
                "tcp ::1:6379".to_owned()
            ),
        ]
    );
}

#[test]
fn http_probe_with_fallback_and_field_parity() {
    let config = load_full();
    let monitor = config.monitor(&"api-health".parse().unwrap()).unwrap();
    let ProbeSpec::Http(http) = &monitor.probe else {
        panic!("expected an http probe, got {:?}", monitor.probe);
    };
    assert_eq!(http.method, "GET");
    assert_eq!(
        http.headers,
        vec![
            (
                "Authorization".to_owned(),
                Secret("Bearer t0ken".to_owned())
            ),
            (
                "X-Request-Source".to_owned(),
                Secret("watchkeeper".to_owned())
            ),
        ]
    );
    assert_eq!(
        http.redirects,
        RedirectPolicy::Follow {
            max_hops: 5,
            headers: RedirectHeaders::SameOrigin,
        }
    );
    assert!(http.verify_tls);
    assert_eq!(http.body_limit, 1024 * 1024);
    assert_eq!(
        http.fallback_url.as_ref().map(|u| u.as_str()),
        Some("http://127.0.0.1:8082/health")
    );
    assert_eq!(
        http.parity,
        Parity::JsonFields(vec!["status".to_owned(), "data.version".to_owned()])
    );
    let expect: Vec<_> = monitor.expect.iter().map(|c| c.source()).collect();
    assert_eq!(expect, vec!["status == 200", "json.status == \"ok\""]);
    let degraded: Vec<_> = monitor.degraded_if.iter().map(|c| c.source()).collect();
    assert_eq!(degraded, vec!["latency > duration(\"2s\")"]);
}

#[test]
fn http_probe_from_subtables_with_a_secret_file_and_body_parity() {
    let config = load_full();
    let monitor = config.monitor(&"api-login".parse().unwrap()).unwrap();
    let ProbeSpec::Http(http) = &monitor.probe else {
        panic!("expected an http probe, got {:?}", monitor.probe);
    };
    assert_eq!(http.body.as_deref(), Some("{\"probe\": true}"));
    assert_eq!(http.redirects, RedirectPolicy::None);
    assert!(!http.verify_tls);
    assert_eq!(http.body_limit, 65536);
    assert_eq!(http.parity, Parity::Body);
    assert_eq!(
        http.headers,
        vec![
            (
                "Content-Type".to_owned(),
                Secret("application/json".to_owned())
            ),
            (
                "Authorization".to_owned(),
                Secret("login-s3cret".to_owned())
            ),
        ]
    );
}

#[test]
fn tcp_dns_and_command_probes() {
    let config = load_full();
    let probe = |id: &str| &config.monitor(&id.parse().unwrap()).unwrap().probe;

    let ProbeSpec::Tcp(redis) = probe("redis") else {
        panic!("redis is tcp")
    };
    assert_eq!((redis.host.as_str(), redis.port), ("::1", 6379));
    assert_eq!(redis.send.as_deref(), Some("PING\r\n"));
    assert_eq!(redis.expect.as_deref(), Some("+PONG"));

    let ProbeSpec::Dns(dns) = probe("resolver") else {
        panic!("resolver is dns")
    };
    assert_eq!(dns.name, "localhost");
    assert_eq!(dns.record, DnsRecordType::Aaaa);
    assert_eq!(dns.server, Some("127.0.0.1:53".parse().unwrap()));

    let ProbeSpec::Command(command) = probe("db-ready") else {
        panic!("db-ready is a command")
    };
    assert_eq!(command.argv, vec!["pg_isready", "-h", "127.0.0.1"]);
    assert_eq!(
        command.env,
        vec![
            ("PGPASSWORD".to_owned(), Secret("pg-s3cret".to_owned())),
            ("PGUSER".to_owned(), Secret("watchkeeper".to_owned())),
        ]
    );
    assert_eq!(command.cwd, Some(fixture_dir().join("monitors/scripts")));
    assert_eq!(command.output_limit, 64 * 1024);
}

#[test]
fn default_expectations_per_probe_kind() {
    let config = load_full();
    let sources = |id: &str| -> Vec<String> {
        let monitor = config.monitor(&id.parse().unwrap()).unwrap();
        monitor
            .expect
            .iter()
            .map(|c| c.source().to_owned())
            .collect()
    };
    assert_eq!(sources("db-port"), Vec::<String>::new());
    assert_eq!(sources("db-ready"), vec!["exit_code == 0"]);
    let minimal = crate::support::load(
        "[[monitor]]\nid = \"h\"\nhttp = { url = \"http://127.0.0.1/\" }\n[[monitor]]\nid = \"d\"\ndns = { name = \"localhost\" }\n",
    )
    .unwrap();
    let expect: Vec<Vec<&str>> = minimal
        .monitors
        .iter()
        .map(|m| m.expect.iter().map(|c| c.source()).collect())
        .collect();
    assert_eq!(
        expect,
        vec![
            vec!["status >= 200 && status < 400"],
            vec!["size(answers) > 0"]
        ]
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = load_full();
    let debug = format!("{config:?}");
    assert!(!debug.contains("t0ken"), "{debug}");
    assert!(!debug.contains("login-s3cret"));
    assert!(!debug.contains("pg-s3cret"));
}

#[test]
fn an_empty_file_is_a_valid_config_with_defaults() {
    let config = crate::support::load("").unwrap();
    // the defaults docs/config.md promises, not the code's own constants
    assert_eq!(config.server.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.server.region, None);
    assert_eq!(config.server.header_timeout, Duration::from_secs(10));
    assert_eq!(config.server.max_connections, None);
    assert_eq!(
        config.storage.database,
        Database::Sqlite {
            path: PathBuf::from("watchkeeper.db")
        }
    );
    assert_eq!(config.storage.raw_retention, Duration::from_secs(48 * 3600));
    assert_eq!(
        config.storage.rollup_retention,
        Duration::from_secs(90 * 86_400)
    );
    assert_eq!(config.probes.concurrency, None);
    assert_eq!(config.probes.policy, Default::default());
    assert!(config.components.is_empty() && config.monitors.is_empty());
    assert_eq!(config.files, vec![PathBuf::from("watchkeeper.toml")]);
}
