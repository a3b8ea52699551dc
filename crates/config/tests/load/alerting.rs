//! The alerting example (tests/fixtures/alerting) loads into the expected
//! model, section by section; and a config without any alerting section
//! gets the documented defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use watchkeeper_config::{Config, Targets, load_with};
use watchkeeper_domain::alert::maintenance::When;
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::route::{GroupBy, GroupTiming};
use watchkeeper_domain::alert::slo::Indicator;
use watchkeeper_domain::id::{ComponentId, MonitorId};
use watchkeeper_domain::notifier::{Channel, SmtpTls, WebhookFormat};

use crate::support::{env, load};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/alerting")
}

fn load_example() -> Config {
    match load_with(&fixture_dir().join("watchkeeper.toml"), &env) {
        Ok(config) => config,
        Err(errors) => panic!("the alerting example must load:\n{errors}"),
    }
}

fn monitor(id: &str) -> MonitorId {
    MonitorId::parse(id).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[test]
fn alerting_settings_and_each_monitors_own_alert() {
    let config = load_example();
    let settings = &config.alerting.settings;
    assert_eq!(
        (settings.failure_threshold, settings.success_threshold),
        (4, 3)
    );
    assert_eq!(
        settings.severities.as_slice(),
        ["critical", "high", "medium", "low"]
    );
    assert_eq!(settings.default_severity, "medium");

    let summary: Vec<_> = config
        .alerting
        .monitors
        .iter()
        .map(|m| {
            (
                m.monitor.as_str(),
                m.implicit_alert,
                m.failure_threshold,
                m.success_threshold,
                m.severity.as_str(),
                m.labels.clone(),
                m.depends_on
                    .iter()
                    .map(MonitorId::as_str)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "db-ready",
                true,
                4,
                3,
                "critical",
                labels(&[("team", "platform")]),
                vec![]
            ),
            (
                "api-health",
                true,
                2,
                3,
                "medium",
                labels(&[("team", "payments"), ("tier", "edge")]),
                // `database` is a component: its monitors
                vec!["db-ready"]
            ),
            (
                "api-login",
                false,
                4,
                3,
                "medium",
                Labels::new(),
                vec!["api-health"]
            ),
        ]
    );
}

#[test]
fn alert_rules_with_their_targets_expanded() {
    let config = load_example();
    let [slow, errors] = &config.alerting.rules[..] else {
        panic!("{:#?}", config.alerting.rules)
    };
    assert_eq!(slow.id.as_str(), "api-slow");
    assert_eq!(
        slow.targets,
        Targets::Component(ComponentId::parse("api").unwrap())
    );
    assert_eq!(slow.monitors, [monitor("api-health"), monitor("api-login")]);
    assert_eq!(slow.window, Duration::from_secs(600));
    assert_eq!(slow.when.source(), r#"p95_latency > duration("2s")"#);
    assert_eq!(slow.timing.hold_for, Duration::from_secs(300));
    assert_eq!(slow.timing.keep_firing_for, Duration::from_secs(120));
    assert_eq!(slow.severity, "high");
    assert_eq!(slow.labels, labels(&[("team", "payments")]));
    assert_eq!(
        slow.annotations,
        labels(&[
            ("description", "team {{ labels.team }}"),
            ("summary", "p95 of {{ monitor }} is {{ stats.p95_latency }}"),
        ])
    );
    assert_eq!(
        slow.runbook.as_ref().map(|url| url.as_str()),
        Some("https://docs.example.com/runbooks/high-latency")
    );
    assert!(slow.count_degraded_as_failure);

    assert_eq!(errors.targets, Targets::Monitors(vec![monitor("db-ready")]));
    assert_eq!(errors.monitors, [monitor("db-ready")]);
    // The defaults: a five-minute window, no `for`, the default severity.
    assert_eq!(errors.window, Duration::from_secs(300));
    assert_eq!(errors.timing, Default::default());
    assert_eq!(errors.severity, "medium");
    assert!(errors.runbook.is_none() && !errors.count_degraded_as_failure);
}

#[test]
fn slos_with_their_objective_and_indicator() {
    let config = load_example();
    let [availability, latency] = &config.alerting.slos[..] else {
        panic!("{:#?}", config.alerting.slos)
    };
    assert_eq!(
        availability.monitors,
        [monitor("api-health"), monitor("api-login")]
    );
    assert!((availability.objective.target - 0.999).abs() < 1e-12);
    assert_eq!(
        availability.objective.period,
        SignedDuration::from_hours(30 * 24)
    );
    assert_eq!(availability.objective.indicator, Indicator::Availability);
    // Burn-rate alerts page: the most severe severity by default.
    assert_eq!(availability.severity, "critical");

    assert_eq!(latency.monitors, [monitor("api-health")]);
    assert_eq!(latency.objective.target, 0.95);
    assert_eq!(
        latency.objective.indicator,
        Indicator::Latency {
            threshold: Duration::from_secs(2)
        }
    );
    assert_eq!(latency.severity, "high");
    assert_eq!(latency.labels, labels(&[("team", "payments")]));
}

#[test]
fn routes_in_file_order_with_their_matchers_and_timing() {
    let config = load_example();
    let routes = &config.alerting.routes;
    assert_eq!(routes.len(), 3, "{routes:#?}");
    let first = &routes[0];
    let matchers: Vec<String> = first.matchers.iter().map(ToString::to_string).collect();
    assert_eq!(
        matchers,
        [
            r#"severity=~"critical|high""#,
            r#"team="payments""#,
            r#"alertname!="db-errors""#
        ]
    );
    assert_eq!(first.notify, ["pager", "hook"]);
    assert_eq!(
        first.group_by,
        GroupBy::Labels(vec!["alertname".into(), "monitor".into()])
    );
    assert_eq!(
        first.timing,
        GroupTiming {
            group_wait: Duration::from_secs(10),
            group_interval: Duration::from_secs(60),
            repeat_interval: Duration::from_secs(3600),
        }
    );
    assert!(first.continue_matching);
    // A list of values is any of them, and only them.
    let alert = |severity: &str| labels(&[("severity", severity), ("team", "payments")]);
    assert!(first.matchers[0].matches(&alert("high")));
    assert!(!first.matchers[0].matches(&alert("highest")));

    assert_eq!(routes[1].group_by, GroupBy::All);
    assert_eq!(routes[1].timing, GroupTiming::default());
    assert!(!routes[1].continue_matching);
    // The included file's catch-all comes last and matches everything.
    assert!(routes[2].matchers.is_empty());
    assert_eq!(routes[2].notify, ["mail"]);
    assert_eq!(routes[2].group_by, GroupBy::Labels(vec![]));
}

#[test]
fn inhibitions_and_maintenance_windows() {
    let config = load_example();
    let [inhibit] = &config.alerting.inhibitions[..] else {
        panic!("{:#?}", config.alerting.inhibitions)
    };
    let shown = |matchers: &[watchkeeper_domain::alert::matcher::Matcher]| {
        matchers.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    assert_eq!(shown(&inhibit.source), [r#"alertname="db-errors""#]);
    assert_eq!(shown(&inhibit.target), [r#"severity=~"medium|low""#]);
    assert_eq!(inhibit.equal, ["team"]);

    let [upgrade, weekly] = &config.alerting.maintenance[..] else {
        panic!("{:#?}", config.alerting.maintenance)
    };
    assert_eq!(
        (upgrade.id.as_str(), upgrade.title.as_str()),
        ("db-upgrade", "Database upgrade")
    );
    assert_eq!(
        upgrade.components,
        [ComponentId::parse("database").unwrap()]
    );
    assert_eq!(
        upgrade.when,
        When::Once {
            start: "2026-06-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            end: "2026-06-01T02:00:00Z".parse::<Timestamp>().unwrap(),
        }
    );
    assert_eq!(weekly.title, "weekly-patching");
    assert_eq!(weekly.monitors, [monitor("api-health")]);
    let When::Recurring { cron, duration } = &weekly.when else {
        panic!("{weekly:?}")
    };
    assert_eq!(
        (cron.expression(), cron.time_zone()),
        ("0 2 * * SUN", "Europe/Berlin")
    );
    assert_eq!(*duration, SignedDuration::from_hours(2));
    // Sunday 2026-05-03, 02:00 in Berlin is midnight UTC.
    assert!(
        weekly
            .active_at("2026-05-03T01:00:00Z".parse().unwrap())
            .is_some()
    );
}

#[test]
fn notifiers_of_every_kind_with_secrets_kept_out_of_debug() {
    let config = load_example();
    let notifiers = &config.alerting.notifiers;
    let kinds: Vec<_> = notifiers
        .iter()
        .map(|n| (n.id.as_str(), n.channel.kind(), n.send_resolved))
        .collect();
    assert_eq!(
        kinds,
        [
            ("hook", "webhook", false),
            ("payments-chat", "slack", true),
            ("pager", "pagerduty", true),
            ("phone", "ntfy", true),
            ("mail", "email", true),
            ("script", "command", true),
            ("discord", "discord", true),
            ("teams", "teams", true),
        ]
    );
    let Channel::Webhook(hook) = &notifiers[0].channel else {
        panic!("{:?}", notifiers[0])
    };
    assert_eq!(hook.url.expose().as_str(), "http://127.0.0.1:9000/hook");
    assert_eq!(
        hook.secret.as_ref().map(|s| s.expose()),
        Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    );
    assert_eq!(hook.format, WebhookFormat::Alertmanager);
    assert_eq!(hook.headers[0].0, "X-Team");
    assert_eq!(
        notifiers[1].templates.title.as_deref(),
        Some("{{ severity }}: {{ alerts[0].rule }}")
    );
    assert_eq!(notifiers[0].templates, Default::default());
    let Channel::PagerDuty(pager) = &notifiers[2].channel else {
        panic!("{:?}", notifiers[2])
    };
    assert_eq!(
        pager.routing_key.expose(),
        "R0UTINGKEY0123456789abcdef012345"
    );
    assert_eq!(pager.url.as_str(), "http://127.0.0.1:9000/pagerduty");
    let Channel::Ntfy(phone) = &notifiers[3].channel else {
        panic!("{:?}", notifiers[3])
    };
    assert_eq!(phone.token.as_ref().map(|t| t.expose()), Some("t0ken"));
    assert_eq!(phone.priority, Some(4));
    let Channel::Email(mail) = &notifiers[4].channel else {
        panic!("{:?}", notifiers[4])
    };
    assert_eq!(
        (mail.host.as_str(), mail.port, mail.tls),
        ("127.0.0.1", 2525, SmtpTls::None)
    );
    let credentials = mail.credentials.as_ref().unwrap();
    assert_eq!(
        (credentials.username.as_str(), credentials.password.expose()),
        ("wk", "smtp-pa55")
    );
    assert_eq!(mail.from, "Watchkeeper <wk@example.com>");
    assert_eq!(mail.to, ["ops@example.com", "On-call <oncall@example.com>"]);
    let Channel::Command(script) = &notifiers[5].channel else {
        panic!("{:?}", notifiers[5])
    };
    assert_eq!(script.argv, ["/usr/local/bin/page", "--quiet"]);
    assert_eq!(script.timeout, Duration::from_secs(30));

    let shown = format!("{notifiers:?}");
    for secret in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "R0UTINGKEY",
        "t0ken",
        "smtp-pa55",
        "XXXX",
        "abc",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn without_alerting_sections_every_monitor_gets_the_default_alert() {
    let config = load("[[monitor]]\nid = \"m\"\ntcp = { address = \"127.0.0.1:1\" }\n").unwrap();
    let alerting = &config.alerting;
    assert_eq!(
        alerting.settings.severities.as_slice(),
        ["P0", "P1", "P2", "P3"]
    );
    assert_eq!(alerting.settings.default_severity, "P2");
    let own = alerting.monitor(&monitor("m")).unwrap();
    assert!(own.implicit_alert);
    assert_eq!((own.failure_threshold, own.success_threshold), (3, 2));
    assert_eq!(own.severity, "P2");
    assert!(alerting.rules.is_empty() && alerting.routes.is_empty());
    assert!(alerting.notifiers.is_empty() && alerting.maintenance.is_empty());
}

#[test]
fn custom_severities_without_p2_default_to_the_least_severe() {
    let config = load("[alerting]\nseverities = [\"page\", \"ticket\"]\n").unwrap();
    assert_eq!(config.alerting.settings.default_severity, "ticket");
}

/// The worked example in docs/alerting.md: the first TOML block under
/// "## Worked example".
fn worked_example() -> String {
    let docs = include_str!("../../../../docs/alerting.md");
    let (_, example) = docs.split_once("## Worked example").unwrap();
    let (_, block) = example.split_once("```toml\n").unwrap();
    let (block, _) = block.split_once("```").unwrap();
    block.to_owned()
}

#[test]
fn the_worked_example_in_docs_alerting_loads() {
    let env = |name: &str| match name {
        "PAGERDUTY_ROUTING_KEY" => Some("R0UTINGKEY".to_owned()),
        "SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T0/B0/X".to_owned()),
        "WEBHOOK_SECRET" => Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned()),
        _ => None,
    };
    let config = watchkeeper_config::load_str(Path::new("alerting.toml"), &worked_example(), &env)
        .unwrap_or_else(|errors| panic!("the worked example must load:\n{errors}"));
    let alerting = &config.alerting;
    let rules: Vec<_> = alerting
        .rules
        .iter()
        .map(|rule| (rule.id.as_str(), rule.severity.as_str(), rule.window))
        .collect();
    let minutes = |m: u64| Duration::from_secs(60 * m);
    assert_eq!(
        rules,
        [
            ("high-p95-latency", "P1", minutes(5)),
            ("p95-over-objective", "P2", minutes(15)),
            ("error-rate", "P1", minutes(5)),
            ("canary-error-rate", "P2", minutes(3)),
            ("error-budget-exhaustion", "P1", minutes(24 * 60)),
        ]
    );
    assert_eq!(alerting.slos.len(), 2);
    assert_eq!(alerting.routes.len(), 3);
    assert_eq!(
        alerting.monitor(&monitor("api-health")).unwrap().depends_on,
        [monitor("db-ready")]
    );
}

#[test]
fn the_rule_set_is_each_monitors_own_alert_then_every_written_rule() {
    use watchkeeper_domain::alert::RuleCheck;
    let config = load_example();
    let rules = config.alerting.rule_set();
    let summary: Vec<(&str, Vec<&str>, &str)> = rules
        .rules
        .iter()
        .map(|rule| {
            (
                rule.name.as_str(),
                rule.monitors.iter().map(MonitorId::as_str).collect(),
                rule.severity.as_str(),
            )
        })
        .collect();
    // api-login says `alert = false`: it has no alert of its own.
    assert_eq!(
        summary,
        [
            ("MonitorDown", vec!["db-ready"], "critical"),
            ("MonitorDown", vec!["api-health"], "medium"),
            ("api-slow", vec!["api-health", "api-login"], "high"),
            ("db-errors", vec!["db-ready"], "medium"),
        ]
    );
    let RuleCheck::Threshold {
        failures,
        successes,
    } = &rules.rules[1].check
    else {
        panic!("{:?}", rules.rules[1].check)
    };
    assert_eq!((*failures, *successes), (2, 3));
    assert!(matches!(rules.rules[2].check, RuleCheck::When(_)));
    assert!(rules.rules[2].degraded_fails);
    assert_eq!(
        rules.rules[2].runbook.as_deref(),
        Some("https://docs.example.com/runbooks/high-latency")
    );
    assert_eq!(
        rules.monitor_labels[&monitor("api-health")],
        labels(&[("team", "payments"), ("tier", "edge")])
    );
    assert!(!rules.monitor_labels.contains_key(&monitor("api-login")));
}
