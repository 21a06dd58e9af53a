//! The zone's web door. The host relays each browser connection's bytes, still encrypted, over
//! the zone's web socket; the zone reads the relay's one-line preamble (the client's address),
//! ends TLS here with the key that never leaves it, and serves HTTP/1.1 from its own router.
//! Runs on a small tokio runtime whose threads exist before the sandbox closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use fieldseal_core::wire::web::{MAX_PREAMBLE, parse};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncReadExt as _;
use tokio::net::UnixStream;
use tokio_rustls::TlsAcceptor;

/// Time a relayed connection has to send its preamble and finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time a browser has to send a request's headers on an open connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait in the socket's backlog.
pub const MAX_CONNECTIONS: usize = 512;

/// The client address a page sees when the relay said `UNKNOWN`.
const UNKNOWN_CLIENT: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// Reads the preamble one byte at a time (it is short, and nothing after it may be consumed:
/// the TLS handshake follows).
async fn read_preamble(stream: &mut UnixStream) -> std::io::Result<SocketAddr> {
    let mut line = Vec::with_capacity(MAX_PREAMBLE);
    while !line.ends_with(b"\r\n") {
        if line.len() >= MAX_PREAMBLE {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "relay preamble too long"));
        }
        line.push(stream.read_u8().await?);
    }
    let client = parse(&line).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok(client.unwrap_or(UNKNOWN_CLIENT))
}

/// Serves one relayed connection: preamble, TLS handshake, then HTTP/1.1 until it closes.
async fn serve_connection(mut stream: UnixStream, acceptor: TlsAcceptor, app: Router) {
    let handshake = async {
        let client = read_preamble(&mut stream).await?;
        let tls = acceptor.accept(stream).await?;
        Ok::<_, std::io::Error>((client, tls))
    };
    let (client, tls) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(v)) => v,
        // A scanner, a closed tab or a browser refusing the certificate: nothing to report.
        Ok(Err(_)) | Err(_) => return,
    };
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(client));
        let mut app = app.clone();
        async move { tower::Service::call(&mut app, request.map(axum::body::Body::new)).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// Accepts relayed connections on `listener` for ever, each served on its own task.
pub async fn serve(listener: tokio::net::UnixListener, tls: Arc<rustls::ServerConfig>, app: Router) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        match listener.accept().await {
            Ok((stream, _)) => {
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    serve_connection(stream, acceptor, app).await;
                    drop(slot);
                });
            }
            Err(e) => {
                eprintln!("fieldseal-enclave: web accept failed: {}", e.kind());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
