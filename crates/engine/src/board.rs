//! The in-memory view of every monitor — current state and recent results —
//! kept by the recorder and read by the API, so listing ten thousand
//! monitors never touches the database. The store keeps results in time
//! order, so a monitor's recent results come from here, not from a query;
//! maintenance saves them to the store every few minutes and at shutdown.
//! A reload replaces the list of monitors in one step ([`Board::replace`]):
//! a monitor that stays keeps its state and recent results.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use watchkeeper_domain::check::{CheckResult, MonitorStatus};
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;

/// How many results of each monitor the board keeps, newest first.
pub const RECENT_RESULTS: usize = 10;

#[derive(Debug, Clone)]
pub struct MonitorView {
    pub spec: Arc<MonitorSpec>,
    /// `None` until the monitor's first result.
    pub status: Option<MonitorStatus>,
    /// Up to [`RECENT_RESULTS`], newest first.
    recent: VecDeque<CheckResult>,
}

impl MonitorView {
    pub fn last(&self) -> Option<&CheckResult> {
        self.recent.front()
    }

    /// Up to [`RECENT_RESULTS`], newest first.
    pub fn recent(&self) -> impl ExactSizeIterator<Item = &CheckResult> {
        self.recent.iter()
    }

    pub(crate) fn push(&mut self, result: CheckResult) {
        if self.recent.capacity() == 0 {
            self.recent.reserve_exact(RECENT_RESULTS);
        }
        if self.recent.len() == RECENT_RESULTS {
            self.recent.pop_back();
        }
        self.recent.push_front(result);
    }
}

#[derive(Debug, Clone)]
pub struct Board {
    inner: Arc<BoardInner>,
}

#[derive(Debug)]
struct BoardInner {
    views: RwLock<Views>,
}

/// The views in config order and where each monitor's is, replaced
/// together on reload.
#[derive(Debug)]
struct Views {
    index: HashMap<MonitorId, usize>,
    list: Vec<MonitorView>,
    /// Bumped by every [`Board::replace`], so a reader that caches what it
    /// built from the list knows when the set of monitors changed.
    generation: u64,
}

impl std::ops::Deref for Views {
    type Target = Vec<MonitorView>;

    fn deref(&self) -> &Vec<MonitorView> {
        &self.list
    }
}

fn index_of(views: &[MonitorView]) -> HashMap<MonitorId, usize> {
    views
        .iter()
        .enumerate()
        .map(|(i, view)| (view.spec.id.clone(), i))
        .collect()
}

impl Board {
    /// Views in config order; state and recent results (newest first) from
    /// the store, so the API shows the truth right after a restart.
    pub fn new(
        monitors: &[Arc<MonitorSpec>],
        mut states: HashMap<MonitorId, MonitorStatus>,
        mut recent: HashMap<MonitorId, Vec<CheckResult>>,
    ) -> Self {
        let list: Vec<MonitorView> = monitors
            .iter()
            .map(|spec| new_view(spec, &mut states, &mut recent))
            .collect();
        Self {
            inner: Arc::new(BoardInner {
                views: RwLock::new(Views {
                    index: index_of(&list),
                    list,
                    generation: 0,
                }),
            }),
        }
    }

    pub fn position(&self, id: &MonitorId) -> Option<usize> {
        self.read().index.get(id).copied()
    }

    pub fn get(&self, id: &MonitorId) -> Option<MonitorView> {
        let views = self.read();
        let position = *views.index.get(id)?;
        views.list.get(position).cloned()
    }

