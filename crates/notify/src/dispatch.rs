//! The dispatcher's decisions, without IO: which route groups an alert
//! joins, when each group flushes (`domain::alert::group`), which alerts are
//! quieted at that instant (a silence, an inhibition, a maintenance window,
//! a parent monitor that is down), and the notifications a flush makes, one
//! per notifier of the route. [`crate::outbox`] feeds it the alert events
//! read from the store and commits what it decides.
//!
//! Quieted alerts stay in their group, recorded and visible; they are left
//! out of what is sent, and announced if they still fire when the quiet
//! ends (Alertmanager's behaviour).

mod build;
mod paging;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::alert::group::GroupState;
use watchkeeper_domain::alert::maintenance::{MaintenanceWindow, suppressing};
use watchkeeper_domain::alert::matcher::Labels;
use watchkeeper_domain::alert::route::{Route, group_key, routes_for};
use watchkeeper_domain::alert::rule::{COMPONENT, MONITOR};
use watchkeeper_domain::alert::silence::{Inhibition, Silence};
use watchkeeper_domain::alert::{AlertPhase, RuleSet, StoredAlert};
use watchkeeper_domain::id::ComponentId;
use watchkeeper_domain::notifier::NotifierSpec;
use watchkeeper_domain::oncall::Directory;
use watchkeeper_domain::oncall::escalation::EscalationPolicy;
use watchkeeper_store::GroupRecord;

use crate::payload::Notification;
pub use build::delivery_id;
pub use paging::Links;

/// What the dispatcher is configured with; replaced whole on reload.
#[derive(Debug, Clone, Default)]
pub struct DispatchConfig {
    pub routes: Vec<Route>,
    pub inhibitions: Vec<Inhibition>,
    pub maintenance: Vec<MaintenanceWindow>,
    pub notifiers: Vec<NotifierSpec>,
    /// The rules, for each alert's annotations and runbook.
    pub rules: RuleSet,
    /// Each monitor's parents (`depends_on`).
    pub depends_on: HashMap<MonitorId, Vec<MonitorId>>,
    /// Where Watchkeeper is reached, for links (`http://host:port`).
    pub external_url: String,
    /// The escalation policies routes name.
    pub escalations: Vec<EscalationPolicy>,
    /// People and schedules, for whom a level reaches.
    pub directory: Directory,
    /// How long an acknowledgement link works.
    pub link_expiry: std::time::Duration,
}

/// What the dispatcher knows of one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertInfo {
    pub fingerprint: String,
    pub rule: String,
    pub monitor: MonitorId,
    pub labels: Labels,
    pub firing: bool,
    pub fired_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    /// The failed condition when it last fired, when known.
    pub reason: Option<String>,
}

impl AlertInfo {
    pub fn of(alert: &StoredAlert, reason: Option<String>) -> AlertInfo {
        AlertInfo {
            fingerprint: alert.fingerprint.clone(),
            rule: alert.rule.clone(),
            monitor: alert.monitor.clone(),
            labels: alert.labels.clone(),
            firing: alert.state.phase == AlertPhase::Firing,
            fired_at: alert.state.fired_at,
            resolved_at: alert.state.resolved_at,
            reason,
        }
    }
}

/// Why an alert is not sent right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quiet {
    Silenced {
        silence: String,
    },
    /// A firing alert matching an `[[inhibit]]`'s source inhibits it.
    Inhibited {
        by: String,
    },
    Maintenance {
        window: String,
    },
    /// A monitor it depends on has a firing alert.
    ParentDown {
        parent: MonitorId,
    },
}

impl Quiet {
    pub fn describe(&self) -> String {
        match self {
            Quiet::Silenced { silence } => format!("silenced by {silence}"),
            Quiet::Inhibited { by } => format!("inhibited by alert {by}"),
            Quiet::Maintenance { window } => format!("in maintenance window {window}"),
            Quiet::ParentDown { parent } => {
                format!("suppressed: {parent}, which it depends on, is down")
            }
        }
    }
}

