//! `PySink` and the webhook sink's behaviours as the notification tests
//! rely on them: a sink that cannot start says why; `--fail N` with
//! `--retry-after`, `--status`, `--garbage` and `--hang` answer as
//! documented in `tests/sinks/webhook_sink.py`.

use std::time::Duration;

use watchkeeper_testkit::{PySink, PySinkError, loopback_client_builder};

const DEADLINE: Duration = Duration::from_secs(10);

fn client(timeout: Duration) -> reqwest::Client {
    loopback_client_builder().timeout(timeout).build().unwrap()
}

#[tokio::test]
async fn a_sink_that_cannot_start_is_an_error_with_its_reason() {
    let Err(error) = PySink::start("no_such_sink.py", &[]).await else {
        panic!("a missing script started");
    };
    assert!(matches!(error, PySinkError::NotListening { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains("no_such_sink.py"), "{text}");
    // python3's own words, from its stderr.
    assert!(text.contains("No such file or directory"), "{text}");
}

#[tokio::test]
async fn fail_n_answers_500_with_retry_after_then_200() {
    let mut sink = PySink::webhook(&["--fail", "2", "--retry-after", "7"])
        .await
        .unwrap();
    let client = client(DEADLINE);
    let mut answers = Vec::new();
    for n in 0..3 {
        let response = client
            .post(sink.url("/hook"))
            .body(format!(r#"{{"n":{n}}}"#))
            .send()
            .await
            .unwrap();
        answers.push((
            response.status().as_u16(),
            response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned()),
        ));
    }
    assert_eq!(
        answers,
        [
            (500, Some("7".to_owned())),
            (500, Some("7".to_owned())),
            (200, None)
        ]
    );
    let received = sink.wait_for(3, DEADLINE).await;
    let recorded: Vec<_> = received
        .iter()
        .map(|line| (line["body"]["n"].as_i64(), line["answered"].as_i64()))
        .collect();
    assert_eq!(
        recorded,
        [
            (Some(0), Some(500)),
            (Some(1), Some(500)),
            (Some(2), Some(200))
        ]
    );
    // No --secret: nothing is verified.
    assert_eq!(received[0]["verified"], false);
}

#[tokio::test]
async fn status_is_always_answered() {
    let mut sink = PySink::webhook(&["--status", "410"]).await.unwrap();
    let client = client(DEADLINE);
    for _ in 0..2 {
        let status = client.post(sink.url("/")).body("x").send().await.unwrap();
        assert_eq!(status.status().as_u16(), 410);
    }
    let received = sink.wait_for(2, DEADLINE).await;
    assert_eq!(received[1]["body"], "x");
}

#[tokio::test]
async fn garbage_is_not_http_and_hang_never_answers() {
    let mut garbage = PySink::webhook(&["--garbage"]).await.unwrap();
    let error = client(DEADLINE)
        .post(garbage.url("/"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert_eq!(
        garbage.wait_for(1, DEADLINE).await[0]["answered"],
        "garbage"
    );

    let mut hang = PySink::webhook(&["--hang"]).await.unwrap();
    let error = client(Duration::from_millis(500))
        .post(hang.url("/"))
        .body("{}")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    let received = hang.wait_for(1, DEADLINE).await;
    assert_eq!(received[0]["answered"], serde_json::Value::Null);
}
