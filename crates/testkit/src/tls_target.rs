//! An https target for tests: serves `ok` over TLS with whatever chain it is
//! given (certificates made at test time with rcgen, by a [`TestCa`] or
//! self-signed), speaking just enough HTTP/1.1, on `127.0.0.1:0`.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a TLS target presents: its chain (leaf first) and the leaf's key.
pub struct Served {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Served {
    /// A self-signed certificate for `localhost`, valid from 2020 until
    /// `not_after` (year, month, day).
    pub fn self_signed_localhost(not_after: (i32, u8, u8)) -> Result<Served, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&key)?;
        Ok(Served {
            chain: vec![cert.der().clone()],
            key: private_key(&key),
        })
    }
}

/// A certificate authority made at test time: its certificate (DER for a
/// prober's extra roots, PEM for `SSL_CERT_FILE`) and the leaves it issues.
pub struct TestCa {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    certificate: rcgen::Certificate,
}

impl TestCa {
    /// A CA named `name`, valid 2020–2040.
    pub fn new(name: &str) -> Result<Self, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(Vec::new())?;
        let mut subject = rcgen::DistinguishedName::new();
        subject.push(rcgen::DnType::CommonName, name);
        params.distinguished_name = subject;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let certificate = params.self_signed(&key)?;
        Ok(TestCa {
            params,
            key,
            certificate,
        })
    }

    pub fn der(&self) -> &CertificateDer<'static> {
        self.certificate.der()
    }

    /// The certificate as a PEM file holds it.
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    /// A leaf made from `params` and signed by this CA, served with the
    /// CA's certificate after it.
    pub fn issue(&self, params: rcgen::CertificateParams) -> Result<Served, rcgen::Error> {
        let key = rcgen::KeyPair::generate()?;
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let leaf = params.signed_by(&key, &issuer)?;
        Ok(Served {
            chain: vec![leaf.der().clone(), self.der().clone()],
            key: private_key(&key),
        })
    }
}

/// Server certificate parameters for `names`, valid 2020–2035.
pub fn leaf_params(names: &[&str]) -> Result<rcgen::CertificateParams, rcgen::Error> {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let mut params = rcgen::CertificateParams::new(names)?;
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    Ok(params)
}

/// The DER private key rustls takes, of an rcgen key pair.
pub fn private_key(key: &rcgen::KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A failure to start the target.
#[derive(Debug, thiserror::Error)]
pub enum TlsTargetError {
    #[error("TLS configuration: {0}")]
    Tls(#[source] rustls::Error),
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}

/// Serves `ok` to every connection until the runtime ends; returns the
/// address it listens on.
pub async fn spawn_tls_target(served: Served) -> Result<SocketAddr, TlsTargetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsTargetError::Tls)?
        .with_no_client_auth()
        .with_single_cert(served.chain, served.key)
        .map_err(TlsTargetError::Tls)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(TlsTargetError::Bind)?;
    let address = listener.local_addr().map_err(TlsTargetError::Bind)?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n")
                    && request.len() < 65536
                {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Ok(address)
}
