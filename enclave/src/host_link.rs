//! The zone's line to the host's storage: connections the host opened to the zone's store
//! socket, kept in a pool. The zone asks on an idle one and waits for the answer; a connection
//! that fails is dropped (the host dials a new one). The zone itself never connects anywhere,
//! so its sandbox needs no `connect`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fieldseal_portal::remote::{Answer, Ask, RemoteError, decode, encode, read_frame, write_frame};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

/// How long an ask waits for a free connection and then for its answer.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle connections kept; more are closed (the host keeps dialling only as many as it wants).
const MAX_IDLE: usize = 32;

/// Why an ask got no answer.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No host connection came in time, or the exchange timed out.
    #[error("the host does not answer: {0}")]
    Unavailable(String),
    /// The answer did not read.
    #[error(transparent)]
    Remote(#[from] RemoteError),
}

/// The pool of host connections.
pub struct HostLink {
    idle: Mutex<Vec<UnixStream>>,
    ready: Semaphore,
}

impl HostLink {
    /// An empty pool.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { idle: Mutex::new(Vec::new()), ready: Semaphore::new(0) })
    }

    fn put(&self, stream: UnixStream) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_IDLE {
            idle.push(stream);
            self.ready.add_permits(1);
        }
    }

    /// Takes connections from `listener` into the pool for ever.
    pub async fn accept(self: Arc<Self>, listener: UnixListener) {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => self.put(stream),
                Err(e) => {
                    eprintln!("fieldseal-enclave: store accept failed: {}", e.kind());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Asks the host once for the portal and returns its answer with the attachments.
    pub async fn ask(&self, ask: &Ask, attachments: &[Vec<u8>]) -> Result<(Answer, Vec<Vec<u8>>), LinkError> {
        self.exchange(ask, attachments).await
    }

    /// Asks the host once (a portal [`Ask`] or an office ask) and reads its answer as `A`.
    pub async fn exchange<Q: Serialize, A: DeserializeOwned>(
        &self,
        ask: &Q,
        attachments: &[Vec<u8>],
    ) -> Result<(A, Vec<Vec<u8>>), LinkError> {
        let payload = encode(ask, attachments);
        let exchange = async {
            let permit = self.ready.acquire().await.map_err(|_| LinkError::Unavailable("the pool is closed".into()))?;
            permit.forget();
            let mut stream =
                self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop().ok_or_else(|| {
                    LinkError::Unavailable("no host connection (a permit without a connection)".into())
                })?;
            write_frame(&mut stream, &payload).await?;
            let reply = read_frame(&mut stream)
                .await?
                .ok_or_else(|| LinkError::Unavailable("the host closed the connection".into()))?;
            let answer = decode::<A>(&reply)?;
            self.put(stream);
            Ok(answer)
        };
        tokio::time::timeout(ASK_TIMEOUT, exchange)
            .await
            .map_err(|_| LinkError::Unavailable(format!("no answer within {} s", ASK_TIMEOUT.as_secs())))?
    }
}
