//! The raw mirror of the alerting sections: `[alerting]`, `[[alert]]`,
//! `[[slo]]`, `[[route]]`, `[[inhibit]]`, `[[maintenance]]` and
//! `[[notifier]]` (whose channel is one of several tables, like a
//! monitor's probe), and the kinds of value only they hold: a route's
//! `match` table, an inhibition's `source`/`target` (a `match` table or a
//! list of matcher strings) and an SLO's `objective` (a percentage or a
//! fraction).

use crate::raw_table::{
    Flag, FromField, Integer, QuotableText, Text, TextList, TextMap, raw_one_of, raw_table,
};
use crate::source::Located;
use crate::tree::{Fields, Node, Reader};

raw_table! {
    pub(crate) struct RawAlerting in "[alerting]" {
        failure_threshold: Integer = "failure_threshold",
        success_threshold: Integer = "success_threshold",
        severities: TextList = "severities",
        default_severity: Text = "default_severity",
    }
}

raw_table! {
    pub(crate) struct RawAlert in "[[alert]]" {
        at,
        id: Text = "id",
        monitors: TextList = "monitors",
        component: Text = "component",
        window: Text = "window",
        when: Text = "when",
        /// `for`, a keyword in Rust.
        hold_for: Text = "for",
        keep_firing_for: Text = "keep_firing_for",
        severity: Text = "severity",
        labels: TextMap = "labels",
        annotations: TextMap = "annotations",
        runbook: Text = "runbook",
        count_degraded_as_failure: Flag = "count_degraded_as_failure",
    }
}

raw_table! {
    pub(crate) struct RawSlo in "[[slo]]" {
        at,
        id: Text = "id",
        monitors: TextList = "monitors",
        component: Text = "component",
        objective: Option<Located<RawObjective>> = "objective",
        period: Text = "period",
        latency: Text = "latency",
        severity: Text = "severity",
        labels: TextMap = "labels",
    }
}

raw_table! {
    pub(crate) struct RawRoute in "[[route]]" {
        at,
        /// `match`, a keyword in Rust.
        match_labels: Option<Located<Vec<RawMatch>>> = "match",
        matchers: TextList = "matchers",
        notify: TextList = "notify",
        group_by: TextList = "group_by",
        group_wait: Text = "group_wait",
        group_interval: Text = "group_interval",
        repeat_interval: Text = "repeat_interval",
        /// `continue`, a keyword in Rust.
        continue_matching: Flag = "continue",
        escalation: Text = "escalation",
    }
}

raw_table! {
    pub(crate) struct RawInhibit in "[[inhibit]]" {
        at,
        source: Option<Located<RawSelector>> = "source",
        target: Option<Located<RawSelector>> = "target",
        equal: TextList = "equal",
    }
}

raw_table! {
    pub(crate) struct RawMaintenance in "[[maintenance]]" {
        at,
        id: Text = "id",
        title: Text = "title",
        monitors: TextList = "monitors",
        components: TextList = "components",
        start: Text = "start",
        end: Text = "end",
        schedule: Text = "schedule",
        duration: Text = "duration",
        time_zone: Text = "time_zone",
    }
}

raw_table! {
    pub(crate) struct RawNotifier in "[[notifier]]" {
        at,
        id: Text = "id",
        /// Every channel key given; exactly one is valid. Located at the key.
        channels: Vec<Located<RawChannel>> = RawChannel::KEYS,
        templates: RawTemplates = "templates",
        send_resolved: Flag = "send_resolved",
    }
}

raw_one_of! {
    /// A notifier's channel, in the order the keys are documented.
    pub(crate) enum RawChannel {
        Webhook(RawWebhookChannel) = "webhook",
        Slack(RawSlackChannel) = "slack",
        Discord(RawDiscordChannel) = "discord",
        Teams(RawTeamsChannel) = "teams",
        Ntfy(RawNtfyChannel) = "ntfy",
        PagerDuty(RawPagerDutyChannel) = "pagerduty",
        Email(RawEmailChannel) = "email",
        Command(RawCommandChannel) = "command",
    }
}

raw_table! {
    pub(crate) struct RawTemplates in "templates" {
        title: Text = "title",
        text: Text = "text",
    }
}

raw_table! {
    pub(crate) struct RawWebhookChannel in "notifier.webhook" {
        url: QuotableText = "url",
        secret: Text = "secret",
        format: Text = "format",
        headers: TextMap = "headers",
    }
}

raw_table! {
    pub(crate) struct RawSlackChannel in "notifier.slack" {
        url: QuotableText = "url",
    }
}

raw_table! {
    pub(crate) struct RawDiscordChannel in "notifier.discord" {
        url: QuotableText = "url",
    }
}

raw_table! {
    pub(crate) struct RawTeamsChannel in "notifier.teams" {
        url: QuotableText = "url",
    }
}

