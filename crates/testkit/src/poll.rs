//! Waiting for state in tests: poll with a deadline, never sleep and hope.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often [`poll_until`] asks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `check` every [`POLL_INTERVAL`] until it returns `Some`, and returns
/// that value.
///
/// # Panics
///
/// When `deadline` passes first — including while a single `check` is still
/// running — with a message naming `what` and the time waited, so a failing
/// test says what it was waiting for.
pub async fn poll_until<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    // Real time, not tokio's: a test with a paused tokio clock still gets a
    // deadline it can rely on.
    let started = Instant::now();
    let mut attempts: u64 = 0;
    loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        attempts += 1;
        match tokio::time::timeout(remaining, check()).await {
            Ok(Some(value)) => return value,
            Ok(None) => {}
            Err(_) => give_up(what, started, attempts),
        }
        let remaining = deadline.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            give_up(what, started, attempts);
        }
        tokio::time::sleep(POLL_INTERVAL.min(remaining)).await;
    }
}

fn give_up(what: &str, started: Instant, attempts: u64) -> ! {
    panic!(
        "timed out waiting for {what}: still not true after {:?} ({attempts} attempts)",
        started.elapsed()
    )
}
