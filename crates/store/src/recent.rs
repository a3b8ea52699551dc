//! The recent results aggregate: each monitor's newest results as the engine
//! last saved them (`recent_results`, replaced whole on every save) and the
//! instant that save accounts for (`meta`). Here: merging the save with the
//! results that started after it ([`RecentMerge`]), and the facade's
//! `load_recent` and `save_recent`.

use std::collections::HashMap;

use jiff::Timestamp;
use watchkeeper_domain::MonitorId;
use watchkeeper_domain::check::CheckResult;

use crate::Store;
use crate::column::millis;
use crate::error::StoreError;
use crate::monitor_keys::MonitorKeys;
use crate::results::StoredResult;

/// The newest few results of each monitor, gathered from rows in any order.
#[derive(Debug)]
pub(crate) struct RecentMerge {
    per_monitor: usize,
    by_key: HashMap<i64, Vec<StoredResult>>,
}

impl RecentMerge {
    fn new(per_monitor: usize) -> Self {
        Self {
            per_monitor,
            by_key: HashMap::new(),
        }
    }

    /// A result that started at or after the save's `covered_until`, given
    /// newest first: each monitor keeps only its first `per_monitor`, so a
    /// long stretch of results since the save is never held whole.
    pub(crate) fn newer(&mut self, row: StoredResult) {
        let kept = self.by_key.entry(row.monitor).or_default();
        if kept.len() < self.per_monitor {
            kept.push(row);
        }
    }

    /// A result of the save.
    pub(crate) fn saved(&mut self, row: StoredResult) {
        self.by_key.entry(row.monitor).or_default().push(row);
    }

    /// Each monitor's newest `per_monitor`, newest first. The save may also
    /// hold results that started after it was taken; those come in twice
    /// and are kept once.
    fn finish(mut self) -> HashMap<i64, Vec<StoredResult>> {
        for rows in self.by_key.values_mut() {
            rows.sort_by_key(|row| std::cmp::Reverse(row.started_at));
            rows.dedup_by_key(|row| row.started_at);
            rows.truncate(self.per_monitor);
        }
        self.by_key
    }
}

/// What every backend does with the saved recent results.
pub(crate) trait RecentRows {
    /// In one read snapshot: every result that started at or after the
    /// save's `covered_until` (all results without a save), newest first,
    /// into [`RecentMerge::newer`], then the save into
    /// [`RecentMerge::saved`].
    async fn load_recent(&self, merge: &mut RecentMerge) -> Result<(), sqlx::Error>;

    /// In one transaction: deletes the previous save, inserts the results of
    /// `chunks` (rows made with [`crate::results::result_rows`]; a second
    /// result of one monitor in one millisecond is dropped), and records
    /// `covered_until` (ms). Returns how many results were given.
    async fn save_recent<I>(
        &self,
        keys: &MonitorKeys,
        chunks: I,
        covered_until: i64,
    ) -> Result<usize, StoreError>
    where
        I: Iterator<Item = Vec<CheckResult>> + Send;
}

impl Store {
    /// Up to `per_monitor` newest results of each monitor that has any,
    /// newest first, for the engine's in-memory view at start: what
    /// [`Store::save_recent`] saved last, merged with the results that
    /// started since. Reading one monitor's results from the results table
    /// is not offered for recent results: the table is ordered by time.
    pub async fn load_recent(
        &self,
        per_monitor: usize,
    ) -> Result<HashMap<MonitorId, Vec<CheckResult>>, StoreError> {
        const WHAT: &str = "recent results";
        let mut merge = RecentMerge::new(per_monitor);
        backend!(self, engine => engine.load_recent(&mut merge).await)
            .map_err(|source| StoreError::Read { what: WHAT, source })?;
        let by_key = merge.finish();
        self.know_keys(WHAT, by_key.keys().copied()).await?;
        let mut recent = HashMap::with_capacity(by_key.len());
        for (key, rows) in by_key {
            let id = self.known_id(WHAT, key)?;
            let results = rows
                .into_iter()
                .map(|row| row.decode(WHAT, id.clone()))
                .collect::<Result<Vec<_>, _>>()?;
            recent.insert(id, results);
        }
        Ok(recent)
    }

    /// Replaces the saved recent results with the results of `chunks`,
    /// which account for every result that started before `covered_until`
    /// (the newest few of each monitor; [`Store::load_recent`] reads the
    /// rest from the results table). Chunks are taken one at a time, so a
    /// caller copying them out of memory never holds a copy of all of them.
    /// One transaction: a failed save leaves the previous one. Returns how
    /// many results were saved.
    pub async fn save_recent<I>(
        &self,
        chunks: I,
        covered_until: Timestamp,
    ) -> Result<usize, StoreError>
    where
        I: IntoIterator<Item = Vec<CheckResult>>,
        I::IntoIter: Send,
    {
        let chunks = chunks.into_iter();
        backend!(self, engine => engine.save_recent(&self.keys, chunks, millis(covered_until)).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(monitor: i64, started_at: i64) -> StoredResult {
        StoredResult {
            monitor,
            started_at,
            lag_ms: 0,
            latency_us: 1,
            health: 0,
            reason: None,
            fallback_health: None,
            fallback_latency_us: None,
            fallback_reason: None,
        }
    }

    fn started(rows: &[StoredResult]) -> Vec<i64> {
        rows.iter().map(|row| row.started_at).collect()
    }

    #[test]
    fn the_save_and_the_newer_results_merge_newest_first_without_duplicates() {
        let mut merge = RecentMerge::new(3);
        for started_at in [50, 40, 30, 20] {
            merge.newer(row(1, started_at));
        }
        merge.newer(row(2, 5));
        // The save overlaps the newer results at 40 and holds older ones.
        for started_at in [40, 10, 15] {
            merge.saved(row(1, started_at));
        }
        let merged = merge.finish();
        assert_eq!(started(&merged[&1]), vec![50, 40, 30]);
        assert_eq!(started(&merged[&2]), vec![5]);
    }
}
