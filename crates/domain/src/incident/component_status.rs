//! A component's status on the status page, and the page's overall
//! indicator, with Statuspage's names: the worse of what its open
//! incidents say and what its monitors see, shown as under maintenance
//! while a maintenance window covers it and no incident says worse.

use std::fmt;

use super::Impact;
use crate::health::Health;

/// A component's status, least severe first (maintenance sorts below a
/// degradation: an incident during maintenance is still shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// As a person reads it: "Partial outage".
    pub fn title(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Impact> for ComponentStatus {
    fn from(impact: Impact) -> ComponentStatus {
        match impact {
            Impact::DegradedPerformance => ComponentStatus::DegradedPerformance,
            Impact::PartialOutage => ComponentStatus::PartialOutage,
            Impact::MajorOutage => ComponentStatus::MajorOutage,
        }
    }
}

/// What a component's monitors say: every one down is a major outage,
/// some down a partial outage, any degraded a degradation. Monitors not
/// probed yet say nothing.
pub fn from_monitors(healths: impl IntoIterator<Item = Option<Health>>) -> ComponentStatus {
    let (mut known, mut down, mut degraded) = (0usize, 0usize, 0usize);
    for health in healths.into_iter().flatten() {
        known += 1;
        match health {
            Health::Down => down += 1,
            Health::Degraded => degraded += 1,
            Health::Up => {}
        }
    }
    if down > 0 && down == known {
        ComponentStatus::MajorOutage
    } else if down > 0 {
        ComponentStatus::PartialOutage
    } else if degraded > 0 {
        ComponentStatus::DegradedPerformance
    } else {
        ComponentStatus::Operational
    }
}

/// A component's status: the worse of its monitors and the worst impact
/// its open incidents give it; under maintenance instead when a window
/// covers it and no incident says worse (monitors failing in a planned
/// window are expected).
pub fn component_status(
    monitors: ComponentStatus,
    incidents: Option<Impact>,
    in_maintenance: bool,
) -> ComponentStatus {
    let incident = incidents.map_or(ComponentStatus::Operational, ComponentStatus::from);
    if in_maintenance {
        incident.max(ComponentStatus::UnderMaintenance)
    } else {
        incident.max(monitors)
    }
}

/// The page's overall indicator, as Statuspage names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Indicator {
    None,
    Minor,
    Major,
    Critical,
}

impl Indicator {
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
        }
    }

    /// Statuspage's description for it.
    pub fn description(self) -> &'static str {
        match self {
            Indicator::None => "All Systems Operational",
            Indicator::Minor => "Minor Service Outage",
            Indicator::Major => "Partial System Outage",
            Indicator::Critical => "Major System Outage",
        }
    }
}

impl From<Impact> for Indicator {
    fn from(impact: Impact) -> Indicator {
        match impact {
            Impact::DegradedPerformance => Indicator::Minor,
            Impact::PartialOutage => Indicator::Major,
            Impact::MajorOutage => Indicator::Critical,
        }
    }
}

/// The indicator of a page whose components have `statuses`: its worst
/// one (maintenance alone is none, as on Statuspage).
pub fn indicator(statuses: impl IntoIterator<Item = ComponentStatus>) -> Indicator {
    statuses
        .into_iter()
        .map(|status| match status {
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Indicator::None,
            ComponentStatus::DegradedPerformance => Indicator::Minor,
            ComponentStatus::PartialOutage => Indicator::Major,
            ComponentStatus::MajorOutage => Indicator::Critical,
        })
        .max()
        .unwrap_or(Indicator::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn monitors_decide_by_how_many_are_down() {
        assert_eq!(
            from_monitors([Some(Health::Up), Some(Health::Up)]),
            Operational
        );
        assert_eq!(
            from_monitors([Some(Health::Up), Some(Health::Degraded)]),
            DegradedPerformance
        );
        assert_eq!(
            from_monitors([Some(Health::Down), Some(Health::Degraded)]),
            PartialOutage
        );
        assert_eq!(
            from_monitors([Some(Health::Down), None]),
            MajorOutage,
            "unprobed says nothing"
        );
        assert_eq!(from_monitors([None, None]), Operational);
        assert_eq!(from_monitors([]), Operational);
    }

    #[test]
    fn the_worse_of_incidents_and_monitors() {
        assert_eq!(
            component_status(Operational, Some(Impact::PartialOutage), false),
            PartialOutage
        );
        assert_eq!(
            component_status(MajorOutage, Some(Impact::DegradedPerformance), false),
            MajorOutage
        );
        assert_eq!(
            component_status(DegradedPerformance, None, false),
            DegradedPerformance
        );
    }

    #[test]
    fn maintenance_hides_the_monitors_but_not_an_incident() {
        assert_eq!(component_status(MajorOutage, None, true), UnderMaintenance);
        assert_eq!(
            component_status(Operational, Some(Impact::MajorOutage), true),
            MajorOutage
        );
    }

    #[test]
    fn the_indicator_is_the_worst_component() {
        assert_eq!(indicator([Operational, UnderMaintenance]), Indicator::None);
        assert_eq!(
            indicator([Operational, DegradedPerformance]),
            Indicator::Minor
        );
        assert_eq!(
            indicator([PartialOutage, DegradedPerformance]),
            Indicator::Major
        );
        assert_eq!(indicator([MajorOutage, Operational]), Indicator::Critical);
        assert_eq!(indicator([]), Indicator::None);
        assert_eq!(Indicator::Critical.description(), "Major System Outage");
    }
}