raw_table! {
    pub(crate) struct RawNtfyChannel in "notifier.ntfy" {
        url: QuotableText = "url",
        token: Text = "token",
        priority: Integer = "priority",
    }
}

raw_table! {
    pub(crate) struct RawPagerDutyChannel in "notifier.pagerduty" {
        routing_key: Text = "routing_key",
        url: QuotableText = "url",
    }
}

raw_table! {
    pub(crate) struct RawEmailChannel in "notifier.email" {
        smtp: QuotableText = "smtp",
        tls: Text = "tls",
        username: Text = "username",
        password: Text = "password",
        from: Text = "from",
        to: TextList = "to",
    }
}

raw_table! {
    pub(crate) struct RawCommandChannel in "notifier.command" {
        argv: TextList = "argv",
        timeout: Text = "timeout",
    }
}

/// One entry of a `match` table: `team = "payments"` or
/// `severity = ["P0", "P1"]` (any of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawMatch {
    pub name: Located<String>,
    pub values: Vec<Located<String>>,
}

/// What an inhibition's `source` or `target` selects: a `match` table or
/// a list of matcher strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawSelector {
    Match(Vec<RawMatch>),
    Matchers(Vec<Located<String>>),
}

/// `"99.9%"` or `0.999`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawObjective {
    Text(String),
    Fraction(f64),
}

fn match_table(
    reader: &mut Reader<'_>,
    node: &Node<'_>,
    what: &str,
) -> Option<Located<Vec<RawMatch>>> {
    let at = reader.loc(node.span());
    let Some(table) = node.get_ref().as_table() else {
        reader.error(
            &at,
            format!(
                "{what} must be a table of labels, like {{ severity = [\"P0\", \"P1\"], team = \"payments\" }}, found {}",
                node.get_ref().type_str()
            ),
        );
        return None;
    };
    let mut entries = Vec::new();
    for (key, value) in table.iter() {
        let name: &str = key.get_ref().as_ref();
        let name = Located::new(name.to_owned(), reader.loc(key.span()));
        let label = format!("`{}` in {what}", name.value);
        let values = if value.get_ref().is_array() {
            reader.texts(value, &label).map(|list| list.value)
        } else if value.get_ref().is_str() {
            reader.text(value, &label).map(|text| vec![text])
        } else {
            let at = reader.loc(value.span());
            reader.error(
                &at,
                format!(
                    "{label} must be a string or a list of strings, found {}",
                    value.get_ref().type_str()
                ),
            );
            None
        };
        if let Some(values) = values {
            entries.push(RawMatch { name, values });
        }
    }
    // Written order, not the map's key order.
    entries.sort_by_key(|entry| (entry.name.at.line, entry.name.at.column));
    Some(Located::new(entries, at))
}

impl FromField<&'static str> for Option<Located<Vec<RawMatch>>> {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        let node = fields.node(key)?;
        match_table(reader, node, &format!("`{key}`"))
    }
}

impl FromField<&'static str> for Option<Located<RawSelector>> {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        let node = fields.node(key)?;
        let what = format!("`{key}`");
        if node.get_ref().is_array() {
            let list = reader.texts(node, &what)?;
            return Some(Located::new(RawSelector::Matchers(list.value), list.at));
        }
        if node.get_ref().is_table() {
            let table = match_table(reader, node, &what)?;
            return Some(Located::new(RawSelector::Match(table.value), table.at));
        }
        let at = reader.loc(node.span());
        reader.error(
            &at,
            format!(
                "{what} must be a table of labels ({{ alertname = \"region-down\" }}) or a list of matchers (['severity=~\"P0|P1\"']), found {}",
                node.get_ref().type_str()
            ),
        );
        None
    }
}

impl FromField<&'static str> for Option<Located<RawObjective>> {
    fn from_field(fields: &mut Fields<'_, '_>, reader: &mut Reader<'_>, key: &'static str) -> Self {
        let node = fields.node(key)?;
        let what = format!("`{key}`");
        if node.get_ref().is_str() {
            let text = reader.text(node, &what)?;
            return Some(Located::new(RawObjective::Text(text.value), text.at));
        }
        let at = reader.loc(node.span());
        let number = match node.get_ref() {
            toml::de::DeValue::Float(float) => float.as_str().replace('_', "").parse().ok(),
            toml::de::DeValue::Integer(_) => reader
                .integer(node, &what)
                .map(|integer| integer.value as f64),
            _ => None,
        };
        match number {
            Some(fraction) => Some(Located::new(RawObjective::Fraction(fraction), at)),
            None => {
                reader.error(
                    &at,
                    format!(
                        "{what} must be a percentage like \"99.9%\" or a fraction like 0.999, found {}",
                        node.get_ref().type_str()
                    ),
                );
                None
            }
        }
    }
}
