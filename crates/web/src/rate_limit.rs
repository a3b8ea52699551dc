//! Rate limits per client address (governor's keyed GCRA): requests to
//! the status page and `/api/v1` (`[server] requests_per_second`, bursts
//! of twice as many), and failed authentications (`[server]
//! auth_failures_per_minute`). Past a limit the answer is `429` in the
//! JSON error shape with `Retry-After` in whole seconds. A request that did
//! not come over a connection (in-process tests) has no address and is not
//! limited. The per-address state is pruned as the limiter is used, so a
//! crowd of addresses does not grow memory for ever.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::AppState;
use crate::error::ApiError;

/// Checks between two prunings of the per-address state.
const PRUNE_EVERY: u64 = 4096;

/// One keyed limiter, pruned every [`PRUNE_EVERY`] checks.
pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl Limiter {
    fn new(quota: Quota) -> Self {
        Limiter {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// `Err(wait)` when `address` is over the limit.
    pub fn check(&self, address: IpAddr) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&address)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Addresses that ran out of failed authentications, and until when: a
/// token they present is not even looked at until then, so a correct guess
/// made past the limit does not get in.
#[derive(Default)]
pub struct Blocked {
    until: std::sync::Mutex<std::collections::HashMap<IpAddr, std::time::Instant>>,
}

impl Blocked {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, std::time::Instant>> {
        self.until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long `address` is still blocked.
    pub fn remaining(&self, address: IpAddr) -> Option<Duration> {
        let now = std::time::Instant::now();
        let until = *self.lock().get(&address)?;
        (until > now).then(|| until - now)
    }

    fn block(&self, address: IpAddr, wait: Duration) {
        let now = std::time::Instant::now();
        let mut until = self.lock();
        if until.len() >= 1024 {
            until.retain(|_, at| *at > now);
        }
        until.insert(address, now + wait);
    }
}

/// The server's limits; `None`: that limit is off.
#[derive(Clone, Default)]
pub struct RateLimits {
    pub requests: Option<Arc<Limiter>>,
    pub auth_failures: Option<Arc<Limiter>>,
    pub blocked: Arc<Blocked>,
}

impl RateLimits {
    /// Counts a failed authentication from `address`; `Err(wait)` when it
    /// was one too many (the address is then blocked for `wait`).
    pub fn failed_authentication(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limiter) = &self.auth_failures else {
            return Ok(());
        };
        limiter
            .check(address)
            .inspect_err(|wait| self.blocked.block(address, *wait))
    }
}

impl RateLimits {
    /// `requests_per_second` (bursts of twice as many) and
    /// `auth_failures_per_minute`, 0 meaning no limit.
    pub fn new(requests_per_second: u32, auth_failures_per_minute: u32) -> Self {
        let requests = NonZeroU32::new(requests_per_second).map(|rate| {
            let burst = NonZeroU32::new(rate.get().saturating_mul(2)).unwrap_or(rate);
            Arc::new(Limiter::new(Quota::per_second(rate).allow_burst(burst)))
        });
        let auth_failures = NonZeroU32::new(auth_failures_per_minute)
            .map(|rate| Arc::new(Limiter::new(Quota::per_minute(rate))));
        RateLimits {
            requests,
            auth_failures,
            blocked: Arc::default(),
        }
    }
}

pub(crate) fn remote(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address)
}

/// The requests layer of the public and API routers.
pub(crate) async fn limit_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let (Some(limiter), Some(address)) = (&state.rate_limits.requests, remote(&request))
        && let Err(wait) = limiter.check(address.ip())
    {
        tracing::debug!(remote = %address, path = request.uri().path(), "too many requests");
        return ApiError::TooManyRequests {
            what: "requests",
            retry_after: wait,
        }
        .into_response();
    }
    next.run(request).await
}
