//! Escalation in the dispatcher, without IO: each alert's view for
//! `escalate::Escalations` (its route's policy, quiet, acknowledged), and a
//! due level turned into notifications, one per recipient
//! (`domain::oncall::page::reach`), each with the page's facts and an
//! acknowledgement link, and the escalation steps that record them.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use watchkeeper_domain::alert::route::routes_for;
use watchkeeper_domain::alert::rule::SEVERITY;
use watchkeeper_domain::id::{EscalationId, ScheduleId};
use watchkeeper_domain::oncall::escalation::EscalationPolicy;
use watchkeeper_domain::oncall::link::{AckClaims, LinkKey, nonce_for};
use watchkeeper_domain::oncall::page::reach;
use watchkeeper_domain::oncall::schedule::Override;
use watchkeeper_store::NewEscalationStep;

use super::{Dispatcher, Outgoing, build};
use crate::escalate::{AlertView, DuePage};
use crate::payload::{AlertMessage, AlertStatus, Notification, PageInfo, PagedPerson};

/// How acknowledgement links are made: the store's key, how long a link
/// works, and where `/ack/{link}` is served.
#[derive(Debug, Clone)]
pub struct Links {
    pub key: LinkKey,
    pub expiry: std::time::Duration,
}

impl Dispatcher {
    /// The escalation policy of the first route `fingerprint` takes that
    /// names one.
    pub fn policy_of(&self, fingerprint: &str) -> Option<&EscalationPolicy> {
        let alert = self.alerts.get(fingerprint)?;
        routes_for(&self.config.routes, &alert.labels)
            .into_iter()
            .find_map(|index| self.config.routes[index].escalation.as_ref())
            .and_then(|id| self.policy(id))
    }

    fn policy(&self, id: &EscalationId) -> Option<&EscalationPolicy> {
        self.config
            .escalations
            .iter()
            .find(|policy| &policy.id == id)
    }

