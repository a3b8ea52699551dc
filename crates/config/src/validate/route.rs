//! `[[route]]` and `[[inhibit]]`, with Alertmanager's meaning: label
//! selectors written as a `match` table (a list of values means any of
//! them) or as Alertmanager matcher strings, both becoming domain
//! `Matcher`s; a route's notifiers (references), grouping and timing.

use watchkeeper_domain::alert::matcher::{MatchOp, Matcher};
use watchkeeper_domain::alert::route::{GroupBy, GroupTiming, Route};
use watchkeeper_domain::alert::silence::Inhibition;
use watchkeeper_domain::id::{EscalationId, NotifierId};

use super::Problems;
use super::alerting::{duration, label_names, unknown_severity};
use super::references::{References, Target};
use crate::model::Severities;
use crate::raw::{RawInhibit, RawMatch, RawRoute, RawSelector};
use crate::source::{Loc, Located};

/// `group_by = ["..."]`: every label, one group per alert.
const ALL_LABELS: &str = "...";

pub(super) fn validate_route(
    raw: RawRoute,
    severities: &Severities,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Option<Route> {
    let RawRoute {
        at,
        match_labels,
        matchers,
        notify,
        group_by,
        group_wait,
        group_interval,
        repeat_interval,
        continue_matching,
        escalation,
    } = raw;
    let before = problems.count();
    let mut selected = match_labels
        .map(|table| match_table(table.value, severities, problems))
        .unwrap_or_default();
    for text in matchers.map(|list| list.value).unwrap_or_default() {
        if let Some(matcher) = matcher_string(text, severities, problems) {
            selected.push(matcher);
        }
    }
    let notify = match notify {
        None => {
            problems.at(
                &at,
                "[[route]] is missing `notify`, the notifiers it sends to (`notify = []` sends nowhere)",
            );
            Vec::new()
        }
        Some(list) => notifier_ids(list.value, references, problems),
    };
    let group_by = match group_by {
        None => GroupBy::Labels(Vec::new()),
        Some(list) => match list.value.iter().position(|name| name.value == ALL_LABELS) {
            Some(_) if list.value.len() > 1 => {
                problems.at(
                    &list.at,
                    "`group_by = [\"...\"]` groups by every label; it cannot be listed with other labels",
                );
                GroupBy::All
            }
            Some(_) => GroupBy::All,
            None => GroupBy::Labels(label_names(list.value, "group_by", problems)),
        },
    };
    let defaults = GroupTiming::default();
    let timing = GroupTiming {
        group_wait: group_wait
            .and_then(|raw| duration(raw, "group_wait", false, problems))
            .unwrap_or(defaults.group_wait),
        group_interval: group_interval
            .and_then(|raw| duration(raw, "group_interval", true, problems))
            .unwrap_or(defaults.group_interval),
        repeat_interval: repeat_interval
            .and_then(|raw| duration(raw, "repeat_interval", true, problems))
            .unwrap_or(defaults.repeat_interval),
    };
    let escalation = escalation.and_then(|name| match EscalationId::parse(&name.value) {
        Ok(id) => {
            references.add(Target::Escalation, name);
            Some(id)
        }
        Err(error) => {
            problems.at(&name.at, format!("invalid escalation id: {error}"));
            None
        }
    });
    if problems.count() > before {
        return None;
    }
    Some(Route {
        matchers: selected,
        continue_matching: continue_matching.is_some_and(|flag| flag.value),
        notify,
        group_by,
        timing,
        escalation,
    })
}

fn notifier_ids(
    names: Vec<Located<String>>,
    references: &mut References,
    problems: &mut Problems<'_>,
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for name in names {
        match NotifierId::parse(&name.value) {
            Ok(_) if ids.contains(&name.value) => problems.at(
                &name.at,
                format!("notifier `{}` is listed twice in `notify`", name.value),
            ),
            Ok(_) => {
                ids.push(name.value.clone());
                references.add(Target::Notifier, name);
            }
            Err(error) => problems.at(&name.at, format!("invalid notifier id: {error}")),
        }
    }
    ids
}

/// `{ severity = ["P0", "P1"], team = "payments" }`: one value is an
/// equality, several are any of them (an anchored regex of the escaped
/// values, which is what Alertmanager users write by hand).
fn match_table(
    entries: Vec<RawMatch>,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> Vec<Matcher> {
    let mut matchers = Vec::new();
    for RawMatch { name, values } in entries {
        if name.value == "severity" {
            for value in &values {
                check_severity(&value.value, &value.at, severities, problems);
            }
        }
        let matcher = match values.as_slice() {
            [] => {
                problems.at(
                    &name.at,
                    format!("`{}` must list at least one value", name.value),
                );
                continue;
            }
            [one] => Matcher::new(&name.value, MatchOp::Equal, &one.value),
            many => {
                let any_of: Vec<String> = many
                    .iter()
                    .map(|value| regex::escape(&value.value))
                    .collect();
                Matcher::new(&name.value, MatchOp::Regex, &any_of.join("|"))
            }
        };
        match matcher {
            Ok(matcher) => matchers.push(matcher),
            Err(error) => problems.at(&name.at, error.to_string()),
        }
    }
    matchers
}

fn matcher_string(
    text: Located<String>,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> Option<Matcher> {
    match Matcher::parse(&text.value) {
        Ok(matcher) => {
            if matcher.name == "severity"
                && matches!(matcher.op, MatchOp::Equal | MatchOp::NotEqual)
            {
                check_severity(&matcher.value, &text.at, severities, problems);
            }
            Some(matcher)
        }
        Err(error) => {
            problems.at(&text.at, error.to_string());
            None
        }
    }
}

fn check_severity(value: &str, at: &Loc, severities: &Severities, problems: &mut Problems<'_>) {
    if severities.rank(value).is_none() {
        problems.at(at, unknown_severity(value, severities));
    }
}

pub(super) fn validate_inhibit(
    raw: RawInhibit,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> Option<Inhibition> {
    let RawInhibit {
        at,
        source,
        target,
        equal,
    } = raw;
    let before = problems.count();
    let source = selector(source, "source", &at, severities, problems);
    let target = selector(target, "target", &at, severities, problems);
    let equal = equal
        .map(|list| label_names(list.value, "equal", problems))
        .unwrap_or_default();
    if problems.count() > before {
        return None;
    }
    Some(Inhibition {
        source,
        target,
        equal,
    })
}

/// An inhibition's side; it must select something, or it would inhibit
/// (or be inhibited by) every alert.
fn selector(
    raw: Option<Located<RawSelector>>,
    key: &str,
    table_at: &Loc,
    severities: &Severities,
    problems: &mut Problems<'_>,
) -> Vec<Matcher> {
    let Some(raw) = raw else {
        problems.at(
            table_at,
            format!("[[inhibit]] is missing `{key}`, the alerts it selects"),
        );
        return Vec::new();
    };
    let before = problems.count();
    let matchers = match raw.value {
        RawSelector::Match(entries) => match_table(entries, severities, problems),
        RawSelector::Matchers(texts) => texts
            .into_iter()
            .filter_map(|text| matcher_string(text, severities, problems))
            .collect(),
    };
    if matchers.is_empty() && problems.count() == before {
        problems.at(
            &raw.at,
            format!("`{key}` must have at least one matcher, or it would select every alert"),
        );
    }
    matchers
}