/// One notification to hand to one notifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub notifier: String,
    pub notification: Notification,
}

#[derive(Debug, Clone)]
struct Group {
    route: usize,
    labels: Labels,
    state: GroupState,
    members: BTreeSet<String>,
}

/// The dispatcher's state: the alerts it knows and its route groups.
#[derive(Debug)]
pub struct Dispatcher {
    config: Arc<DispatchConfig>,
    alerts: HashMap<String, AlertInfo>,
    groups: BTreeMap<String, Group>,
    silences: Vec<Silence>,
    /// Groups changed since [`Dispatcher::take_changes`].
    changed: BTreeSet<String>,
    finished: BTreeSet<String>,
    /// How acknowledgement links are signed; none until the outbox has
    /// read the store's key (then every firing alert sent carries one).
    links: Option<Links>,
}

impl Dispatcher {
    /// Starts from the stored alerts and groups. A stored group whose route
    /// no longer exists, or no longer groups its alerts that way (the
    /// config changed while Watchkeeper was down), is finished, and its
    /// alerts join the groups they belong to now.
    pub fn new(
        config: Arc<DispatchConfig>,
        alerts: Vec<AlertInfo>,
        stored: Vec<GroupRecord>,
        now: Timestamp,
    ) -> Dispatcher {
        let mut dispatcher = Dispatcher {
            config,
            alerts: alerts
                .into_iter()
                .map(|alert| (alert.fingerprint.clone(), alert))
                .collect(),
            groups: BTreeMap::new(),
            silences: Vec::new(),
            changed: BTreeSet::new(),
            finished: BTreeSet::new(),
            links: None,
        };
        for record in stored {
            dispatcher.restore(record);
        }
        let firing: Vec<String> = dispatcher
            .alerts
            .values()
            .filter(|alert| alert.firing)
            .map(|alert| alert.fingerprint.clone())
            .collect();
        for fingerprint in firing {
            dispatcher.join_groups(&fingerprint, now);
        }
        dispatcher
    }

    fn restore(&mut self, record: GroupRecord) {
        let route = record
            .key
            .split_once('{')
            .and_then(|(index, _)| index.parse::<usize>().ok())
            .filter(|index| *index < self.config.routes.len());
        let members: BTreeSet<String> = record
            .members
            .into_iter()
            .filter(|fingerprint| self.alerts.contains_key(fingerprint))
            .collect();
        let still_grouped = route.and_then(|route| {
            let first = members.iter().next()?;
            let labels = &self.alerts.get(first)?.labels;
            let config_route = &self.config.routes[route];
            (group_key(route, config_route, labels) == record.key).then(|| (route, labels.clone()))
        });
        let Some((route, labels)) = still_grouped else {
            self.finished.insert(record.key);
            return;
        };
        let group = Group {
            route,
            labels: group_labels(&self.config.routes[route], &labels),
            state: GroupState {
                next_flush: record.next_flush,
                last_sent: record.last_sent,
                sent_firing: record.sent_firing.into_iter().collect(),
            },
            members,
        };
        self.groups.insert(record.key, group);
    }

    /// Replaces the config (a reload). Groups are kept where their route
    /// still groups their alerts the same way; the others finish, and
    /// their firing alerts join their new groups (which wait `group_wait`).
    pub fn reconfigure(&mut self, config: Arc<DispatchConfig>, now: Timestamp) {
        let records: Vec<GroupRecord> = self.records();
        self.config = config;
        let old: BTreeSet<String> = self.groups.keys().cloned().collect();
        self.groups.clear();
        for record in records {
            self.restore(record);
        }
        let firing: Vec<String> = self
            .alerts
            .values()
            .filter(|alert| alert.firing)
            .map(|alert| alert.fingerprint.clone())
            .collect();
        for fingerprint in firing {
            self.join_groups(&fingerprint, now);
        }
        for key in old {
            if !self.groups.contains_key(&key) {
                self.finished.insert(key);
            }
        }
    }

