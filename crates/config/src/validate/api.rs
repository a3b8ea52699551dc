//! The `[api]` rules: whether reads of `/api/v1` need a token. The
//! function destructures the raw table whole, so a new key does not compile
//! until it is taken apart here. `public_read = true` beside private
//! components or monitors is refused (by [`refuse_public_read`], once they
//! are read): every read of `/api/v1` would show them to anyone.

use watchkeeper_domain::id::MonitorId;

use super::Problems;
use crate::model::{ApiConfig, Component};
use crate::raw::RawApi;
use crate::source::Loc;

/// The config, and where `public_read = true` is written, if it is.
pub(super) fn validate_api(raw: RawApi) -> (ApiConfig, Option<Loc>) {
    let RawApi { public_read } = raw;
    let at = public_read
        .as_ref()
        .filter(|flag| flag.value)
        .map(|flag| flag.at.clone());
    let config = ApiConfig {
        public_read: at.is_some(),
    };
    (config, at)
}

/// A problem at `public_read` when anything is private.
pub(super) fn refuse_public_read<'a>(
    public_read: Option<&Loc>,
    components: &[Component],
    private_monitors: impl IntoIterator<Item = &'a MonitorId>,
    problems: &mut Problems<'_>,
) {
    let Some(at) = public_read else {
        return;
    };
    let private: Vec<String> = components
        .iter()
        .filter(|component| !component.public)
        .map(|component| format!("component `{}`", component.id))
        .chain(
            private_monitors
                .into_iter()
                .map(|id| format!("monitor `{id}`")),
        )
        .collect();
    if private.is_empty() {
        return;
    }
    problems.at(
        at,
        format!(
            "`public_read = true` would show {} to anyone through /api/v1; \
             remove it and give readers a viewer token \
             (`watchkeeper token create --name NAME --role viewer`)",
            private.join(", ")
        ),
    );
}
