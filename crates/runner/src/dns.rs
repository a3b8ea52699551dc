//! The dns probe: one lookup with hickory-resolver, answers in presentation
//! form. "No such name" and "no records" are answers (an empty list, which
//! the default `size(answers) > 0` condition turns into down); a resolver
//! that cannot be reached is a probe failure.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use tokio::time::Instant;
use watchkeeper_domain::monitor::{DnsRecordType, DnsSpec};
use watchkeeper_domain::observation::{
    DnsObservation, FailureKind, Observation, ObservationDetail, ProbeFailure,
};
use watchkeeper_domain::target_policy::TargetPolicy;

use crate::{net, units};

/// Resolvers by server (`None`: the system configuration), built on first
/// use and kept; the lock is never held across an `.await`.
#[derive(Default)]
pub(crate) struct DnsResolvers {
    resolvers: Mutex<HashMap<Option<SocketAddr>, TokioResolver>>,
}

impl DnsResolvers {
    pub(crate) async fn probe(
        &self,
        spec: &DnsSpec,
        timeout: Duration,
        policy: &TargetPolicy,
    ) -> Result<Observation, ProbeFailure> {
        let start = Instant::now();
        let target = format!("dns {} {}", spec.record.as_str(), spec.name);
        if let Some(server) = spec.server {
            net::check_address(policy, server.ip()).map_err(|refused| {
                ProbeFailure::new(FailureKind::Refused, format!("{target}: server {refused}"))
            })?;
        }
        let resolver = self.resolver(spec.server).map_err(|error| {
            ProbeFailure::new(
                FailureKind::Dns,
                format!("{target}: cannot set up the resolver: {error}"),
            )
        })?;
        let record_type = record_type(spec.record);
        let lookup =
            tokio::time::timeout(timeout, resolver.lookup(spec.name.as_str(), record_type))
                .await
                .map_err(|_| {
                    ProbeFailure::new(
                        FailureKind::Timeout,
                        format!("{target}: timed out after {}", units::duration(timeout)),
                    )
                })?;
        let answers = match lookup {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .filter_map(|record| presentation(&record.data, spec.record))
                .collect(),
            Err(error) if error.is_nx_domain() || error.is_no_records_found() => Vec::new(),
            Err(error) => {
                return Err(ProbeFailure::new(
                    FailureKind::Dns,
                    format!("{target}: {error}"),
                ));
            }
        };
        Ok(Observation {
            latency: start.elapsed(),
            detail: ObservationDetail::Dns(DnsObservation { answers }),
        })
    }

    fn resolver(
        &self,
        server: Option<SocketAddr>,
    ) -> Result<TokioResolver, hickory_resolver::net::NetError> {
        // A poisoned map still holds valid resolvers.
        let mut resolvers = self
            .resolvers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(resolver) = resolvers.get(&server) {
            return Ok(resolver.clone());
        }
        let resolver = build(server)?;
        resolvers.insert(server, resolver.clone());
        Ok(resolver)
    }
}

fn build(server: Option<SocketAddr>) -> Result<TokioResolver, hickory_resolver::net::NetError> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = match server {
        Some(server) => {
            let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                .into_iter()
                .map(|mut connection| {
                    connection.port = server.port();
                    connection
                })
                .collect();
            let name_server = NameServerConfig::new(server.ip(), true, connections);
            let config = ResolverConfig::from_name_servers(vec![name_server]);
            TokioResolver::builder_with_config(config, provider)
        }
        // The system configuration; without one (no /etc/resolv.conf, as in
        // a bare container) the hosts file still answers, so `localhost`
        // resolves offline.
        None => TokioResolver::builder(provider.clone()).unwrap_or_else(|error| {
            tracing::warn!(error = %error, "no system DNS configuration; only the hosts file will answer");
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(Vec::new()), provider)
        }),
    };
    let options = builder.options_mut();
    // A monitor wants the answer as it is now, not as it was cached.
    options.cache_size = 0;
    options.use_hosts_file = if server.is_some() {
        ResolveHosts::Never
    } else {
        ResolveHosts::Always
    };
    builder.build()
}

fn record_type(record: DnsRecordType) -> RecordType {
    match record {
        DnsRecordType::A => RecordType::A,
        DnsRecordType::Aaaa => RecordType::AAAA,
        DnsRecordType::Cname => RecordType::CNAME,
        DnsRecordType::Mx => RecordType::MX,
        DnsRecordType::Txt => RecordType::TXT,
    }
}

/// One answer in presentation form, or `None` for records of another type
/// (the CNAMEs on the way to an A record, say).
fn presentation(data: &RData, wanted: DnsRecordType) -> Option<String> {
    match (data, wanted) {
        (RData::A(a), DnsRecordType::A) => Some(a.0.to_string()),
        (RData::AAAA(aaaa), DnsRecordType::Aaaa) => Some(aaaa.0.to_string()),
        (RData::CNAME(cname), DnsRecordType::Cname) => Some(cname.0.to_string()),
        (RData::MX(mx), DnsRecordType::Mx) => Some(format!("{} {}", mx.preference, mx.exchange)),
        (RData::TXT(txt), DnsRecordType::Txt) => Some(
            txt.txt_data
                .iter()
                .map(|part| String::from_utf8_lossy(part))
                .collect::<String>(),
        ),
        _ => None,
    }
}
