//! [`Supervisor`]: every long-running task of the process runs under it.
//! A task that panics or ends while the process is not stopping is logged
//! with its error, then either
//! - restarted with backoff (1 s, doubling to 30 s; reset once a run has
//!   lasted a minute) — maintenance, the HTTP server, the reload signal —
//!   or
//! - fatal — the scheduler and the recorder, which writes to the store
//!   beside its loop: the supervisor reports the death ([`Supervisor::died`])
//!   so the process shuts down and exits non-zero for systemd or Kubernetes
//!   to restart it, rather than keep probing and throw the results away.
//!
//! What each task is doing now ([`Supervisor::tasks`]) feeds `/health`.
//! [`Supervisor::kill`] ends a task as a panic would: a hook for tests of
//! exactly that.

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::{JoinError, JoinHandle};
use tokio_util::sync::CancellationToken;

const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);
/// A run that lasted this long was healthy: the next failure starts the
/// backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// What happens when a task ends before the process stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    Restart,
    /// The process must exit.
    Exit,
}

/// Where a supervised task is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Running,
    /// Died; restarts after the backoff.
    Restarting,
    /// Died, and the process is exiting because of it.
    Dead,
    /// Ended because the process is stopping.
    Stopped,
}

/// One task, as `/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSnapshot {
    pub name: &'static str,
    pub on_failure: OnFailure,
    pub state: TaskState,
    pub restarts: u32,
    /// Why it last died (a panic's message, or that it ended unexpectedly).
    pub last_error: Option<String>,
}

/// A fatal task's death.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDeath {
    pub task: &'static str,
    pub error: String,
}

/// Cheap to clone; clones supervise together.
#[derive(Debug, Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Cancelled when the process stops: a task ending after that is not
    /// a failure.
    stopping: CancellationToken,
    /// Cancelled at the first fatal death.
    fatal: CancellationToken,
    first_death: Mutex<Option<TaskDeath>>,
    tasks: Mutex<Vec<Record>>,
}

#[derive(Debug)]
struct Record {
    snapshot: TaskSnapshot,
    /// Cancelled by [`Supervisor::kill`]; a new one for each run.
    kill: CancellationToken,
}

