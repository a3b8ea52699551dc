//! What one delivery attempt's outcome means, and when to try again.
//!
//! - Only a 2xx answer delivers. A redirect is a failure (notifier URLs
//!   are not followed elsewhere), retried like a 5xx.
//! - A 4xx is final (the receiver refuses this message; sending it again
//!   will not change that), except 408 Request Timeout and 429 Too Many
//!   Requests, which are retried. 410 Gone also disables the notifier
//!   until its config changes, as Standard Webhooks asks.
//! - A failure to connect, a timeout, or an answer that is not HTTP is
//!   retried.
//! - Channels that are not HTTP say what happened in their own terms:
//!   accepted (an SMTP server took the message, a command exited 0)
//!   delivers; rejected (an SMTP 5xx) is final; failed (an SMTP 4xx, a
//!   command's non-zero exit or timeout, no connection) is retried.
//! - Retries back off exponentially (5 s, 10 s, 20 s, … up to 1 h between
//!   attempts) with ±20 % jitter, for at least 24 hours after the first
//!   attempt; the first failure after that gives up. The jitter is derived
//!   from the delivery's id and the attempt number, so the decision is a
//!   pure function and deliveries that failed together spread out.
//! - `Retry-After` (seconds, or an HTTP date) is honoured when it asks
//!   for longer than the backoff, up to 6 hours.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered with `status`.
    Answered {
        status: u16,
        retry_after: Option<String>,
    },
    /// No usable answer: connection refused, timed out, not HTTP; or a
    /// channel that is not HTTP failed in a way worth retrying (an SMTP
    /// 4xx, a command's non-zero exit). The reason says which.
    Failed { reason: String },
    /// A channel that is not HTTP delivered (an SMTP server took the
    /// message, a command exited 0); `answer` is the receiver's own words,
    /// for `notify test` to print.
    Accepted { answer: String },
    /// A channel that is not HTTP refused the message for good (an SMTP
    /// 5xx: an unknown mailbox, bad credentials): sending it again will not
    /// change that.
    Rejected { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Delivered,
    RetryAt {
        at: Timestamp,
        reason: String,
    },
    /// Final: this delivery is not attempted again.
    GiveUp {
        reason: String,
    },
    /// Final, and the notifier takes no more deliveries until its config
    /// changes.
    Disable {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Retrying stops with the first failure this long after the first
    /// attempt.
    pub retry_for: Duration,
    /// Each delay is moved by up to this fraction, either way.
    pub jitter: f64,
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(3_600),
            retry_for: Duration::from_secs(24 * 3_600),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(6 * 3_600),
        }
    }
}

/// One attempt of one delivery, as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The delivery's id (its `webhook-id`), the same on every attempt.
    pub delivery: &'a str,
    /// 1 for the first attempt.
    pub number: u32,
    pub first_attempt_at: Timestamp,
    pub now: Timestamp,
}

impl<'a> Attempt<'a> {
    /// Attempt `number` of a stored `delivery`, made at `now`.
    pub fn of(delivery: &'a watchkeeper_store::Delivery, number: u32, now: Timestamp) -> Self {
        Attempt {
            delivery: &delivery.id,
            number,
            first_attempt_at: delivery.created_at,
            now,
        }
    }
}

