//! The dns probe against a tiny UDP DNS responder (hickory-proto messages)
//! on 127.0.0.1, and `localhost` through the system configuration.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;
use watchkeeper_domain::monitor::{DnsRecordType, DnsSpec, ProbeSpec};
use watchkeeper_domain::observation::{FailureKind, ObservationDetail};

use crate::support::prober;

/// The zone the responder knows; anything else is NXDOMAIN, and
/// `refused.example.test.` is answered with REFUSED.
fn answers(name: &str, record: RecordType) -> Result<Vec<RData>, ResponseCode> {
    let name_of = |raw: &str| Name::from_str(raw).unwrap();
    match (name, record) {
        ("www.example.test.", RecordType::A) => Ok(vec![
            RData::A(A(Ipv4Addr::new(192, 0, 2, 10))),
            RData::A(A(Ipv4Addr::new(192, 0, 2, 11))),
        ]),
        ("www.example.test.", RecordType::AAAA) => Ok(vec![RData::AAAA(AAAA(
            Ipv6Addr::from_str("2001:db8::10").unwrap(),
        ))]),
        ("alias.example.test.", RecordType::CNAME) => {
            Ok(vec![RData::CNAME(CNAME(name_of("www.example.test.")))])
        }
        ("example.test.", RecordType::MX) => {
            Ok(vec![RData::MX(MX::new(10, name_of("mail.example.test.")))])
        }
        ("example.test.", RecordType::TXT) => Ok(vec![RData::TXT(TXT::new(vec![
            "v=spf1 ".to_owned(),
            "-all".to_owned(),
        ]))]),
        ("www.example.test.", _) | ("example.test.", _) | ("alias.example.test.", _) => {
            Ok(Vec::new())
        }
        ("refused.example.test.", _) => Err(ResponseCode::Refused),
        _ => Err(ResponseCode::NXDomain),
    }
}

async fn spawn_responder() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 4096];
        while let Ok((length, peer)) = socket.recv_from(&mut buffer).await {
            let Ok(request) = Message::from_vec(&buffer[..length]) else {
                continue;
            };
            let mut response = Message::response(request.metadata.id, request.metadata.op_code);
            response.metadata.recursion_desired = request.metadata.recursion_desired;
            response.metadata.recursion_available = true;
            response.metadata.authoritative = true;
            for query in &request.queries {
                response.add_query(query.clone());
                let name = query.name().to_ascii().to_ascii_lowercase();
                match answers(&name, query.query_type()) {
                    Ok(records) => {
                        for data in records {
                            response.add_answer(Record::from_rdata(query.name().clone(), 60, data));
                        }
                    }
                    Err(code) => response.metadata.response_code = code,
                }
            }
            let _ = socket.send_to(&response.to_vec().unwrap(), peer).await;
        }
    });
    address
}

async fn lookup(
    server: Option<SocketAddr>,
    name: &str,
    record: DnsRecordType,
) -> Result<Vec<String>, watchkeeper_domain::observation::ProbeFailure> {
    let spec = ProbeSpec::Dns(DnsSpec {
        name: name.to_owned(),
        record,
        server,
    });
    let observation = prober().probe(&spec, Duration::from_secs(5)).await?;
    match observation.detail {
        ObservationDetail::Dns(dns) => Ok(dns.answers),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_record_type_is_answered_in_presentation_form() {
    let server = Some(spawn_responder().await);
    assert_eq!(
        lookup(server, "www.example.test", DnsRecordType::A)
            .await
            .unwrap(),
        ["192.0.2.10", "192.0.2.11"]
    );
    assert_eq!(
        lookup(server, "www.example.test", DnsRecordType::Aaaa)
            .await
            .unwrap(),
        ["2001:db8::10"]
    );
    assert_eq!(
        lookup(server, "alias.example.test", DnsRecordType::Cname)
            .await
            .unwrap(),
        ["www.example.test."]
    );
    assert_eq!(
        lookup(server, "example.test", DnsRecordType::Mx)
            .await
            .unwrap(),
        ["10 mail.example.test."]
    );
    assert_eq!(
        lookup(server, "example.test", DnsRecordType::Txt)
            .await
            .unwrap(),
        ["v=spf1 -all"]
    );
}

#[tokio::test]
async fn no_such_name_and_no_records_are_empty_answers() {
    let server = Some(spawn_responder().await);
    assert_eq!(
        lookup(server, "missing.example.test", DnsRecordType::A)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        lookup(server, "www.example.test", DnsRecordType::Mx)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_refusing_server_is_a_dns_failure() {
    let server = Some(spawn_responder().await);
    let failure = lookup(server, "refused.example.test", DnsRecordType::A)
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Dns, "{failure:?}");
    assert!(
        failure.message.starts_with("dns A refused.example.test: "),
        "{}",
        failure.message
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // A bound UDP socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let spec = ProbeSpec::Dns(DnsSpec {
        name: "www.example.test".to_owned(),
        record: DnsRecordType::A,
        server: Some(silent.local_addr().unwrap()),
    });
    let failure = prober()
        .probe(&spec, Duration::from_millis(500))
        .await
        .unwrap_err();
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
}

#[tokio::test]
async fn localhost_resolves_through_the_system_configuration_offline() {
    let answers = lookup(None, "localhost", DnsRecordType::A).await.unwrap();
    assert_eq!(answers, ["127.0.0.1"]);
}
