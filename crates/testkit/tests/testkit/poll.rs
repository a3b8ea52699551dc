//! `poll_until`: returns the first `Some`, and fails loudly at its deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use watchkeeper_testkit::poll_until;

#[tokio::test]
async fn returns_the_first_value_once_the_condition_holds() {
    let calls = Arc::new(AtomicU32::new(0));
    let value = poll_until(Duration::from_secs(5), "the third call", || {
        let calls = Arc::clone(&calls);
        async move {
            let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (call >= 3).then_some(call * 10)
        }
    })
    .await;
    assert_eq!(value, 30);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

fn panic_message(error: tokio::task::JoinError) -> String {
    let payload = error.into_panic();
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| (*message).to_owned())
            .unwrap_or_default(),
    }
}

#[tokio::test]
async fn panics_naming_what_it_waited_for_and_how_long() {
    let waited = tokio::spawn(async {
        poll_until(
            Duration::from_millis(100),
            "the moon to turn blue",
            || async { None::<()> },
        )
        .await;
    })
    .await;
    let message = panic_message(waited.expect_err("poll_until must panic at its deadline"));
    assert!(message.contains("the moon to turn blue"), "{message}");
    assert!(message.contains("ms"), "no elapsed time in: {message}");
    assert!(message.starts_with("timed out"), "{message}");
}

#[tokio::test]
async fn a_single_check_that_never_finishes_still_hits_the_deadline() {
    let waited = tokio::spawn(async {
        poll_until(Duration::from_millis(100), "a stuck check", || {
            std::future::pending::<Option<()>>()
        })
        .await;
    })
    .await;
    let message = panic_message(waited.expect_err("poll_until must panic at its deadline"));
    assert!(message.contains("a stuck check"), "{message}");
}
