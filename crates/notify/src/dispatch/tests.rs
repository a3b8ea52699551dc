//! The dispatcher with a fake clock: grouping and its timing, repeats,
//! resolutions, quieting by silences, maintenance, dependencies and
//! inhibitions, routes that continue, notifiers that skip resolutions, and
//! a restart from the stored groups.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, When};
use watchkeeper_domain::alert::matcher::{Labels, Matcher};
use watchkeeper_domain::alert::route::{GroupBy, GroupTiming, Route};
use watchkeeper_domain::alert::silence::{Inhibition, Silence};
use watchkeeper_domain::id::NotifierId;
use watchkeeper_domain::notifier::{
    Channel, MessageTemplateSources, NotifierSpec, SecretUrl, WebhookChannel, WebhookFormat,
};

use super::*;
use crate::payload::AlertStatus;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).unwrap()
}

fn monitor(id: &str) -> MonitorId {
    MonitorId::parse(id).unwrap()
}

fn route(matchers: &[&str], notify: &[&str], continue_matching: bool) -> Route {
    Route {
        matchers: matchers
            .iter()
            .map(|m| Matcher::parse(m).unwrap())
            .collect(),
        continue_matching,
        notify: notify.iter().map(|n| (*n).to_owned()).collect(),
        group_by: GroupBy::Labels(vec!["alertname".to_owned()]),
        timing: GroupTiming::default(),
        escalation: None,
    }
}

fn notifier(id: &str, send_resolved: bool) -> NotifierSpec {
    NotifierSpec {
        id: NotifierId::parse(id).unwrap(),
        channel: Channel::Webhook(WebhookChannel {
            url: SecretUrl(url::Url::parse("http://127.0.0.1:9/hook").unwrap()),
            secret: None,
            format: WebhookFormat::Watchkeeper,
            headers: Vec::new(),
        }),
        templates: MessageTemplateSources::default(),
        send_resolved,
    }
}

fn config(routes: Vec<Route>) -> DispatchConfig {
    DispatchConfig {
        routes,
        notifiers: vec![notifier("hook", true), notifier("chat", false)],
        external_url: "http://127.0.0.1:8080".to_owned(),
        ..DispatchConfig::default()
    }
}

/// A monitor's own alert, firing or resolved.
fn alert(monitor_id: &str, firing: bool, second: i64) -> AlertInfo {
    let labels = Labels::from([
        ("alertname".to_owned(), "MonitorDown".to_owned()),
        ("monitor".to_owned(), monitor_id.to_owned()),
        ("severity".to_owned(), "P2".to_owned()),
    ]);
    AlertInfo {
        fingerprint: format!("fp-{monitor_id}"),
        rule: "MonitorDown".to_owned(),
        monitor: monitor(monitor_id),
        labels,
        firing,
        fired_at: Some(at(second)),
        resolved_at: (!firing).then(|| at(second)),
        reason: firing.then(|| "connection refused".to_owned()),
    }
}

fn start(config: DispatchConfig) -> Dispatcher {
    Dispatcher::new(Arc::new(config), Vec::new(), Vec::new(), at(0))
}

