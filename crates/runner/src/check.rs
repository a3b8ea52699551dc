//! One check of one monitor: probe (and the fallback, for http), judge with
//! the monitor's conditions, compare for parity, and decide the result's
//! health and reason. The rules are in the crate docs.

use std::future::Future;
use std::time::Duration;

use jiff::Timestamp;
use tokio::time::Instant;
use url::Url;
use watchkeeper_domain::condition::{Verdict, judge, judges_quickly};
use watchkeeper_domain::monitor::{MonitorSpec, Parity, ProbeSpec, RedactedUrl};
use watchkeeper_domain::observation::{FailureKind, Observation, ObservationDetail, ProbeFailure};
use watchkeeper_domain::{CheckResult, FallbackResult, Health};

use crate::Prober;

/// What one probe gave, and how long it took (to the answer or the failure).
struct Outcome {
    result: Result<Observation, ProbeFailure>,
    latency: Duration,
}

async fn timed(probe: impl Future<Output = Result<Observation, ProbeFailure>>) -> Outcome {
    let start = Instant::now();
    let result = probe.await;
    let latency = match &result {
        Ok(observation) => observation.latency,
        Err(_) => start.elapsed(),
    };
    Outcome { result, latency }
}

pub(crate) async fn run(prober: &Prober, monitor: &MonitorSpec, due_at: Timestamp) -> CheckResult {
    let started_at = prober.clock.now();
    let (primary, fallback) = match &monitor.probe {
        ProbeSpec::Http(http) => match &http.fallback_url {
            Some(fallback_url) => {
                let clock = prober.clock.as_ref();
                // Boxed like every probe (see `Prober::probe`).
                let (primary, fallback) = tokio::join!(
                    timed(Box::pin(prober.http.probe(
                        http,
                        &http.url,
                        monitor.timeout,
                        clock
                    ))),
                    timed(Box::pin(prober.http.probe(
                        http,
                        fallback_url,
                        monitor.timeout,
                        clock
                    ))),
                );
                (primary, Some((fallback_url, &http.parity, fallback)))
            }
            None => (
                timed(prober.probe(&monitor.probe, monitor.timeout)).await,
                None,
            ),
        },
        probe => (timed(prober.probe(probe, monitor.timeout)).await, None),
    };
    let judging = Instant::now();
    let (primary_verdict, primary) = verdict(monitor, primary).await;
    let (health, reason, fallback) = match fallback {
        None => (primary_verdict.health, primary_verdict.reason, None),
        Some((url, parity, fallback)) => {
            let (fallback_verdict, fallback) = verdict(monitor, fallback).await;
            let (health, reason) = with_fallback(
                primary_verdict,
                &primary,
                url,
                parity,
                &fallback_verdict,
                &fallback,
            );
            let recorded = FallbackResult {
                health: fallback_verdict.health,
                latency: fallback.latency,
                reason: fallback_verdict.reason,
            };
            (health, reason, Some(recorded))
        }
    };
    CheckResult {
        monitor: monitor.id.clone(),
        due_at,
        started_at,
        latency: primary.latency,
        evaluation: judging.elapsed(),
        health,
        reason,
        fallback,
    }
}

/// A probe failure is down with its message; an observation is judged, on
/// a blocking thread when its conditions could be costly on an answer of
/// its size, so that a heavy judgement never holds up the async runtime
/// (the other probes, the API, shutdown). The outcome is handed back for
/// the parity comparison.
async fn verdict(monitor: &MonitorSpec, outcome: Outcome) -> (Verdict, Outcome) {
    let Outcome { result, latency } = outcome;
    let observation = match result {
        Ok(observation) => observation,
        Err(failure) => {
            let verdict = Verdict {
                health: Health::Down,
                reason: Some(failure.message.clone()),
            };
            let result = Err(failure);
            return (verdict, Outcome { result, latency });
        }
    };
    if judges_quickly(&monitor.expect, &monitor.degraded_if, &observation) {
        let verdict = judge(&monitor.expect, &monitor.degraded_if, &observation);
        let result = Ok(observation);
        return (verdict, Outcome { result, latency });
    }
    let expect = monitor.expect.clone();
    let degraded_if = monitor.degraded_if.clone();
    let judged = tokio::task::spawn_blocking(move || {
        (judge(&expect, &degraded_if, &observation), observation)
    })
    .await;
    match judged {
        Ok((verdict, observation)) => {
            let result = Ok(observation);
            (verdict, Outcome { result, latency })
        }
        // judging panicked (a bug of ours): the answer went with the task
        Err(error) => {
            let message = format!("the answer could not be judged: {error}");
            let verdict = Verdict {
                health: Health::Down,
                reason: Some(message.clone()),
            };
            let result = Err(ProbeFailure::new(FailureKind::Io, message));
            (verdict, Outcome { result, latency })
        }
    }
}

/// The monitor's health and reason once the fallback is taken into account.
fn with_fallback(
    primary: Verdict,
    primary_outcome: &Outcome,
    url: &Url,
    parity: &Parity,
    fallback: &Verdict,
    fallback_outcome: &Outcome,
) -> (Health, Option<String>) {
    if primary.health == Health::Down {
        let mut reason = primary.reason.unwrap_or_default();
        reason.push_str(&format!(
            "; fallback {} is {}",
            RedactedUrl(url),
            fallback.health
        ));
        if let (Health::Down, Some(why)) = (fallback.health, &fallback.reason) {
            reason.push_str(&format!(": {why}"));
        }
        return (Health::Down, Some(reason));
    }
    let mut health = primary.health;
    let mut reasons: Vec<String> = primary.reason.into_iter().collect();
    if fallback.health == Health::Down {
        health = Health::Degraded;
        let why = fallback.reason.as_deref().unwrap_or("down");
        reasons.push(format!("fallback {}: {why}", RedactedUrl(url)));
    } else if let (Some(primary_body), Some(fallback_body)) =
        (http_body(primary_outcome), http_body(fallback_outcome))
        && let Err(mismatch) = crate::parity::compare(parity, primary_body, fallback_body)
    {
        health = Health::Degraded;
        reasons.push(format!("parity: {mismatch}"));
    }
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    (health, reason)
}

fn http_body(outcome: &Outcome) -> Option<&[u8]> {
    match &outcome.result {
        Ok(Observation {
            detail: ObservationDetail::Http(http),
            ..
        }) => Some(&http.body),
        _ => None,
    }
}
