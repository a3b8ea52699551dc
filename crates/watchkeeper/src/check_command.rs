//! `watchkeeper check`: probe monitors once, now, and report — a table for
//! people, `--json` for scripts and runbooks. Uses the same `Prober::check`
//! as the scheduler, so what `check` says is what `serve` would record.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Serialize, Serializer};
use watchkeeper_domain::check::CheckResult;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::health::Health;
use watchkeeper_domain::monitor::MonitorSpec;
use watchkeeper_runner::Prober;
use watchkeeper_web::api::wire::WireHealth;

/// Probes run at once by `check`.
const CHECK_CONCURRENCY: usize = 64;

#[derive(Debug, Serialize)]
pub struct CheckLine {
    pub monitor: String,
    pub target: String,
    #[serde(serialize_with = "wire_health")]
    pub health: Health,
    /// Passed `expect` (up or degraded).
    pub ok: bool,
    pub latency_ms: f64,
    /// Time spent judging the answer with the conditions.
    pub evaluation_ms: f64,
    pub reason: Option<String>,
    pub fallback: Option<FallbackLine>,
}

#[derive(Debug, Serialize)]
pub struct FallbackLine {
    #[serde(serialize_with = "wire_health")]
    pub health: Health,
    pub latency_ms: f64,
    pub reason: Option<String>,
}

/// `--json` writes health as the API does.
fn wire_health<S: Serializer>(health: &Health, serializer: S) -> Result<S::Ok, S::Error> {
    WireHealth::from(*health).serialize(serializer)
}

/// Runs every monitor's check once, concurrently, returning lines in the
/// order of `monitors`.
pub async fn run(
    prober: Arc<Prober>,
    clock: Arc<dyn Clock>,
    monitors: Vec<Arc<MonitorSpec>>,
) -> Vec<CheckLine> {
    futures_util::stream::iter(monitors)
        .map(|monitor| {
            let prober = prober.clone();
            let now = clock.now();
            async move {
                let result = prober.check(&monitor, now).await;
                CheckLine::new(&monitor, &result)
            }
        })
        .buffered(CHECK_CONCURRENCY)
        .collect()
        .await
}

fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

impl CheckLine {
    fn new(monitor: &MonitorSpec, result: &CheckResult) -> Self {
        Self {
            monitor: monitor.id.to_string(),
            target: monitor.probe.target(),
            health: result.health,
            ok: result.health != Health::Down,
            latency_ms: millis(result.latency),
            evaluation_ms: millis(result.evaluation),
            reason: result.reason.clone(),
            fallback: result.fallback.as_ref().map(|f| FallbackLine {
                health: f.health,
                latency_ms: millis(f.latency),
                reason: f.reason.clone(),
            }),
        }
    }
}

/// The table `check` prints: monitor, result, latency, and why not up.
pub fn render_table(lines: &[CheckLine]) -> String {
    let monitor_width = lines
        .iter()
        .map(|l| l.monitor.len())
        .chain(std::iter::once("MONITOR".len()))
        .max()
        .unwrap_or(7);
    let mut out = format!(
        "{:<monitor_width$}  {:<8}  {:>10}  DETAIL\n",
        "MONITOR", "RESULT", "LATENCY"
    );
    for line in lines {
        let result = match line.health {
            Health::Up => "ok",
            Health::Degraded => "degraded",
            Health::Down => "FAIL",
        };
        let mut detail = line.reason.clone().unwrap_or_default();
        if let Some(fallback) = &line.fallback {
            let fallback_text = match &fallback.reason {
                Some(reason) => format!("fallback {}: {reason}", fallback.health),
                None => format!(
                    "fallback {} ({:.1} ms)",
                    fallback.health, fallback.latency_ms
                ),
            };
            if detail.is_empty() {
                detail = fallback_text;
            } else if !detail.contains("fallback") {
                detail = format!("{detail}; {fallback_text}");
            }
        }
        out.push_str(&format!(
            "{:<monitor_width$}  {:<8}  {:>7.1} ms  {}\n",
            line.monitor, result, line.latency_ms, detail
        ));
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    let degraded = lines
        .iter()
        .filter(|l| l.health == Health::Degraded)
        .count();
    out.push_str(&format!(
        "\n{} checked: {} ok, {} degraded, {} failed\n",
        lines.len(),
        lines.len() - failed - degraded,
        degraded,
        failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(monitor: &str, health: Health, reason: Option<&str>) -> CheckLine {
        CheckLine {
            monitor: monitor.to_owned(),
            target: "GET http://127.0.0.1/health".to_owned(),
            health,
            ok: health != Health::Down,
            latency_ms: 12.3,
            evaluation_ms: 0.0,
            reason: reason.map(str::to_owned),
            fallback: None,
        }
    }

    fn fallback(health: Health, reason: Option<&str>) -> Option<FallbackLine> {
        Some(FallbackLine {
            health,
            latency_ms: 45.6,
            reason: reason.map(str::to_owned),
        })
    }

    #[test]
    fn the_table_shows_degraded_results_and_the_fallback_beside_each() {
        let mut with_fallback_up = line("api", Health::Up, None);
        with_fallback_up.fallback = fallback(Health::Up, None);
        let mut fallback_down = line(
            "payments",
            Health::Degraded,
            Some("fallback http://127.0.0.1:9/: connect: connection refused"),
        );
        fallback_down.fallback = fallback(Health::Down, Some("connect: connection refused"));
        let mut both_reasons = line(
            "search",
            Health::Degraded,
            Some("latency > duration(\"2s\") matched"),
        );
        both_reasons.fallback = fallback(Health::Degraded, Some("parity: bodies differ"));
        let lines = [
            with_fallback_up,
            fallback_down,
            both_reasons,
            line(
                "db",
                Health::Down,
                Some("tcp 127.0.0.1:5432: connect: connection refused"),
            ),
        ];
        assert_eq!(
            render_table(&lines),
            "MONITOR   RESULT       LATENCY  DETAIL\n\
             api       ok           12.3 ms  fallback up (45.6 ms)\n\
             payments  degraded     12.3 ms  fallback http://127.0.0.1:9/: connect: connection refused\n\
             search    degraded     12.3 ms  latency > duration(\"2s\") matched; fallback degraded: parity: bodies differ\n\
             db        FAIL         12.3 ms  tcp 127.0.0.1:5432: connect: connection refused\n\
             \n\
             4 checked: 1 ok, 2 degraded, 1 failed\n"
        );
    }
}
