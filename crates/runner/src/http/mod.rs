//! The http probe: one request and its redirects (`redirect`), the whole
//! exchange (body included) under the probe's timeout, the body read in
//! chunks and cut off at the body limit, and the peer certificate's expiry
//! when the URL is https.

mod certificate;
mod client;
mod failure;
mod redirect;
pub(crate) mod resolver;
pub(crate) mod tls;
mod tls_reason;

use std::time::Duration;

use tokio::time::Instant;
use url::Url;
use watchkeeper_domain::clock::Clock;
use watchkeeper_domain::monitor::{HttpSpec, RedactedUrl};
use watchkeeper_domain::observation::{
    FailureKind, HttpObservation, Observation, ObservationDetail, ProbeFailure,
};

pub use client::ClientError;
pub(crate) use client::{HttpClients, check_url};
pub(crate) use failure::describe as describe_failure;

use crate::units;

/// The largest buffer reserved up front from a `Content-Length`, so a lying
/// header cannot make us allocate the whole limit for nothing.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

impl HttpClients {
    /// Probes `url` (the spec's primary URL or its fallback) with the spec's
    /// method, headers, body, redirects and TLS settings.
    pub(crate) async fn probe(
        &self,
        spec: &HttpSpec,
        url: &Url,
        timeout: Duration,
        clock: &dyn Clock,
    ) -> Result<Observation, ProbeFailure> {
        let start = Instant::now();
        let target = format!("{} {}", spec.method, RedactedUrl(url));
        client::check_url(self.policy(), url).map_err(|refused| {
            ProbeFailure::new(FailureKind::Refused, format!("{target}: {refused}"))
        })?;
        let client = self.client(spec.verify_tls).map_err(|error| {
            ProbeFailure::new(
                FailureKind::Io,
                format!("{target}: cannot build the HTTP client: {error}"),
            )
        })?;
        let exchange = async {
            let response = redirect::Exchange {
                client: &client,
                policy: self.policy(),
                spec,
                url,
                target: &target,
            }
            .send()
            .await?;
            read_response(response, spec.body_limit, &target, clock).await
        };
        let detail = match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result?,
            Err(_elapsed) => {
                return Err(ProbeFailure::new(
                    FailureKind::Timeout,
                    format!("{target}: timed out after {}", units::duration(timeout)),
                ));
            }
        };
        Ok(Observation {
            latency: start.elapsed(),
            detail: ObservationDetail::Http(detail),
        })
    }
}

async fn read_response(
    mut response: reqwest::Response,
    body_limit: usize,
    target: &str,
    clock: &dyn Clock,
) -> Result<HttpObservation, ProbeFailure> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let final_url = response.url().to_string();
    let cert_expires_in = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(reqwest::tls::TlsInfo::peer_certificate)
        .and_then(|der| certificate::expires_in(der, clock.now()));

    let too_large = || {
        ProbeFailure::new(
            FailureKind::BodyTooLarge,
            format!(
                "{target}: response body exceeds the {} limit (body_limit)",
                units::size(body_limit)
            ),
        )
    };
    let announced = response.content_length();
    if let Some(length) = announced
        && length > body_limit as u64
    {
        return Err(too_large());
    }
    let capacity = announced
        .and_then(|length| usize::try_from(length).ok())
        .unwrap_or(0)
        .min(INITIAL_BODY_CAPACITY);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| failure::describe(target, error))?
    {
        if body.len() + chunk.len() > body_limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpObservation {
        status,
        headers,
        body,
        cert_expires_in,
        final_url,
    })
}
