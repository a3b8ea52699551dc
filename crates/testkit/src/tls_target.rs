//! An https target for tests: serves `ok` over TLS with whatever chain it is
//! given (certificates made at test time with rcgen), speaking just enough
//! HTTP/1.1, on `127.0.0.1:0`.

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