/// (notifier, [(fingerprint, status)]) of each notification.
fn summary(outgoing: &[Outgoing]) -> Vec<(String, Vec<(String, AlertStatus)>)> {
    outgoing
        .iter()
        .map(|out| {
            (
                out.notifier.clone(),
                out.notification
                    .alerts
                    .iter()
                    .map(|a| (a.fingerprint.clone(), a.status))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn alerts_that_fire_together_go_out_together_once_then_their_resolution() {
    let mut dispatcher = start(config(vec![route(&[], &["hook"], false)]));
    dispatcher.observe(alert("api", true, 0), at(0));
    dispatcher.observe(alert("db", true, 10), at(10));
    assert_eq!(dispatcher.next_flush(), Some(at(30)));
    assert!(dispatcher.flush_due(at(29)).is_empty());
    let first = dispatcher.flush_due(at(30));
    assert_eq!(
        summary(&first),
        [(
            "hook".to_owned(),
            vec![
                ("fp-api".to_owned(), AlertStatus::Firing),
                ("fp-db".to_owned(), AlertStatus::Firing)
            ]
        )]
    );
    let notification = &first[0].notification;
    assert_eq!(notification.group_key, r#"0{alertname="MonitorDown"}"#);
    assert!(notification.id.starts_with("msg_"));
    assert_eq!(
        notification.alerts[0].url,
        "http://127.0.0.1:8080/api/v1/alerts/fp-api"
    );
    assert_eq!(
        notification.alerts[0].reason.as_deref(),
        Some("connection refused")
    );
    // nothing new at the next interval
    assert_eq!(dispatcher.next_flush(), Some(at(330)));
    assert!(dispatcher.flush_due(at(330)).is_empty());
    // api resolves: announced at the next interval, db still firing
    dispatcher.observe(alert("api", false, 400), at(400));
    let second = dispatcher.flush_due(at(630));
    assert_eq!(
        summary(&second),
        [(
            "hook".to_owned(),
            vec![
                ("fp-db".to_owned(), AlertStatus::Firing),
                ("fp-api".to_owned(), AlertStatus::Resolved)
            ]
        )]
    );
    assert_eq!(second[0].notification.alerts[1].ends_at, Some(at(400)));
    // db resolves: the last notification, then the group is gone
    dispatcher.observe(alert("db", false, 700), at(700));
    let last = dispatcher.flush_due(at(930));
    assert_eq!(
        summary(&last),
        [(
            "hook".to_owned(),
            vec![("fp-db".to_owned(), AlertStatus::Resolved)]
        )]
    );
    assert_eq!(dispatcher.next_flush(), None);
    let (changed, finished) = dispatcher.take_changes();
    assert!(changed.is_empty());
    assert_eq!(finished, [r#"0{alertname="MonitorDown"}"#]);
}

#[test]
fn a_firing_group_repeats_after_the_repeat_interval_only() {
    let mut dispatcher = start(config(vec![route(&[], &["hook"], false)]));
    dispatcher.observe(alert("api", true, 0), at(0));
    let mut sent = Vec::new();
    let mut now = 0;
    for _ in 0..200 {
        let Some(next) = dispatcher.next_flush() else {
            break;
        };
        now = next.as_second() - 1_800_000_000;
        if now > 9 * 3600 {
            break;
        }
        if !dispatcher.flush_due(next).is_empty() {
            sent.push(now);
        }
    }
    assert!(now > 8 * 3600, "the loop stopped early at {now}");
    assert_eq!(sent, [30, 30 + 14_400, 30 + 28_800]);
}

#[test]
fn a_route_that_continues_sends_to_both_and_a_notifier_may_skip_resolutions() {
    let mut dispatcher = start(config(vec![
        route(&["severity=P2"], &["chat"], true),
        route(&[], &["hook"], false),
    ]));
    dispatcher.observe(alert("api", true, 0), at(0));
    let first = dispatcher.flush_due(at(30));
    let notifiers: Vec<&str> = first.iter().map(|out| out.notifier.as_str()).collect();
    assert_eq!(notifiers, ["chat", "hook"]);
    dispatcher.observe(alert("api", false, 100), at(100));
    // chat does not send resolutions: only hook hears of it
    let second = dispatcher.flush_due(at(330));
    assert_eq!(
        summary(&second),
        [(
            "hook".to_owned(),
            vec![("fp-api".to_owned(), AlertStatus::Resolved)]
        )]
    );
}

#[test]
fn a_silenced_alert_is_recorded_not_sent_and_announced_when_the_silence_ends() {
    let mut dispatcher = start(config(vec![route(&[], &["hook"], false)]));
    dispatcher.set_silences(vec![Silence {
        id: "s1".to_owned(),
        matchers: vec![Matcher::parse("monitor=api").unwrap()],
        starts_at: at(0),
        ends_at: at(600),
        created_by: "alice".to_owned(),
        comment: "deploying".to_owned(),
    }]);
    dispatcher.observe(alert("api", true, 0), at(0));
    assert!(dispatcher.flush_due(at(30)).is_empty());
    assert_eq!(
        dispatcher.quieted(at(30)),
        [(
            "fp-api".to_owned(),
            Quiet::Silenced {
                silence: "s1".to_owned()
            }
        )]
    );
    // the group stays while its alert fires quietly
    assert_eq!(dispatcher.next_flush(), Some(at(330)));
    assert!(dispatcher.flush_due(at(330)).is_empty());
    // the silence ended at 600: the next flush announces it
    let sent = dispatcher.flush_due(at(630));
    assert_eq!(
        summary(&sent),
        [(
            "hook".to_owned(),
            vec![("fp-api".to_owned(), AlertStatus::Firing)]
        )]
    );
    assert!(dispatcher.quieted(at(630)).is_empty());
}

#[test]
fn maintenance_a_parent_down_and_an_inhibition_each_quiet_an_alert() {
    let mut config = config(vec![route(&[], &["hook"], false)]);
    config.maintenance = vec![MaintenanceWindow {
        id: "upgrade".to_owned(),
        title: "Database upgrade".to_owned(),
        monitors: vec![monitor("db")],
        components: Vec::new(),
        when: When::Once {
            start: at(0),
            end: at(3_600),
        },
    }];
    config.depends_on = HashMap::from([(monitor("checkout"), vec![monitor("gateway")])]);
    config.inhibitions = vec![Inhibition {
        source: vec![Matcher::parse("monitor=region").unwrap()],
        target: vec![Matcher::parse("monitor=edge").unwrap()],
        equal: vec!["alertname".to_owned()],
    }];
    let mut dispatcher = start(config);
    for id in ["db", "gateway", "checkout", "region", "edge"] {
        dispatcher.observe(alert(id, true, 0), at(0));
    }
    let quieted: Vec<(String, String)> = dispatcher
        .quieted(at(30))
        .into_iter()
        .map(|(fingerprint, quiet)| (fingerprint, quiet.describe()))
        .collect();
    assert_eq!(
        quieted,
        [
            (
                "fp-checkout".to_owned(),
                "suppressed: gateway, which it depends on, is down".to_owned()
            ),
            (
                "fp-db".to_owned(),
                "in maintenance window upgrade".to_owned()
            ),
            (
                "fp-edge".to_owned(),
                "inhibited by alert fp-region".to_owned()
            ),
        ]
    );
    let sent = dispatcher.flush_due(at(30));
    assert_eq!(
        summary(&sent),
        [(
            "hook".to_owned(),
            vec![
                ("fp-gateway".to_owned(), AlertStatus::Firing),
                ("fp-region".to_owned(), AlertStatus::Firing)
            ]
        )]
    );
    // the parent recovers: the child is news at the next flush
    dispatcher.observe(alert("gateway", false, 100), at(100));
    let next = dispatcher.flush_due(at(330));
    assert_eq!(
        summary(&next),
        [(
            "hook".to_owned(),
            vec![
                ("fp-checkout".to_owned(), AlertStatus::Firing),
                ("fp-region".to_owned(), AlertStatus::Firing),
                ("fp-gateway".to_owned(), AlertStatus::Resolved)
            ]
        )]
    );
}

#[test]
fn a_restart_from_the_stored_groups_keeps_their_timing_and_sends_nothing_twice() {
    let routes = vec![route(&[], &["hook"], false)];
    let mut dispatcher = start(config(routes.clone()));
    dispatcher.observe(alert("api", true, 0), at(0));
    assert_eq!(dispatcher.flush_due(at(30)).len(), 1);
    let (records, _) = dispatcher.take_changes();
    assert_eq!(records.len(), 1);

    // as read back from the store after a restart at 100 s
    let mut restarted = Dispatcher::new(
        Arc::new(config(routes.clone())),
        vec![alert("api", true, 0)],
        records.clone(),
        at(100),
    );
    assert_eq!(restarted.next_flush(), Some(at(330)));
    assert!(restarted.flush_due(at(330)).is_empty());
    restarted.observe(alert("api", false, 400), at(400));
    assert_eq!(
        summary(&restarted.flush_due(at(630))),
        [(
            "hook".to_owned(),
            vec![("fp-api".to_owned(), AlertStatus::Resolved)]
        )]
    );

    // a config that groups differently finishes the old group; its firing
    // alert starts a new one
    let mut by_monitor = route(&[], &["hook"], false);
    by_monitor.group_by = GroupBy::Labels(vec!["monitor".to_owned()]);
    let mut regrouped = Dispatcher::new(
        Arc::new(config(vec![by_monitor])),
        vec![alert("api", true, 0)],
        records,
        at(100),
    );
    let (changed, finished) = regrouped.take_changes();
    assert_eq!(finished, [r#"0{alertname="MonitorDown"}"#]);
    assert_eq!(changed[0].key, r#"0{monitor="api"}"#);
    assert_eq!(regrouped.next_flush(), Some(at(130)));
}

#[test]
fn delivery_ids_differ_by_group_notifier_and_instant() {
    let id = delivery_id("0{}", "hook", at(0));
    assert_eq!(id.len(), 4 + 26);
    assert_eq!(id, delivery_id("0{}", "hook", at(0)));
    assert_ne!(id, delivery_id("0{}", "chat", at(0)));
    assert_ne!(id, delivery_id("1{}", "hook", at(0)));
    assert_ne!(
        id,
        delivery_id("0{}", "hook", at(0) + Duration::from_millis(1))
    );
}

mod paging {
    use std::collections::{BTreeMap, BTreeSet};

    use jiff::civil::date;
    use jiff::tz::TimeZone;
    use watchkeeper_domain::id::{EscalationId, PersonId, ScheduleId};
    use watchkeeper_domain::oncall::escalation::{EscalationPolicy, EscalationTarget, Level};
    use watchkeeper_domain::oncall::link::LinkKey;
    use watchkeeper_domain::oncall::rotation::{Rotation, parse_handoff};
    use watchkeeper_domain::oncall::schedule::OnCallSchedule;
    use watchkeeper_domain::oncall::{Directory, Person};

    use super::*;
    use crate::escalate::Escalations;

    fn person(id: &str, contact: &[&str]) -> Person {
        Person {
            id: PersonId::parse(id).unwrap(),
            name: format!("{id} example"),
            email: Some(format!("{id}@example.com")),
            slack: None,
            phone: None,
            time_zone: None,
            contact: contact
                .iter()
                .map(|n| NotifierId::parse(n).unwrap())
                .collect(),
        }
    }

    /// `hook` and `chat` notifiers; alice is on call (weekly rotation from
    /// long before `at(0)`); carol is level 2; the team channel level 3.
    fn paging_config() -> DispatchConfig {
        let mut escalated = route(&[], &[], false);
        escalated.escalation = Some(EscalationId::parse("default").unwrap());
        let level = |targets: Vec<EscalationTarget>, minutes: Option<u64>| Level {
            targets,
            delay: minutes.map(|m| Duration::from_secs(m * 60)),
        };
        DispatchConfig {
            escalations: vec![EscalationPolicy {
                id: EscalationId::parse("default").unwrap(),
                levels: vec![
                    level(
                        vec![EscalationTarget::Schedule(
                            ScheduleId::parse("primary").unwrap(),
                        )],
                        Some(15),
                    ),
                    level(
                        vec![EscalationTarget::Person(PersonId::parse("carol").unwrap())],
                        Some(30),
                    ),
                    level(
                        vec![EscalationTarget::Notifier(
                            NotifierId::parse("chat").unwrap(),
                        )],
                        None,
                    ),
                ],
                repeat: 0,
                escalate_on_breach: false,
            }],
            directory: Directory {
                people: vec![
                    person("alice", &["hook"]),
                    person("carol", &["hook", "chat"]),
                ],
                schedules: vec![OnCallSchedule {
                    id: ScheduleId::parse("primary").unwrap(),
                    name: "Primary".to_owned(),
                    layers: vec![Rotation {
                        name: "base".to_owned(),
                        time_zone: TimeZone::UTC,
                        every_days: 7,
                        handoff: parse_handoff("Mon 09:00").unwrap(),
                        start: date(2026, 1, 5),
                        members: vec![PersonId::parse("alice").unwrap()],
                        restrictions: Vec::new(),
                    }],
                    overrides: Vec::new(),
                }],
                ack_targets: Default::default(),
            },
            link_expiry: Duration::from_secs(3600),
            ..config(vec![escalated])
        }
    }

    #[test]
    fn a_ladder_pages_the_person_on_call_then_the_next_levels_each_with_a_working_link() {
        let mut dispatcher = start(paging_config());
        let key = LinkKey::new([3; 32]);
        dispatcher.set_links(Links {
            key: key.clone(),
            expiry: Duration::from_secs(3600),
        });
        dispatcher.observe(alert("api", true, 0), at(0));
        let mut escalations = Escalations::default();
        let none = BTreeSet::new();
        let step = |now: Timestamp, escalations: &mut Escalations| {
            let due = escalations.step(&dispatcher.escalation_views(&none, now), now);
            let mut all = (Vec::new(), Vec::new());
            for page in &due {
                let (out, steps) = dispatcher.page(page, &BTreeMap::new(), dispatcher.links(), now);
                all.0.extend(out);
                all.1.extend(steps);
            }
            all
        };
        let (first, steps) = step(at(0), &mut escalations);
        assert_eq!(first.len(), 1);
        let page = first[0].notification.page.clone().unwrap();
        assert_eq!((page.level, page.target.as_str()), (1, "schedule:primary"));
        assert_eq!(page.person.unwrap().id, "alice");
        assert_eq!(steps[0].person.as_deref(), Some("alice"));
        assert_eq!(
            steps[0].delivery_id.as_deref(),
            Some(first[0].notification.id.as_str())
        );
        // The link acknowledges this firing, for alice, and verifies.
        let url = first[0].notification.alerts[0].ack_url.clone().unwrap();
        let token = url.strip_prefix("http://127.0.0.1:8080/ack/").unwrap();
        let claims = key.verify(token, at(60)).unwrap();
        assert_eq!(
            (
                claims.fingerprint.as_str(),
                claims.person.as_str(),
                claims.firing_since_ms
            ),
            ("fp-api", "alice", at(0).as_millisecond())
        );

        assert!(step(at(14 * 60), &mut escalations).0.is_empty());
        let (second, _) = step(at(15 * 60), &mut escalations);
        assert_eq!(
            second
                .iter()
                .map(|out| out.notifier.as_str())
                .collect::<Vec<_>>(),
            ["hook", "chat"],
            "carol through both her contacts"
        );
        let (third, _) = step(at(45 * 60), &mut escalations);
        assert_eq!(third.len(), 1);
        assert_eq!(
            third[0].notification.page.as_ref().unwrap().person,
            None,
            "the channel itself"
        );
        // Ids differ per page and stay the same if the same page is made again.
        let mut ids: Vec<&str> = first
            .iter()
            .chain(&second)
            .chain(&third)
            .map(|o| o.notification.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn an_acknowledged_alert_is_not_paged_further_and_group_notifications_carry_links_too() {
        let mut dispatcher = start(paging_config());
        dispatcher.set_links(Links {
            key: LinkKey::new([3; 32]),
            expiry: Duration::from_secs(3600),
        });
        let mut with_group = (*dispatcher.config().clone()).clone();
        with_group.routes[0].notify = vec!["hook".to_owned()];
        dispatcher.reconfigure(Arc::new(with_group), at(0));
        dispatcher.observe(alert("api", true, 0), at(0));
        let mut escalations = Escalations::default();
        let none = BTreeSet::new();
        assert_eq!(
            escalations
                .step(&dispatcher.escalation_views(&none, at(0)), at(0))
                .len(),
            1
        );
        let acked = BTreeSet::from([("fp-api".to_owned(), at(0))]);
        assert!(
            escalations
                .step(&dispatcher.escalation_views(&acked, at(3600)), at(3600))
                .is_empty()
        );
        let group = dispatcher.flush_due(at(30));
        assert!(group[0].notification.alerts[0].ack_url.is_some());
        assert!(group[0].notification.page.is_none());
    }
}
