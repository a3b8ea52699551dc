//! What a reload changes: the pure difference between the monitors that
//! run and the monitors of a newly loaded config, as a [`ReloadPlan`] the
//! engine applies. A monitor is the same monitor when its id is; it is
//! changed when any field of its spec differs (conditions by their source).

use std::collections::HashMap;
use std::sync::Arc;

use crate::id::MonitorId;
use crate::monitor::MonitorSpec;

/// The difference between two lists of monitors.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadPlan {
    /// Every monitor of the new config, in its order: what runs afterwards.
    pub monitors: Vec<Arc<MonitorSpec>>,
    /// In the new config only: they start, with their state from the store.
    pub added: Vec<MonitorId>,
    /// In the old config only: they stop (a probe in flight is still
    /// recorded).
    pub removed: Vec<MonitorId>,
    /// In both, with some field changed: they keep their state.
    pub changed: Vec<Changed>,
    /// In both, identical: untouched.
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub id: MonitorId,
    /// Its schedule changed (it starts over on the new one); otherwise its
    /// next due time is kept.
    pub schedule: bool,
}

impl ReloadPlan {
    /// Nothing to apply (the order of monitors may still differ).
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compares the monitors that run (`old`) with those of a new config.
pub fn plan(old: &[Arc<MonitorSpec>], new: &[Arc<MonitorSpec>]) -> ReloadPlan {
    let before: HashMap<&MonitorId, &Arc<MonitorSpec>> =
        old.iter().map(|spec| (&spec.id, spec)).collect();
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for spec in new {
        match before.get(&spec.id) {
            None => added.push(spec.id.clone()),
            Some(previous) if ***previous == **spec => unchanged += 1,
            Some(previous) => changed.push(Changed {
                id: spec.id.clone(),
                schedule: previous.schedule != spec.schedule,
            }),
        }
    }
    let after: std::collections::HashSet<&MonitorId> = new.iter().map(|spec| &spec.id).collect();
    let removed = old
        .iter()
        .filter(|spec| !after.contains(&spec.id))
        .map(|spec| spec.id.clone())
        .collect();
    ReloadPlan {
        monitors: new.to_vec(),
        added,
        removed,
        changed,
        unchanged,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::monitor::{ProbeSpec, TcpSpec};
    use crate::schedule::Schedule;

    fn spec(id: &str, every: u64, port: u16) -> Arc<MonitorSpec> {
        Arc::new(MonitorSpec {
            id: MonitorId::parse(id).unwrap(),
            name: id.to_owned(),
            component: None,
            schedule: Schedule::Every(Duration::from_secs(every)),
            timeout: Duration::from_secs(1),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        })
    }

    fn ids(raw: &[&str]) -> Vec<MonitorId> {
        raw.iter().map(|id| MonitorId::parse(id).unwrap()).collect()
    }

    #[test]
    fn adds_removes_and_changes_by_id() {
        let old = [
            spec("api", 10, 80),
            spec("db", 10, 5432),
            spec("old", 10, 1),
        ];
        let new = [
            spec("db", 30, 5432),  // schedule changed
            spec("api", 10, 8080), // target changed
            spec("new", 10, 2),    // added
        ];
        let plan = plan(&old, &new);
        assert_eq!(plan.added, ids(&["new"]));
        assert_eq!(plan.removed, ids(&["old"]));
        assert_eq!(
            plan.changed,
            vec![
                Changed {
                    id: MonitorId::parse("db").unwrap(),
                    schedule: true
                },
                Changed {
                    id: MonitorId::parse("api").unwrap(),
                    schedule: false
                },
            ]
        );
        assert_eq!(plan.unchanged, 0);
        assert_eq!(plan.monitors, new.to_vec(), "the new config's order");
    }

    #[test]
    fn the_same_config_plans_nothing() {
        let old = [spec("api", 10, 80), spec("db", 10, 5432)];
        // Loaded again: equal specs, other allocations, another order.
        let new = [spec("db", 10, 5432), spec("api", 10, 80)];
        let plan = plan(&old, &new);
        assert!(plan.is_empty(), "{plan:?}");
        assert_eq!(plan.unchanged, 2);
    }

    #[test]
    fn any_field_is_a_change() {
        let old = spec("api", 10, 80);
        let mut renamed = spec("api", 10, 80);
        Arc::get_mut(&mut renamed).unwrap().name = "API".to_owned();
        let mut slower = spec("api", 10, 80);
        Arc::get_mut(&mut slower).unwrap().timeout = Duration::from_secs(2);
        for new in [renamed, slower] {
            let plan = plan(std::slice::from_ref(&old), &[new]);
            assert_eq!(plan.changed.len(), 1);
            assert!(!plan.changed[0].schedule);
        }
    }
}
