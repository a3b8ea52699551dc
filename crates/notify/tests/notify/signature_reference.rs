//! Our Standard Webhooks signatures, checked by the reference library
//! (PyPI `standardwebhooks`, in `tests/sinks/webhook_sink.py`): a body we
//! sign verifies there, and one signed with another secret does not.

use std::time::Duration;

use jiff::Timestamp;
use watchkeeper_notify::signature::SigningSecret;
use watchkeeper_testkit::{PySink, loopback_client_builder};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET: &str = "whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==";

/// The receiver refuses a timestamp more than five minutes from its own
/// wall clock, so the test signs with the real time.
#[allow(clippy::disallowed_methods)] // the reference receiver reads the wall clock too
fn receivers_now() -> Timestamp {
    Timestamp::now()
}

/// POSTs `body` signed with `secret` as delivery `id`; returns the status.
async fn post_signed(sink: &PySink, secret: &str, id: &str, body: &str) -> u16 {
    let secret = SigningSecret::parse(secret).unwrap();
    let now = receivers_now();
    let client = loopback_client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .post(sink.url("/hooks/wk"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", now.as_second().to_string())
        .header("webhook-signature", secret.sign(id, now, body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn the_reference_library_verifies_our_signature() {
    let mut sink = PySink::webhook(&["--secret", SECRET]).await.unwrap();
    // Non-ASCII text and a nested object: the signed bytes must be the
    // bytes sent, whatever they hold.
    let body = r#"{"type":"alert.firing","data":{"summary":"API down — 3 failures ✓"}}"#;
    assert_eq!(post_signed(&sink, SECRET, "msg_ours_1", body).await, 200);

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received.len(), 1, "{received:#?}");
    let delivery = &received[0];
    assert_eq!(delivery["verified"], true, "{delivery:#}");
    assert_eq!(delivery["answered"], 200);
    assert_eq!(delivery["path"], "/hooks/wk");
    assert_eq!(delivery["headers"]["webhook-id"], "msg_ours_1");
    assert_eq!(
        delivery["body"]["data"]["summary"],
        "API down — 3 failures ✓"
    );
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_refused() {
    let mut sink = PySink::webhook(&["--secret", SECRET]).await.unwrap();
    let body = r#"{"type":"alert.firing"}"#;
    assert_eq!(
        post_signed(&sink, OTHER_SECRET, "msg_theirs", body).await,
        401
    );

    let received = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(received[0]["verified"], false, "{:#}", received[0]);
    assert_eq!(received[0]["answered"], 401);
}