impl RetryPolicy {
    pub fn decide(&self, attempt: Attempt<'_>, outcome: &Outcome) -> Decision {
        let (reason, retry_after) = match outcome {
            Outcome::Answered { status, .. } if (200..300).contains(status) => {
                return Decision::Delivered;
            }
            Outcome::Accepted { .. } => return Decision::Delivered,
            Outcome::Rejected { reason } => {
                return Decision::GiveUp {
                    reason: reason.clone(),
                };
            }
            Outcome::Answered { status: 410, .. } => {
                return Decision::Disable {
                    reason: "the receiver answered 410 Gone: the notifier is disabled until its config changes".to_owned(),
                };
            }
            Outcome::Answered { status, .. }
                if (400..500).contains(status) && *status != 408 && *status != 429 =>
            {
                return Decision::GiveUp {
                    reason: format!("the receiver refused the message with {status}"),
                };
            }
            Outcome::Answered {
                status,
                retry_after,
            } => (
                if (300..400).contains(status) {
                    format!("the receiver answered {status}, a redirect, which is not followed")
                } else {
                    format!("the receiver answered {status}")
                },
                retry_after
                    .as_deref()
                    .and_then(|value| parse_retry_after(value, attempt.now)),
            ),
            Outcome::Failed { reason } => (reason.clone(), None),
        };
        let elapsed = attempt.now.duration_since(attempt.first_attempt_at);
        if elapsed >= SignedDuration::try_from(self.retry_for).unwrap_or(SignedDuration::MAX) {
            return Decision::GiveUp {
                reason: format!(
                    "{reason}; no more attempts after {} tries over {} h",
                    attempt.number,
                    elapsed.as_secs() / 3_600
                ),
            };
        }
        let mut delay = self.backoff(attempt.delivery, attempt.number);
        if let Some(asked) = retry_after {
            delay = delay.max(asked.min(self.max_retry_after));
        }
        let at = attempt
            .now
            .checked_add(SignedDuration::try_from(delay).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX);
        Decision::RetryAt { at, reason }
    }

    /// The delay after attempt `number` failed: `first_delay × 2^(n−1)`,
    /// at most `max_delay`, moved by the delivery's jitter.
    pub fn backoff(&self, delivery: &str, number: u32) -> Duration {
        let doublings = number.saturating_sub(1).min(30);
        let base = self
            .first_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let spread = 1.0 + self.jitter * (2.0 * unit_fraction(delivery, number) - 1.0);
        base.mul_f64(spread.max(0.0))
    }
}

