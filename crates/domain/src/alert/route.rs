//! Routing, with Alertmanager's meaning: routes are tried in order, an
//! alert takes the first whose matchers all match, and goes on to later
//! ones only while the route it took says `continue`; a route without
//! matchers catches everything. Each route groups its alerts by some of
//! their labels, and times its notifications per group (`group_wait`,
//! `group_interval`, `repeat_interval`, with Alertmanager's defaults).

use std::time::Duration;

use crate::alert::matcher::{Labels, Matcher, all_match};
use crate::id::EscalationId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTiming {
    /// How long a new group waits before its first notification, so alerts
    /// that fire together go out together.
    pub group_wait: Duration,
    /// How long a group that has notified waits before notifying about
    /// alerts that joined or resolved since.
    pub group_interval: Duration,
    /// How long before a group that has not changed notifies again.
    pub repeat_interval: Duration,
}

impl Default for GroupTiming {
    /// Alertmanager's defaults: 30 s, 5 min, 4 h.
    fn default() -> Self {
        Self {
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(5 * 60),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

/// Which labels a route groups by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// These labels; alerts with equal values share a group. No labels
    /// puts every alert of the route in one group.
    Labels(Vec<String>),
    /// Every label (Alertmanager's `...`): one group per alert.
    All,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub matchers: Vec<Matcher>,
    /// Go on to the next routes after this one matched.
    pub continue_matching: bool,
    /// Notifier ids.
    pub notify: Vec<String>,
    pub group_by: GroupBy,
    pub timing: GroupTiming,
    /// The escalation policy an alert this route takes climbs.
    pub escalation: Option<EscalationId>,
}

/// The indexes of the routes an alert with `labels` takes, in order.
pub fn routes_for(routes: &[Route], labels: &Labels) -> Vec<usize> {
    let mut taken = Vec::new();
    for (index, route) in routes.iter().enumerate() {
        if all_match(&route.matchers, labels) {
            taken.push(index);
            if !route.continue_matching {
                break;
            }
        }
    }
    taken
}

/// The group an alert joins on a route: the route's index and its
/// group-by labels' values, as text that is stable across restarts
/// (`2{region="eu",service="api"}`).
pub fn group_key(route_index: usize, route: &Route, labels: &Labels) -> String {
    let mut key = route_index.to_string();
    key.push('{');
    let mut first = true;
    let mut push = |name: &str, value: &str| {
        if !first {
            key.push(',');
        }
        first = false;
        key.push_str(name);
        key.push('=');
        key.push_str(&format!("{value:?}"));
    };
    match &route.group_by {
        GroupBy::All => {
            for (name, value) in labels {
                push(name, value);
            }
        }
        GroupBy::Labels(names) => {
            let mut names: Vec<&String> = names.iter().collect();
            names.sort();
            names.dedup();
            for name in names {
                push(name, labels.get(name).map_or("", String::as_str));
            }
        }
    }
    key.push('}');
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(matchers: &[&str], continue_matching: bool) -> Route {
        Route {
            matchers: matchers
                .iter()
                .map(|m| Matcher::parse(m).unwrap())
                .collect(),
            continue_matching,
            notify: vec!["hook".to_owned()],
            group_by: GroupBy::Labels(vec!["alertname".to_owned()]),
            timing: GroupTiming::default(),
            escalation: None,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn the_first_match_wins_unless_it_says_continue() {
        let routes = [
            route(&["severity=~P0|P1"], true),
            route(&["team=payments"], false),
            route(&["severity=P1"], false),
            route(&[], false),
        ];
        let paging = labels(&[("severity", "P1"), ("team", "payments")]);
        assert_eq!(routes_for(&routes, &paging), [0, 1]);
        let other_team = labels(&[("severity", "P1"), ("team", "web")]);
        assert_eq!(routes_for(&routes, &other_team), [0, 2]);
        let minor = labels(&[("severity", "P3")]);
        assert_eq!(routes_for(&routes, &minor), [3]);
        assert!(routes_for(&routes[..3], &minor).is_empty());
    }

    #[test]
    fn alerts_with_equal_group_labels_share_a_group() {
        let mut by_region = route(&[], false);
        by_region.group_by = GroupBy::Labels(vec!["region".to_owned(), "alertname".to_owned()]);
        let a = labels(&[("alertname", "down"), ("region", "eu"), ("monitor", "a")]);
        let b = labels(&[("alertname", "down"), ("region", "eu"), ("monitor", "b")]);
        let c = labels(&[("alertname", "down"), ("monitor", "c")]);
        assert_eq!(
            group_key(1, &by_region, &a),
            r#"1{alertname="down",region="eu"}"#
        );
        assert_eq!(group_key(1, &by_region, &a), group_key(1, &by_region, &b));
        assert_eq!(
            group_key(1, &by_region, &c),
            r#"1{alertname="down",region=""}"#
        );
        by_region.group_by = GroupBy::All;
        assert_ne!(group_key(1, &by_region, &a), group_key(1, &by_region, &b));
        by_region.group_by = GroupBy::Labels(Vec::new());
        assert_eq!(group_key(0, &by_region, &a), "0{}");
    }
}