impl Supervisor {
    /// `stopping` is the process's shutdown token.
    pub fn new(stopping: CancellationToken) -> Self {
        Self {
            inner: Arc::new(Inner {
                stopping,
                fatal: CancellationToken::new(),
                first_death: Mutex::new(None),
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `task`; its ending before the process stops (a panic, or a
    /// return) is fatal. The handle gives its output, `None` if it died.
    pub fn spawn_fatal<T, F>(&self, name: &'static str, task: F) -> JoinHandle<Option<T>>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let kill = self.register(name, OnFailure::Exit);
        let supervisor = self.clone();
        tokio::spawn(async move {
            match supervisor.watch(tokio::spawn(task), kill).await {
                Ok(output) if supervisor.inner.stopping.is_cancelled() => {
                    supervisor.set_state(name, TaskState::Stopped, None);
                    Some(output)
                }
                Ok(output) => {
                    supervisor.record_death(name, "it ended unexpectedly".to_owned());
                    Some(output)
                }
                Err(error) => {
                    supervisor.record_death(name, error);
                    None
                }
            }
        })
    }

    /// Runs `make()` and starts it again with backoff whenever it panics or
    /// ends before the process stops.
    pub fn spawn_restarting<M, F>(&self, name: &'static str, mut make: M) -> JoinHandle<()>
    where
        M: FnMut() -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let mut kill = self.register(name, OnFailure::Restart);
        let supervisor = self.clone();
        tokio::spawn(async move {
            let stopping = supervisor.inner.stopping.clone();
            let mut delay = FIRST_RESTART_DELAY;
            loop {
                let started = tokio::time::Instant::now();
                let outcome = supervisor.watch(tokio::spawn(make()), kill).await;
                if stopping.is_cancelled() {
                    supervisor.set_state(name, TaskState::Stopped, None);
                    return;
                }
                let error = match outcome {
                    Ok(()) => "it ended unexpectedly".to_owned(),
                    Err(error) => error,
                };
                if started.elapsed() >= HEALTHY_RUN {
                    delay = FIRST_RESTART_DELAY;
                }
                tracing::error!(task = name, error = %error, restart_in = ?delay, "a task died; restarting it");
                supervisor.set_state(name, TaskState::Restarting, Some(error));
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = stopping.cancelled() => {
                        supervisor.set_state(name, TaskState::Stopped, None);
                        return;
                    }
                }
                delay = (delay * 2).min(MAX_RESTART_DELAY);
                kill = supervisor.restarted(name);
                tracing::info!(task = name, "task restarted");
            }
        })
    }

    /// Completes at the first death of a fatal task.
    pub async fn died(&self) -> TaskDeath {
        self.inner.fatal.cancelled().await;
        self.first_death().unwrap_or(TaskDeath {
            task: "unknown",
            error: "a task died".to_owned(),
        })
    }

    /// The first fatal death, if a fatal task has died.
    pub fn first_death(&self) -> Option<TaskDeath> {
        self.inner
            .first_death
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every task, in the order started.
    pub fn tasks(&self) -> Vec<TaskSnapshot> {
        self.lock()
            .iter()
            .map(|record| record.snapshot.clone())
            .collect()
    }

    /// Ends the task `name` as a panic would (a test hook). False when no
    /// running task has that name.
    #[doc(hidden)]
    pub fn kill(&self, name: &str) -> bool {
        let tasks = self.lock();
        match tasks.iter().find(|record| record.snapshot.name == name) {
            Some(record) if record.snapshot.state == TaskState::Running => {
                record.kill.cancel();
                true
            }
            _ => false,
        }
    }

    /// Awaits the task, or its kill; `Err` with the panic's message.
    async fn watch<T>(
        &self,
        mut task: JoinHandle<T>,
        kill: CancellationToken,
    ) -> Result<T, String> {
        tokio::select! {
            joined = &mut task => joined.map_err(describe),
            () = kill.cancelled() => {
                task.abort();
                Err("killed by a test hook".to_owned())
            }
        }
    }

    fn register(&self, name: &'static str, on_failure: OnFailure) -> CancellationToken {
        let kill = CancellationToken::new();
        self.lock().push(Record {
            snapshot: TaskSnapshot {
                name,
                on_failure,
                state: TaskState::Running,
                restarts: 0,
                last_error: None,
            },
            kill: kill.clone(),
        });
        kill
    }

    fn restarted(&self, name: &'static str) -> CancellationToken {
        let kill = CancellationToken::new();
        let mut tasks = self.lock();
        if let Some(record) = tasks.iter_mut().find(|record| record.snapshot.name == name) {
            record.snapshot.state = TaskState::Running;
            record.snapshot.restarts = record.snapshot.restarts.saturating_add(1);
            record.kill = kill.clone();
        }
        kill
    }

    fn set_state(&self, name: &'static str, state: TaskState, error: Option<String>) {
        let mut tasks = self.lock();
        if let Some(record) = tasks.iter_mut().find(|record| record.snapshot.name == name) {
            record.snapshot.state = state;
            if error.is_some() {
                record.snapshot.last_error = error;
            }
        }
    }

    fn record_death(&self, name: &'static str, error: String) {
        tracing::error!(task = name, error = %error, "a task the process cannot run without died; exiting");
        self.set_state(name, TaskState::Dead, Some(error.clone()));
        self.inner
            .first_death
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(TaskDeath { task: name, error });
        self.inner.fatal.cancel();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Record>> {
        self.inner
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A task's end as a sentence: the panic's message when there is one.
fn describe(error: JoinError) -> String {
    if error.is_cancelled() {
        return "it was cancelled".to_owned();
    }
    match error.try_into_panic() {
        Ok(payload) => format!("it panicked: {}", panic_message(payload.as_ref())),
        Err(error) => error.to_string(),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_restarting_task_comes_back_with_backoff() {
        let stopping = CancellationToken::new();
        let supervisor = Supervisor::new(stopping.clone());
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let until_stopped = stopping.clone();
        let task = supervisor.spawn_restarting("maintenance", move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            let stopped = until_stopped.clone();
            async move {
                assert!(run >= 2, "scripted panic in run {run}");
                // A healthy run lasts until the process stops, as
                // maintenance's does.
                stopped.cancelled().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let tasks = supervisor.tasks();
        assert_eq!(tasks[0].state, TaskState::Restarting);
        assert!(
            tasks[0]
                .last_error
                .as_deref()
                .is_some_and(|error| error.contains("scripted panic in run 0")),
            "{tasks:?}"
        );
        // 1 s, then 2 s of backoff: the third run holds.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        let tasks = supervisor.tasks();
        assert_eq!(
            (tasks[0].state.clone(), tasks[0].restarts),
            (TaskState::Running, 2)
        );
        // A kill is a death like a panic.
        assert!(supervisor.kill("maintenance"));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(supervisor.tasks()[0].state, TaskState::Restarting);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        assert!(supervisor.first_death().is_none(), "never fatal");

        stopping.cancel();
        task.await.unwrap();
        assert_eq!(supervisor.tasks()[0].state, TaskState::Stopped);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fatal_task_that_dies_is_reported_once() {
        let stopping = CancellationToken::new();
        let supervisor = Supervisor::new(stopping.clone());
        let recorder = supervisor.spawn_fatal("recorder", std::future::pending::<u32>());
        let scheduler = supervisor.spawn_fatal("scheduler", async { 7 });
        let death = supervisor.died().await;
        assert_eq!(
            death,
            TaskDeath {
                task: "scheduler",
                error: "it ended unexpectedly".to_owned()
            }
        );
        assert_eq!(scheduler.await.unwrap(), Some(7));
        assert!(supervisor.kill("recorder"));
        assert_eq!(recorder.await.unwrap(), None);
        // The first death is the one reported.
        assert_eq!(supervisor.died().await.task, "scheduler");
        let states: Vec<_> = supervisor.tasks().into_iter().map(|t| t.state).collect();
        assert_eq!(states, vec![TaskState::Dead, TaskState::Dead]);
    }

    #[tokio::test(start_paused = true)]
    async fn ending_while_the_process_stops_is_no_death() {
        let stopping = CancellationToken::new();
        let supervisor = Supervisor::new(stopping.clone());
        let token = stopping.clone();
        let task = supervisor.spawn_fatal("recorder", async move {
            token.cancelled().await;
            "flushed"
        });
        stopping.cancel();
        assert_eq!(task.await.unwrap(), Some("flushed"));
        assert!(supervisor.first_death().is_none());
        assert_eq!(supervisor.tasks()[0].state, TaskState::Stopped);
    }
}
