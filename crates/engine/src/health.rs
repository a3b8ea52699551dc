//! Whether the engine is doing its job, for `/health`: the recorder and the
//! store are making progress, or [`Problem`]s say in a sentence each what
//! is wrong. [`problems`] is a pure function of one reading of everything,
//! tested without a store; [`EngineHealth`] takes the reading.
//!
//! Unhealthy (`/health` answers 503): writes to the store have failed for
//! longer than 30 s, results are being dropped, the recorder has fallen
//! behind (results wait and none was taken for 10 s), or a task has died.
//! Writes failing for less than 30 s are a problem too, but not yet
//! unhealthy: a busy lock or a moment of a full disk passes, and the write
//! buffer holds the results meanwhile.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use watchkeeper_domain::clock::Clock;

use crate::input::Input;
use crate::recorder::RecorderProgress;
use crate::store_health::{StoreHealth, StoreHealthSnapshot, Writing};
use crate::supervisor::{Supervisor, TaskSnapshot, TaskState};

/// Writes failing for longer than this make the process unhealthy.
pub const WRITES_FAILING_LIMIT: Duration = Duration::from_secs(30);
/// Results waiting while the recorder has taken none for this long: it has
/// fallen behind.
pub const RECORDER_STALL_LIMIT: Duration = Duration::from_secs(10);

/// One thing wrong, as a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Makes `/health` a 503.
    pub unhealthy: bool,
    pub message: String,
}

/// The recorder's input, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderReading {
    /// Inputs waiting for the recorder.
    pub waiting: usize,
    /// When it last took one (steady reading).
    pub last_taken: Timestamp,
}

/// One reading of everything `/health` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    pub store: StoreHealthSnapshot,
    pub recorder: RecorderReading,
    pub tasks: Vec<TaskSnapshot>,
    pub problems: Vec<Problem>,
}

impl HealthReport {
    pub fn is_unhealthy(&self) -> bool {
        self.problems.iter().any(|problem| problem.unhealthy)
    }
}

/// What is wrong, worst first (each a short sentence).
pub fn problems(
    store: &StoreHealthSnapshot,
    recorder: &RecorderReading,
    tasks: &[TaskSnapshot],
    now: Timestamp,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for task in tasks {
        let error = task.last_error.as_deref().unwrap_or("it ended");
        match (&task.state, task.on_failure) {
            (TaskState::Dead, _) => problems.push(Problem {
                unhealthy: true,
                message: format!(
                    "The {} task died ({error}); the process is exiting.",
                    task.name
                ),
            }),
            (TaskState::Restarting, _) => problems.push(Problem {
                unhealthy: true,
                message: format!(
                    "The {} task died ({error}) and is being restarted.",
                    task.name
                ),
            }),
            _ => {}
        }
    }
    if store.dropping {
        problems.push(Problem {
            unhealthy: true,
            message: format!(
                "Results are being dropped: the store keeps failing and the write buffer of {} is full ({} dropped since start).",
                store.buffer_capacity, store.dropped_results
            ),
        });
    }
    if let (Writing::Failing, Some(since)) = (store.writing, store.failing_since) {
        let failing_for = elapsed(since, now);
        let error = store.last_error.as_deref().unwrap_or("unknown error");
        problems.push(Problem {
            unhealthy: failing_for > WRITES_FAILING_LIMIT,
            message: format!(
                "Writes to the store have failed for {}: {error}.",
                seconds(failing_for)
            ),
        });
    }
    let idle = elapsed(recorder.last_taken, now);
    if recorder.waiting > 0 && idle > RECORDER_STALL_LIMIT {
        problems.push(Problem {
            unhealthy: true,
            message: format!(
                "The recorder has fallen behind: {} results wait and it has taken none for {}.",
                recorder.waiting,
                seconds(idle)
            ),
        });
    }
    problems
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    let span = now.duration_since(since);
    if span <= SignedDuration::ZERO {
        Duration::ZERO
    } else {
        span.unsigned_abs()
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs())
}

/// Takes readings for `/health`. Cheap to clone.
#[derive(Clone)]
pub struct EngineHealth {
    pub(crate) store: StoreHealth,
    pub(crate) progress: RecorderProgress,
    /// Weak: reading the recorder's queue never keeps it alive.
    pub(crate) inputs: mpsc::WeakSender<Input>,
    pub(crate) supervisor: Supervisor,
    pub(crate) clock: Arc<dyn Clock>,
}

