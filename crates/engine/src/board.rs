//! The in-memory view of every monitor — current state and last result —
//! kept by the recorder and read by the API, so listing ten thousand
//! monitors never touches the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use watchkeeper_domain::check::{CheckResult, MonitorStatus};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;

#[derive(Debug, Clone)]
pub struct MonitorView {
    pub spec: Arc<MonitorSpec>,
    /// `None` until the monitor's first result.
    pub status: Option<MonitorStatus>,
    pub last: Option<CheckResult>,
}

#[derive(Debug, Clone)]
pub struct Board {
    inner: Arc<BoardInner>,
}

#[derive(Debug)]
struct BoardInner {
    index: HashMap<MonitorId, usize>,
    views: RwLock<Vec<MonitorView>>,
}

impl Board {
    /// Views in config order; state and last result from the store, so the
    /// API shows the truth right after a restart.
    pub fn new(
        monitors: &[Arc<MonitorSpec>],
        mut states: HashMap<MonitorId, MonitorStatus>,
        mut last_results: HashMap<MonitorId, CheckResult>,
    ) -> Self {
        let views: Vec<MonitorView> = monitors
            .iter()
            .map(|spec| MonitorView {
                status: states.remove(&spec.id),
                last: last_results.remove(&spec.id),
                spec: spec.clone(),
            })
            .collect();
        let index = monitors
            .iter()
            .enumerate()
            .map(|(i, spec)| (spec.id.clone(), i))
            .collect();
        Self {
            inner: Arc::new(BoardInner {
                index,
                views: RwLock::new(views),
            }),
        }
    }

    pub fn position(&self, id: &MonitorId) -> Option<usize> {
        self.inner.index.get(id).copied()
    }

    pub fn get(&self, id: &MonitorId) -> Option<MonitorView> {
        let position = self.position(id)?;
        self.read().get(position).cloned()
    }

    /// Runs `f` over every view under one read lock (no cloning of the list).
    pub fn with_all<T>(&self, f: impl FnOnce(&[MonitorView]) -> T) -> T {
        f(&self.read())
    }

    pub(crate) fn update(&self, position: usize, f: impl FnOnce(&mut MonitorView)) {
        if let Some(view) = self.write().get_mut(position) {
            f(view);
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<MonitorView>> {
        // A writer that panicked left whole values behind; keep serving them.
        self.inner
            .views
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Vec<MonitorView>> {
        self.inner
            .views
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
