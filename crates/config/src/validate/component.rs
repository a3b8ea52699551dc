//! The `[[component]]` rules: an id unique across every file, and names
//! that are not empty when given.

use watchkeeper_domain::id::ComponentId;

use super::references::Defined;
use super::{Problems, non_empty, parse_id};
use crate::model::Component;
use crate::raw::RawComponent;

pub(super) fn validate_component(
    raw: RawComponent,
    defined: &mut Defined,
    problems: &mut Problems<'_>,
) -> Option<Component> {
    let RawComponent {
        at,
        id,
        name,
        group,
        description,
    } = raw;
    let before = problems.count();
    let id = parse_id(
        id,
        &at,
        "component",
        ComponentId::parse,
        &mut defined.components,
        problems,
    );
    let name = non_empty(name, "`name`", problems);
    let group = non_empty(group, "`group`", problems);
    let description = non_empty(description, "`description`", problems);
    let id = id?;
    if problems.count() > before {
        return None;
    }
    Some(Component {
        name: name.unwrap_or_else(|| id.to_string()),
        id,
        group,
        description,
    })
}