impl EngineHealth {
    pub fn report(&self) -> HealthReport {
        let store = self.store.snapshot();
        let waiting = self
            .inputs
            .upgrade()
            .map_or(0, |inputs| inputs.max_capacity() - inputs.capacity());
        let recorder = RecorderReading {
            waiting,
            last_taken: self.progress.last_taken(),
        };
        let tasks = self.supervisor.tasks();
        let problems = problems(&store, &recorder, &tasks, self.clock.now());
        HealthReport {
            store,
            recorder,
            tasks,
            problems,
        }
    }

    pub fn store(&self) -> &StoreHealth {
        &self.store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::OnFailure;

    fn at(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    const NOW: &str = "2026-01-01T10:00:00Z";

    fn store(failing_since: Option<&str>, dropping: bool) -> StoreHealthSnapshot {
        StoreHealthSnapshot {
            writing: if failing_since.is_some() {
                Writing::Failing
            } else {
                Writing::Ok
            },
            failing_since: failing_since.map(at),
            last_error: failing_since
                .map(|_| "cannot write a batch: database or disk is full".to_owned()),
            buffered_results: 0,
            buffer_capacity: 600,
            dropped_results: if dropping { 12 } else { 0 },
            dropping,
        }
    }

    fn idle_recorder() -> RecorderReading {
        RecorderReading {
            waiting: 0,
            last_taken: at("2026-01-01T09:00:00Z"),
        }
    }

    fn messages(problems: &[Problem]) -> Vec<(bool, &str)> {
        problems
            .iter()
            .map(|problem| (problem.unhealthy, problem.message.as_str()))
            .collect()
    }

    #[test]
    fn nothing_wrong_when_the_store_writes_and_the_recorder_keeps_up() {
        assert!(problems(&store(None, false), &idle_recorder(), &[], at(NOW)).is_empty());
    }

    #[test]
    fn failing_writes_become_unhealthy_after_thirty_seconds() {
        let early = problems(
            &store(Some("2026-01-01T09:59:35Z"), false),
            &idle_recorder(),
            &[],
            at(NOW),
        );
        assert_eq!(
            messages(&early),
            vec![(
                false,
                "Writes to the store have failed for 25 s: cannot write a batch: database or disk is full."
            )]
        );
        let late = problems(
            &store(Some("2026-01-01T09:59:29Z"), false),
            &idle_recorder(),
            &[],
            at(NOW),
        );
        assert_eq!(
            messages(&late),
            vec![(
                true,
                "Writes to the store have failed for 31 s: cannot write a batch: database or disk is full."
            )]
        );
    }

    #[test]
    fn dropping_results_is_unhealthy_at_once() {
        let found = problems(
            &store(Some("2026-01-01T09:59:55Z"), true),
            &idle_recorder(),
            &[],
            at(NOW),
        );
        assert!(found[0].unhealthy);
        assert_eq!(
            found[0].message,
            "Results are being dropped: the store keeps failing and the write buffer of 600 is full (12 dropped since start)."
        );
    }

    #[test]
    fn a_recorder_that_takes_nothing_while_results_wait_has_fallen_behind() {
        let waiting = |seconds_ago: i64| RecorderReading {
            waiting: 37,
            last_taken: at(NOW) - SignedDuration::from_secs(seconds_ago),
        };
        assert!(problems(&store(None, false), &waiting(9), &[], at(NOW)).is_empty());
        assert_eq!(
            messages(&problems(&store(None, false), &waiting(12), &[], at(NOW))),
            vec![(
                true,
                "The recorder has fallen behind: 37 results wait and it has taken none for 12 s."
            )]
        );
    }

    #[test]
    fn a_dead_or_restarting_task_is_unhealthy() {
        let task = |name, state, on_failure| TaskSnapshot {
            name,
            on_failure,
            state,
            restarts: 0,
            last_error: Some("it panicked: boom".to_owned()),
        };
        let tasks = [
            task("scheduler", TaskState::Running, OnFailure::Exit),
            task("maintenance", TaskState::Restarting, OnFailure::Restart),
            task("recorder", TaskState::Dead, OnFailure::Exit),
            task("http", TaskState::Stopped, OnFailure::Restart),
        ];
        assert_eq!(
            messages(&problems(
                &store(None, false),
                &idle_recorder(),
                &tasks,
                at(NOW)
            )),
            vec![
                (
                    true,
                    "The maintenance task died (it panicked: boom) and is being restarted."
                ),
                (
                    true,
                    "The recorder task died (it panicked: boom); the process is exiting."
                ),
            ]
        );
    }
}
