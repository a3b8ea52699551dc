//! The validated incident config: the policy the opener applies to firing
//! alerts (`[incidents]`), the "next update" automatic updates promise,
//! and the communication templates the config adds to the built-in ones
//! (`[[incident_template]]`, already rendered once at load).

use std::time::Duration;

use watchkeeper_domain::incident::policy::IncidentPolicy;
use watchkeeper_incidents::communications::TemplateSpec;

/// `[incidents] join_window` when not given: an alert on the same
/// component within half an hour is the same incident, as the seeds'
/// "page L2 after 30 minutes" treats it.
pub const DEFAULT_JOIN_WINDOW: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct IncidentsConfig {
    pub policy: IncidentPolicy,
    /// What the automatic "investigating" update promises; `None`: no
    /// promise, so no reminder.
    pub next_update: Option<Duration>,
    /// `[[incident_template]]`s in the order written; the same id as a
    /// built-in template replaces it.
    pub templates: Vec<TemplateSpec>,
}
