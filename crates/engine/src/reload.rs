//! Applying a reload to the running engine. The plan is the pure
//! `watchkeeper_domain::reload::plan`; this is the order of its effects:
//! new monitors are registered in the store and their state read from it,
//! then the recorder puts the new list on the board (between two results,
//! through its input channel, so no result is dropped or recorded against
//! the wrong list), then the scheduler queues it, and last the recorder
//! hears which removed monitors the scheduler has let go of (so it can
//! forget them once their last probe is over). One reload at a time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use watchkeeper_domain::alert::RuleSet;
use watchkeeper_domain::id::MonitorId;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_domain::reload::{self, ReloadPlan};
use watchkeeper_store::Store;

use crate::EngineError;
use crate::board::RECENT_RESULTS;
use crate::input::{Input, Reload};
use crate::scheduler::SchedulerReload;

#[derive(Clone)]
pub(crate) struct Reloads {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// What runs now.
    monitors: Mutex<Vec<Arc<MonitorSpec>>>,
    inputs: mpsc::WeakSender<Input>,
    scheduler: mpsc::Sender<SchedulerReload>,
    /// Held for the whole of a reload.
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloads {
    pub(crate) fn new(
        store: Store,
        monitors: Vec<Arc<MonitorSpec>>,
        inputs: mpsc::WeakSender<Input>,
        scheduler: mpsc::Sender<SchedulerReload>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                monitors: Mutex::new(monitors),
                inputs,
                scheduler,
                one_at_a_time: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub(crate) async fn apply(
        &self,
        monitors: Vec<Arc<MonitorSpec>>,
        rules: Option<RuleSet>,
    ) -> Result<ReloadPlan, EngineError> {
        let inner = &self.inner;
        let _one = inner.one_at_a_time.lock().await;
        let current = inner
            .monitors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let plan = reload::plan(&current, &monitors);
        let same_order = current.len() == monitors.len()
            && current.iter().zip(&monitors).all(|(a, b)| a.id == b.id);
        if plan.is_empty() && same_order && rules.is_none() {
            return Ok(plan);
        }

        let added: HashSet<&MonitorId> = plan.added.iter().collect();
        let (mut states, mut recent) = Default::default();
        if !added.is_empty() {
            inner.store.register_monitors(&plan.added).await?;
            states = inner.store.current_states().await?;
            states.retain(|id, _| added.contains(id));
            recent = inner.store.load_recent(RECENT_RESULTS).await?;
            recent.retain(|id, _| added.contains(id));
        }

        // The recorder first: a new monitor is on the board before the
        // scheduler can start its first probe.
        let recorder = inner.inputs.upgrade().ok_or(EngineError::Stopped)?;
        let (applied, done) = oneshot::channel();
        recorder
            .send(Input::Reload(Reload {
                monitors: plan.monitors.clone(),
                rules,
                states,
                recent,
                applied,
            }))
            .await
            .map_err(|_| EngineError::Stopped)?;
        drop(recorder);
        done.await.map_err(|_| EngineError::Stopped)?;

        let (applied, done) = oneshot::channel();
        inner
            .scheduler
            .send(SchedulerReload {
                monitors: plan.monitors.clone(),
                applied,
            })
            .await
            .map_err(|_| EngineError::Stopped)?;
        let unscheduled = done.await.map_err(|_| EngineError::Stopped)?;
        // Now no probe of a removed monitor starts again: the recorder may
        // forget each one's state once its last probe is over. The reload
        // is applied whether or not this arrives (it does not, only when
        // the engine is stopping).
        if !unscheduled.is_empty()
            && let Some(recorder) = inner.inputs.upgrade()
        {
            let _ = recorder.send(Input::Unscheduled(unscheduled)).await;
        }

        *inner
            .monitors
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = plan.monitors.clone();
        tracing::info!(
            added = plan.added.len(),
            removed = plan.removed.len(),
            changed = plan.changed.len(),
            unchanged = plan.unchanged,
            "monitors reloaded"
        );
        Ok(plan)
    }
}