    /// Every known alert as escalation sees it at `now`; `acknowledged`
    /// holds (fingerprint, firing since) of each standing acknowledgement.
    pub fn escalation_views(
        &self,
        acknowledged: &BTreeSet<(String, Timestamp)>,
        now: Timestamp,
    ) -> Vec<AlertView<'_>> {
        self.alerts
            .values()
            .map(|alert| {
                let firing_since = alert.firing.then_some(alert.fired_at).flatten();
                let policy = self.policy_of(&alert.fingerprint);
                let breach_at = policy
                    .filter(|policy| policy.escalate_on_breach)
                    .and(firing_since)
                    .and_then(|since| {
                        let severity = alert.labels.get(SEVERITY)?;
                        let within = self.config.directory.ack_targets.within(severity)?;
                        since
                            .saturating_add(SignedDuration::try_from(within).ok()?)
                            .ok()
                    });
                AlertView {
                    fingerprint: &alert.fingerprint,
                    firing_since,
                    breach_at,
                    policy,
                    quiet: alert.firing && self.quiet(&alert.fingerprint, now).is_some(),
                    acknowledged: firing_since.is_some_and(|since| {
                        acknowledged.contains(&(alert.fingerprint.clone(), since))
                    }),
                }
            })
            .collect()
    }

    /// The notifications one due level makes, and the steps recording
    /// whom it reached (or why it reached nobody).
    pub fn page(
        &self,
        due: &DuePage,
        overrides: &BTreeMap<ScheduleId, Vec<Override>>,
        links: Option<&Links>,
        now: Timestamp,
    ) -> (Vec<Outgoing>, Vec<NewEscalationStep>) {
        let mut outgoing = Vec::new();
        let mut steps = Vec::new();
        let (Some(alert), Some(policy)) =
            (self.alerts.get(&due.fingerprint), self.policy(&due.policy))
        else {
            return (outgoing, steps);
        };
        let Some(level) = policy.levels.get(due.level) else {
            return (outgoing, steps);
        };
        let directory = &self.config.directory;
        let step = |target: String,
                    person: Option<String>,
                    notifier: Option<String>,
                    delivery: Option<String>,
                    note: String| {
            NewEscalationStep {
                fingerprint: due.fingerprint.clone(),
                firing_since: due.firing_since,
                policy: due.policy.to_string(),
                level: u32::try_from(due.level).unwrap_or(u32::MAX),
                round: due.round,
                at: now,
                target,
                person,
                notifier,
                delivery_id: delivery,
                note,
            }
        };
        let reached = reach(level, directory, overrides, now);
        for (target, why) in reached.unreached {
            steps.push(step(target, None, None, None, why));
        }
        let message = build::alert_message(self, alert, AlertStatus::Firing);
        for recipient in reached.recipients {
            let person = recipient
                .person
                .as_ref()
                .and_then(|id| directory.person(id))
                .map(|person| PagedPerson {
                    id: person.id.to_string(),
                    name: person.name.clone(),
                    email: person.email.clone(),
                    slack: person.slack.clone(),
                });
            let id = page_id(
                due,
                recipient.notifier.as_str(),
                recipient.person.as_ref().map(|p| p.as_str()),
            );
            let mut message = message.clone();
            message.ack_url = links.and_then(|links| {
                ack_url(
                    &self.config.external_url,
                    links,
                    &message,
                    person.as_ref().map_or("", |person| person.id.as_str()),
                    &id,
                    now,
                )
            });
            let notification = Notification {
                id: id.clone(),
                receiver: recipient.notifier.to_string(),
                group_key: format!("escalation:{}:{}", due.policy, due.fingerprint),
                group_labels: Default::default(),
                alerts: vec![message],
                external_url: self.config.external_url.clone(),
                sent_at: now,
                page: Some(PageInfo {
                    policy: due.policy.to_string(),
                    level: u32::try_from(due.level + 1).unwrap_or(u32::MAX),
                    round: due.round + 1,
                    target: recipient.target.clone(),
                    person,
                    reminder: false,
                }),
            };
            let note = if due.breach {
                "paged early: the alert was not acknowledged within its severity's target"
            } else {
                "paged"
            };
            steps.push(step(
                recipient.target.clone(),
                recipient.person.as_ref().map(ToString::to_string),
                Some(recipient.notifier.to_string()),
                Some(id),
                note.to_owned(),
            ));
            outgoing.push(Outgoing {
                notifier: recipient.notifier.to_string(),
                notification,
            });
        }
        (outgoing, steps)
    }
}

/// `msg_` and 26 hex digits of the alert's firing, the level, the round,
/// the notifier and the person: the same if the same page is ever made
/// again (so a receiver deduplicates it), different for any other page.
fn page_id(due: &DuePage, notifier: &str, person: Option<&str>) -> String {
    build::message_id(&[
        due.fingerprint.as_bytes(),
        due.policy.as_str().as_bytes(),
        notifier.as_bytes(),
        person.unwrap_or("").as_bytes(),
        &due.firing_since.as_millisecond().to_be_bytes(),
        &due.level.to_be_bytes(),
        &due.round.to_be_bytes(),
    ])
}

/// The acknowledgement link for a firing `message` sent in delivery
/// `delivery` (to `person`, or to a channel when empty).
pub(super) fn ack_url(
    external_url: &str,
    links: &Links,
    message: &AlertMessage,
    person: &str,
    delivery: &str,
    now: Timestamp,
) -> Option<String> {
    if message.status != AlertStatus::Firing {
        return None;
    }
    let expiry = SignedDuration::try_from(links.expiry).ok()?;
    let expires = now.saturating_add(expiry).ok()?;
    let claims = AckClaims {
        fingerprint: message.fingerprint.clone(),
        firing_since_ms: message.starts_at.as_millisecond(),
        person: person.to_owned(),
        expires: expires.as_second(),
        nonce: nonce_for(&format!("{delivery}:{}", message.fingerprint)),
    };
    Some(format!(
        "{}/ack/{}",
        external_url.trim_end_matches('/'),
        links.key.sign(&claims)
    ))
}