    /// Monitors on the board now.
    pub fn len(&self) -> usize {
        self.read().list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes whenever a reload replaces the list of monitors (their
    /// specs, order or number); a cache of anything built from the list is
    /// stale when this differs from the value it was built at.
    pub fn generation(&self) -> u64 {
        self.read().generation
    }

    /// Puts `monitors` on the board in their order, under one write lock: a
    /// monitor already on it keeps its state and recent results (with its
    /// new spec); a new one starts from `states` and `recent` (loaded from
    /// the store). Returns the views of the monitors no longer on it.
    pub(crate) fn replace(
        &self,
        monitors: &[Arc<MonitorSpec>],
        mut states: HashMap<MonitorId, MonitorStatus>,
        mut recent: HashMap<MonitorId, Vec<CheckResult>>,
    ) -> Vec<MonitorView> {
        let mut views = self.write();
        let mut old: HashMap<MonitorId, MonitorView> = std::mem::take(&mut views.list)
            .into_iter()
            .map(|view| (view.spec.id.clone(), view))
            .collect();
        let list: Vec<MonitorView> = monitors
            .iter()
            .map(|spec| match old.remove(&spec.id) {
                Some(kept) => MonitorView {
                    spec: spec.clone(),
                    ..kept
                },
                None => new_view(spec, &mut states, &mut recent),
            })
            .collect();
        views.index = index_of(&list);
        views.list = list;
        views.generation += 1;
        old.into_values().collect()
    }

    /// Runs `f` on the view of `id` (and its position) under the write
    /// lock; `None` when the monitor is not on the board.
    pub(crate) fn update_by_id<T>(
        &self,
        id: &MonitorId,
        f: impl FnOnce(usize, &mut MonitorView) -> T,
    ) -> Option<T> {
        let mut views = self.write();
        let position = *views.index.get(id)?;
        views.list.get_mut(position).map(|view| f(position, view))
    }

    /// Runs `f` over every view under one read lock (no cloning of the list).
    pub fn with_all<T>(&self, f: impl FnOnce(&[MonitorView]) -> T) -> T {
        f(&self.read())
    }

    /// `f` of every view, in order, `per_chunk` views under each read lock:
    /// the recorder, which takes the write lock for every result, waits at
    /// most one chunk, however many monitors there are (a reader of ten
    /// thousand must not hold up probing; measured by
    /// `bench/board_reads.py`). A reload between two chunks can shift the
    /// list; a reader then sees the views as they are at each chunk.
    pub fn map_in_chunks<T>(
        &self,
        per_chunk: usize,
        mut f: impl FnMut(&MonitorView) -> T,
    ) -> Vec<T> {
        let step = per_chunk.max(1);
        let mut out = Vec::with_capacity(self.len());
        let mut start = 0;
        loop {
            let views = self.read();
            let chunk = views.list.iter().skip(start).take(step);
            let before = out.len();
            out.extend(chunk.map(&mut f));
            let taken = out.len() - before;
            drop(views);
            if taken < step {
                return out;
            }
            start += step;
        }
    }

    /// Every monitor's recent results, copied `monitors_per_chunk` monitors
    /// at a time (one short read lock each) as the iterator is consumed, for
    /// [`watchkeeper_store::Store::save_recent`]: a save never holds a copy
    /// of every result at once.
    pub fn recent_results_in_chunks(
        &self,
        monitors_per_chunk: usize,
    ) -> impl Iterator<Item = Vec<CheckResult>> + Send + '_ {
        let step = monitors_per_chunk.max(1);
        let monitors = self.with_all(<[MonitorView]>::len);
        (0..monitors).step_by(step).map(move |start| {
            self.with_all(|views| {
                views
                    .iter()
                    .skip(start)
                    .take(step)
                    .flat_map(|view| view.recent.iter().cloned())
                    .collect()
            })
        })
    }

    #[cfg(test)]
    pub(crate) fn update(&self, position: usize, f: impl FnOnce(&mut MonitorView)) {
        if let Some(view) = self.write().list.get_mut(position) {
            f(view);
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Views> {
        // A writer that panicked left whole values behind; keep serving them.
        self.inner
            .views
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Views> {
        self.inner
            .views
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn new_view(
    spec: &Arc<MonitorSpec>,
    states: &mut HashMap<MonitorId, MonitorStatus>,
    recent: &mut HashMap<MonitorId, Vec<CheckResult>>,
) -> MonitorView {
    let mut results: VecDeque<CheckResult> = recent.remove(&spec.id).unwrap_or_default().into();
    results.truncate(RECENT_RESULTS);
    MonitorView {
        status: states.remove(&spec.id),
        recent: results,
        spec: spec.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};
    use watchkeeper_domain::health::Health;
    use watchkeeper_domain::monitor::{ProbeSpec, TcpSpec};
    use watchkeeper_domain::schedule::Schedule;

    use super::*;

    fn spec(id: &str) -> Arc<MonitorSpec> {
        Arc::new(MonitorSpec {
            id: MonitorId::parse(id).unwrap(),
            name: id.to_owned(),
            component: None,
            schedule: Schedule::Every(Duration::from_secs(10)),
            timeout: Duration::from_secs(1),
            probe: ProbeSpec::Tcp(TcpSpec {
                host: "127.0.0.1".to_owned(),
                port: 9,
                send: None,
                expect: None,
            }),
            expect: Vec::new(),
            degraded_if: Vec::new(),
        })
    }

    fn result(id: &str, second: i64) -> CheckResult {
        let at = Timestamp::UNIX_EPOCH + SignedDuration::from_secs(second);
        CheckResult {
            monitor: MonitorId::parse(id).unwrap(),
            due_at: at,
            started_at: at,
            latency: Duration::from_millis(1),
            evaluation: Duration::ZERO,
            health: Health::Up,
            reason: None,
            fallback: None,
        }
    }

    fn seconds(view: &MonitorView) -> Vec<i64> {
        view.recent()
            .map(|result| result.started_at.as_second())
            .collect()
    }

    #[test]
    fn map_in_chunks_sees_every_view_once_in_order_whatever_the_chunk() {
        let ids: Vec<String> = (0..7).map(|n| format!("m{n}")).collect();
        let specs: Vec<_> = ids.iter().map(|id| spec(id)).collect();
        let board = Board::new(&specs, HashMap::new(), HashMap::new());
        for per_chunk in [0, 1, 3, 7, 8, 100] {
            let seen = board.map_in_chunks(per_chunk, |view| view.spec.id.to_string());
            assert_eq!(seen, ids, "chunks of {per_chunk}");
        }
        let empty = Board::new(&[], HashMap::new(), HashMap::new());
        assert!(
            empty
                .map_in_chunks(3, |view| view.spec.id.clone())
                .is_empty()
        );
    }

    #[test]
    fn a_view_keeps_the_newest_results_first_and_no_more_than_its_limit() {
        let monitors = [spec("api"), spec("db")];
        // More loaded than the board keeps: the newest are kept.
        let loaded: Vec<CheckResult> = (0..12).rev().map(|s| result("api", s)).collect();
        let board = Board::new(
            &monitors,
            HashMap::new(),
            HashMap::from([(MonitorId::parse("api").unwrap(), loaded)]),
        );
        let api = board.position(&MonitorId::parse("api").unwrap()).unwrap();
        let db = board.position(&MonitorId::parse("db").unwrap()).unwrap();
        board.with_all(|views| {
            assert_eq!(seconds(&views[api]), (2..12).rev().collect::<Vec<_>>());
            assert!(views[db].last().is_none());
        });

        board.update(api, |view| view.push(result("api", 12)));
        board.update(db, |view| view.push(result("db", 5)));
        board.with_all(|views| {
            assert_eq!(seconds(&views[api]), (3..13).rev().collect::<Vec<_>>());
            assert_eq!(
                views[api].last().map(|r| r.started_at.as_second()),
                Some(12)
            );
            assert_eq!(seconds(&views[db]), vec![5]);
        });
        // What a save gets: every view's results, a chunk of views at a time.
        let chunks: Vec<Vec<CheckResult>> = board.recent_results_in_chunks(1).collect();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![RECENT_RESULTS, 1]
        );
        assert_eq!(board.recent_results_in_chunks(1_000).count(), 1);
    }

    #[test]
    fn a_replace_keeps_what_stays_and_loads_what_is_new() {
        let board = Board::new(&[spec("api"), spec("db")], HashMap::new(), HashMap::new());
        let api = MonitorId::parse("api").unwrap();
        board.update_by_id(&api, |_, view| view.push(result("api", 1)));
        let states = HashMap::from([(
            MonitorId::parse("web").unwrap(),
            MonitorStatus {
                health: Health::Down,
                since: Timestamp::UNIX_EPOCH,
                reason: Some("refused".to_owned()),
            },
        )]);
        let before = board.generation();
        board.update_by_id(&api, |_, view| view.push(result("api", 2)));
        assert_eq!(board.generation(), before, "a result is not a new list");
        let removed = board.replace(&[spec("web"), spec("api")], states, HashMap::new());
        assert_ne!(board.generation(), before, "a reload is");
        assert_eq!(
            removed
                .iter()
                .map(|view| view.spec.id.as_str())
                .collect::<Vec<_>>(),
            vec!["db"]
        );
        assert_eq!(board.len(), 2);
        assert_eq!(board.position(&api), Some(1), "the new config's order");
        assert_eq!(seconds(&board.get(&api).unwrap()), vec![2, 1]);
        let web = board.get(&MonitorId::parse("web").unwrap()).unwrap();
        assert_eq!(web.status.map(|status| status.health), Some(Health::Down));
        assert!(board.get(&MonitorId::parse("db").unwrap()).is_none());
    }
}