/// A stable number in `[0, 1)` from the delivery and attempt.
fn unit_fraction(delivery: &str, number: u32) -> f64 {
    let digest = Sha256::new()
        .chain_update(delivery.as_bytes())
        .chain_update(number.to_be_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// `Retry-After`: delay-seconds (`120`) or an HTTP date
/// (`Wed, 21 Oct 2026 07:28:00 GMT`). A date in the past means now.
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn attempt(number: u32, now: &str) -> Attempt<'static> {
        Attempt {
            delivery: "msg_1",
            number,
            first_attempt_at: ts("2026-05-01T00:00:00Z"),
            now: ts(now),
        }
    }

    fn answered(status: u16) -> Outcome {
        Outcome::Answered {
            status,
            retry_after: None,
        }
    }

    fn retry_delay(decision: &Decision, now: &str) -> Duration {
        match decision {
            Decision::RetryAt { at, .. } => Duration::try_from(at.duration_since(ts(now))).unwrap(),
            other => panic!("not a retry: {other:?}"),
        }
    }

    #[test]
    fn only_2xx_delivers_and_4xx_is_final_except_408_and_429() {
        let policy = RetryPolicy::default();
        let now = "2026-05-01T00:00:00Z";
        for status in [200, 201, 204, 299] {
            assert_eq!(
                policy.decide(attempt(1, now), &answered(status)),
                Decision::Delivered
            );
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(
                matches!(
                    policy.decide(attempt(1, now), &answered(status)),
                    Decision::GiveUp { .. }
                ),
                "{status}"
            );
        }
        for status in [301, 302, 307, 408, 429, 500, 502, 503] {
            assert!(
                matches!(
                    policy.decide(attempt(1, now), &answered(status)),
                    Decision::RetryAt { .. }
                ),
                "{status}"
            );
        }
        assert!(matches!(
            policy.decide(attempt(1, now), &answered(410)),
            Decision::Disable { .. }
        ));
        let Decision::RetryAt { reason, .. } = policy.decide(attempt(1, now), &answered(302))
        else {
            unreachable!()
        };
        assert_eq!(
            reason,
            "the receiver answered 302, a redirect, which is not followed"
        );
    }

    #[test]
    fn accepted_delivers_rejected_is_final_and_failed_is_retried() {
        let policy = RetryPolicy::default();
        let now = "2026-05-01T00:00:00Z";
        assert_eq!(
            policy.decide(
                attempt(1, now),
                &Outcome::Accepted {
                    answer: "250 2.0.0 queued as 4F2A".into()
                }
            ),
            Decision::Delivered
        );
        assert_eq!(
            policy.decide(
                attempt(3, now),
                &Outcome::Rejected {
                    reason: "the SMTP server refused: 550 5.1.1 mailbox unavailable".into()
                }
            ),
            Decision::GiveUp {
                reason: "the SMTP server refused: 550 5.1.1 mailbox unavailable".into()
            }
        );
        let Decision::RetryAt { at, reason } = policy.decide(
            attempt(1, now),
            &Outcome::Failed {
                reason: "the command exited with 3".into(),
            },
        ) else {
            panic!("a failed command is retried");
        };
        assert_eq!(reason, "the command exited with 3");
        assert_eq!(
            Duration::try_from(at.duration_since(ts(now))).unwrap(),
            policy.backoff("msg_1", 1)
        );
    }

    #[test]
    fn delays_double_from_five_seconds_to_an_hour_within_the_jitter() {
        let policy = RetryPolicy::default();
        let expected = [5, 10, 20, 40, 80, 160, 320, 640, 1_280, 2_560, 3_600, 3_600];
        for (n, base) in expected.iter().enumerate() {
            let delay = policy.backoff("msg_1", n as u32 + 1).as_secs_f64();
            let base = f64::from(*base);
            assert!(
                delay >= base * 0.8 && delay <= base * 1.2,
                "attempt {}: {delay} s for a base of {base} s",
                n + 1
            );
        }
        // The same delivery and attempt always wait the same; others differ.
        assert_eq!(policy.backoff("msg_1", 3), policy.backoff("msg_1", 3));
        let spread: std::collections::BTreeSet<u128> = (0..20)
            .map(|i| policy.backoff(&format!("msg_{i}"), 3).as_millis())
            .collect();
        assert!(spread.len() > 15, "{spread:?}");
    }

    #[test]
    fn retries_go_on_for_24_hours_then_give_up() {
        let policy = RetryPolicy::default();
        let failed = Outcome::Failed {
            reason: "connect: connection refused".into(),
        };
        assert!(matches!(
            policy.decide(attempt(30, "2026-05-01T23:59:59Z"), &failed),
            Decision::RetryAt { .. }
        ));
        let Decision::GiveUp { reason } =
            policy.decide(attempt(31, "2026-05-02T00:00:00Z"), &failed)
        else {
            panic!("expected to give up");
        };
        assert_eq!(
            reason,
            "connect: connection refused; no more attempts after 31 tries over 24 h"
        );
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_capped_at_six_hours() {
        let policy = RetryPolicy::default();
        let now = "2026-05-01T00:00:00Z";
        let asking = |value: &str| Outcome::Answered {
            status: 429,
            retry_after: Some(value.to_owned()),
        };
        assert_eq!(
            retry_delay(&policy.decide(attempt(1, now), &asking("120")), now),
            Duration::from_secs(120)
        );
        // An HTTP date ten minutes ahead.
        assert_eq!(
            retry_delay(
                &policy.decide(attempt(1, now), &asking("Fri, 01 May 2026 00:10:00 GMT")),
                now
            ),
            Duration::from_secs(600)
        );
        assert_eq!(
            retry_delay(&policy.decide(attempt(1, now), &asking("86400")), now),
            Duration::from_secs(6 * 3_600)
        );
        // Shorter than the backoff, or unreadable: the backoff wins.
        let first = policy.backoff("msg_1", 1);
        assert_eq!(
            retry_delay(&policy.decide(attempt(1, now), &asking("1")), now),
            first
        );
        assert_eq!(
            retry_delay(&policy.decide(attempt(1, now), &asking("soon")), now),
            first
        );
    }

    #[test]
    fn retry_after_dates_in_the_past_mean_now() {
        let now = ts("2026-05-01T00:00:00Z");
        assert_eq!(
            parse_retry_after("Thu, 30 Apr 2026 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
