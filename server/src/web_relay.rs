//! The host's byte relay for the web. Browsers connect here over TCP; each connection's bytes
//! go, unread and unchanged, to the sealed zone's web socket, where TLS ends. The host adds
//! only a one-line preamble with the client's address (`fieldseal_core::wire::web`). It holds
//! no TLS key, so it can neither read nor alter a page (as a Nitro enclave's host-side proxy
//! only forwards packets; unlike a TLS-terminating proxy on the host).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::Semaphore;

/// Connections relayed at once; more wait in the listen backlog.
pub const MAX_RELAYED: usize = 1024;
/// A relayed connection with no byte either way for this long is closed.
pub const IDLE: Duration = Duration::from_secs(120);

async fn relay_one(mut client: TcpStream, peer: SocketAddr, local: SocketAddr, zone: &std::path::Path) {
    let Ok(mut inside) = UnixStream::connect(zone).await else {
        tracing::warn!("the zone's web socket does not answer; closing a browser connection");
        return;
    };
    let preamble = fieldseal_core::wire::web::encode(peer, local);
    if inside.write_all(preamble.as_bytes()).await.is_err() {
        return;
    }
    let _ = client.set_nodelay(true);
    let (mut client_read, mut client_write) = client.split();
    let (mut zone_read, mut zone_write) = inside.split();
    let up = copy_with_idle(&mut client_read, &mut zone_write);
    let down = copy_with_idle(&mut zone_read, &mut client_write);
    // When either side ends, the other is done too (TLS has no half-close that matters here).
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Copies until end of stream, an error, or [`IDLE`] without a byte.
async fn copy_with_idle<R, W>(from: &mut R, to: &mut W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncReadExt as _;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tokio::time::timeout(IDLE, from.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => n,
        };
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Relays every connection accepted on `listener` to the zone's web socket at `zone`, until
/// the task is dropped.
pub async fn run(listener: TcpListener, zone: PathBuf) {
    let local = listener.local_addr().ok();
    let zone = Arc::new(zone);
    let slots = Arc::new(Semaphore::new(MAX_RELAYED));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        match listener.accept().await {
            Ok((client, peer)) => {
                let zone = Arc::clone(&zone);
                let local = local.unwrap_or(peer);
                tokio::spawn(async move {
                    relay_one(client, peer, local, &zone).await;
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "web relay: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