    pub fn config(&self) -> &Arc<DispatchConfig> {
        &self.config
    }

    /// The silences in effect from now on (the store's, re-read when one
    /// is added or expired).
    pub fn set_silences(&mut self, silences: Vec<Silence>) {
        self.silences = silences;
    }

    /// Signs acknowledgement links with `links` from now on.
    pub fn set_links(&mut self, links: Links) {
        self.links = Some(links);
    }

    pub fn links(&self) -> Option<&Links> {
        self.links.as_ref()
    }

    pub fn knows(&self, fingerprint: &str) -> bool {
        self.alerts.contains_key(fingerprint)
    }

    pub fn alert(&self, fingerprint: &str) -> Option<&AlertInfo> {
        self.alerts.get(fingerprint)
    }

    /// An alert changed (an event was committed): remember it, and if it
    /// fires, put it in its route groups (a new group waits `group_wait`).
    pub fn observe(&mut self, alert: AlertInfo, now: Timestamp) {
        let fingerprint = alert.fingerprint.clone();
        let firing = alert.firing;
        let reason = alert.reason.clone();
        let entry = self
            .alerts
            .entry(fingerprint.clone())
            .or_insert(alert.clone());
        *entry = AlertInfo {
            // a resolution keeps the reason it fired with
            reason: reason.or_else(|| entry.reason.take()),
            ..alert
        };
        if firing {
            self.join_groups(&fingerprint, now);
        }
    }

    fn join_groups(&mut self, fingerprint: &str, now: Timestamp) {
        let Some(alert) = self.alerts.get(fingerprint) else {
            return;
        };
        for route_index in routes_for(&self.config.routes, &alert.labels) {
            let route = &self.config.routes[route_index];
            let key = group_key(route_index, route, &alert.labels);
            let group = self.groups.entry(key.clone()).or_insert_with(|| Group {
                route: route_index,
                labels: group_labels(route, &alert.labels),
                state: GroupState::new(&route.timing, now),
                members: BTreeSet::new(),
            });
            if group.members.insert(fingerprint.to_owned()) {
                self.changed.insert(key.clone());
            }
            self.finished.remove(&key);
        }
    }

    /// When the next group flush is due.
    pub fn next_flush(&self) -> Option<Timestamp> {
        self.groups
            .values()
            .map(|group| group.state.next_flush)
            .min()
    }

    /// Why `fingerprint` is not sent at `now`, if it is not.
    pub fn quiet(&self, fingerprint: &str, now: Timestamp) -> Option<Quiet> {
        let alert = self.alerts.get(fingerprint)?;
        if let Some(silence) = self
            .silences
            .iter()
            .find(|silence| silence.mutes(&alert.labels, now))
        {
            return Some(Quiet::Silenced {
                silence: silence.id.clone(),
            });
        }
        let component = alert
            .labels
            .get(COMPONENT)
            .and_then(|component| ComponentId::parse(component).ok());
        if let Some((window, _)) = suppressing(
            &self.config.maintenance,
            &alert.monitor,
            component.as_ref(),
            now,
        ) {
            return Some(Quiet::Maintenance {
                window: window.id.clone(),
            });
        }
        if let Some(parent) = self
            .config
            .depends_on
            .get(&alert.monitor)
            .and_then(|parents| parents.iter().find(|parent| self.monitor_down(parent)))
        {
            return Some(Quiet::ParentDown {
                parent: parent.clone(),
            });
        }
        for inhibition in &self.config.inhibitions {
            let source = self.alerts.values().find(|source| {
                source.firing && inhibition.inhibits(&alert.labels, [&source.labels])
            });
            if let Some(source) = source {
                return Some(Quiet::Inhibited {
                    by: source.fingerprint.clone(),
                });
            }
        }
        None
    }

