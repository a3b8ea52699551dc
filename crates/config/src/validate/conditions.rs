//! A monitor's `expect` and `degraded_if`: CEL compiled against its probe
//! kind's variables and checked for cost against its largest answer, each
//! distinct condition compiled once.

use std::collections::HashMap;

use watchkeeper_domain::condition::{Condition, ConditionError};
use watchkeeper_domain::monitor::{AnswerLimit, ProbeKind};

use super::Problems;
use crate::raw_table::TextList;
use crate::source::{Loc, Located};

/// The conditions a monitor gets when it gives no `expect`.
pub(super) fn default_expect(kind: ProbeKind) -> &'static [&'static str] {
    match kind {
        ProbeKind::Http => &["status >= 200 && status < 400"],
        ProbeKind::Tcp => &[],
        ProbeKind::Dns => &["size(answers) > 0"],
        ProbeKind::Command => &["exit_code == 0"],
    }
}

/// Each distinct condition is compiled once per probe kind and shared by
/// every monitor that lists it (most http monitors say `status == 200`); a
/// bad one is still reported at each place it is written.
#[derive(Default)]
pub(super) struct CompiledConditions(
    HashMap<(ProbeKind, String), Result<Condition, ConditionError>>,
);

impl CompiledConditions {
    fn get(&mut self, source: &str, kind: ProbeKind) -> Result<Condition, ConditionError> {
        self.0
            .entry((kind, source.to_owned()))
            .or_insert_with(|| Condition::compile(source, kind))
            .clone()
    }
}

/// What a monitor's conditions are checked for: the variables of its probe
/// kind, and the cost of the largest answer its probe can return.
#[derive(Clone, Copy)]
pub(super) struct Judged {
    pub kind: ProbeKind,
    pub limit: AnswerLimit,
}

pub(super) fn conditions(
    raw: TextList,
    Judged { kind, limit }: Judged,
    defaults: &[&str],
    monitor_at: &Loc,
    compiled: &mut CompiledConditions,
    problems: &mut Problems<'_>,
) -> Vec<Condition> {
    let sources: Vec<Located<String>> = match raw {
        Some(list) => list.value,
        None => defaults
            .iter()
            .map(|source| Located::new((*source).to_owned(), monitor_at.clone()))
            .collect(),
    };
    sources
        .into_iter()
        .filter_map(|source| {
            match compiled
                .get(&source.value, kind)
                .and_then(|condition| condition.check_cost(limit).map(|_| condition))
            {
                Ok(condition) => Some(condition),
                Err(error) => {
                    problems.at(&source.at, error.to_string());
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_conditions_compile_for_their_kind() {
        for kind in [
            ProbeKind::Http,
            ProbeKind::Tcp,
            ProbeKind::Dns,
            ProbeKind::Command,
        ] {
            for source in default_expect(kind) {
                assert!(Condition::compile(source, kind).is_ok(), "{source}");
            }
        }
    }
}