    fn monitor_down(&self, monitor: &MonitorId) -> bool {
        self.alerts.values().any(|alert| {
            alert.firing && alert.labels.get(MONITOR).map(String::as_str) == Some(monitor.as_str())
        })
    }

    /// Flushes every group due at `now`: the notifications to write, one
    /// per notifier of each group that has news.
    pub fn flush_due(&mut self, now: Timestamp) -> Vec<Outgoing> {
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, group)| group.state.next_flush <= now)
            .map(|(key, _)| key.clone())
            .collect();
        let mut outgoing = Vec::new();
        for key in due {
            outgoing.extend(self.flush_group(&key, now));
        }
        outgoing
    }

    fn flush_group(&mut self, key: &str, now: Timestamp) -> Vec<Outgoing> {
        let Some(group) = self.groups.get(key) else {
            return Vec::new();
        };
        let route = &self.config.routes[group.route];
        let mut firing = BTreeSet::new();
        let mut resolved = BTreeSet::new();
        let mut quieted_firing = false;
        for fingerprint in &group.members {
            let Some(alert) = self.alerts.get(fingerprint) else {
                continue;
            };
            if !alert.firing {
                resolved.insert(fingerprint.clone());
            } else if self.quiet(fingerprint, now).is_some() {
                quieted_firing = true;
            } else {
                firing.insert(fingerprint.clone());
            }
        }
        let (state, flush) = group.state.flush(&route.timing, &firing, &resolved, now);
        let notifications = match &flush {
            Some(flush) => build::notifications(self, key, group, route, flush, now),
            None => Vec::new(),
        };
        let members: BTreeSet<String> = group
            .members
            .iter()
            .filter(|fingerprint| !resolved.contains(*fingerprint))
            .cloned()
            .collect();
        let done = members.is_empty() && !quieted_firing;
        if done {
            self.groups.remove(key);
            self.changed.remove(key);
            self.finished.insert(key.to_owned());
        } else if let Some(group) = self.groups.get_mut(key) {
            group.state = state;
            group.members = members;
            self.changed.insert(key.to_owned());
        }
        notifications
    }

    fn records(&self) -> Vec<GroupRecord> {
        self.groups
            .iter()
            .map(|(key, group)| record(key, group))
            .collect()
    }

    /// The groups changed and finished since the last call, to commit.
    pub fn take_changes(&mut self) -> (Vec<GroupRecord>, Vec<String>) {
        let changed = std::mem::take(&mut self.changed);
        let finished = std::mem::take(&mut self.finished);
        let records = changed
            .iter()
            .filter_map(|key| self.groups.get(key).map(|group| record(key, group)))
            .collect();
        (records, finished.into_iter().collect())
    }

    /// Every alert the dispatcher knows, firing, with why it is quiet.
    pub fn quieted(&self, now: Timestamp) -> Vec<(String, Quiet)> {
        let mut quieted: Vec<(String, Quiet)> = self
            .alerts
            .values()
            .filter(|alert| alert.firing)
            .filter_map(|alert| {
                self.quiet(&alert.fingerprint, now)
                    .map(|quiet| (alert.fingerprint.clone(), quiet))
            })
            .collect();
        quieted.sort_by(|a, b| a.0.cmp(&b.0));
        quieted
    }
}

fn record(key: &str, group: &Group) -> GroupRecord {
    GroupRecord {
        key: key.to_owned(),
        next_flush: group.state.next_flush,
        last_sent: group.state.last_sent,
        sent_firing: group.state.sent_firing.iter().cloned().collect(),
        members: group.members.iter().cloned().collect(),
    }
}

/// The labels a group is keyed by, with their values.
fn group_labels(route: &Route, labels: &Labels) -> Labels {
    use watchkeeper_domain::alert::route::GroupBy;
    match &route.group_by {
        GroupBy::All => labels.clone(),
        GroupBy::Labels(names) => names
            .iter()
            .filter_map(|name| labels.get(name).map(|value| (name.clone(), value.clone())))
            .collect(),
    }
}
