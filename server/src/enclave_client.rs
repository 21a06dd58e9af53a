//! The server's side of the enclave protocol: a small pool of Unix socket connections, one
//! request per frame, with a timeout. Requests are pure, so a broken connection is retried
//! once on a fresh one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fieldseal_core::wire::enclave::{EnclaveError, HealthReport, PROTOCOL_VERSION, Request, Response, frame_len};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::UnixStream;
use tokio::sync::{Mutex, Semaphore};

/// Why the enclave gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum EnclaveCallError {
    /// No connection or no answer in time: a passing problem.
    #[error("the enclave does not answer ({0}); is fieldseal-enclave running?")]
    Unavailable(String),
    /// It answered with a refusal.
    #[error(transparent)]
    Refused(EnclaveError),
    /// It answered something outside the protocol.
    #[error("the enclave answered outside the protocol: {0}")]
    Protocol(String),
}

/// A client for one enclave socket.
#[derive(Debug)]
pub struct EnclaveClient {
    socket: PathBuf,
    idle: Mutex<Vec<UnixStream>>,
    permits: Semaphore,
    timeout: Duration,
}

impl EnclaveClient {
    /// A client for the enclave at `socket`, at most `connections` requests in flight.
    pub fn new(socket: &Path, connections: usize, timeout: Duration) -> Self {
        Self {
            socket: socket.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(connections),
            timeout,
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and returns the answer (an enclave refusal is an `Err`).
    pub async fn call(&self, request: &Request) -> Result<Response, EnclaveCallError> {
        let _permit = self.permits.acquire().await.map_err(|_| EnclaveCallError::Unavailable("closed".into()))?;
        let payload = request.to_payload();
        let mut last = String::new();
        for _ in 0..2 {
            let pooled = self.idle.lock().await.pop();
            let mut stream = match pooled {
                Some(s) => s,
                None => match tokio::time::timeout(self.timeout, UnixStream::connect(&self.socket)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => return Err(EnclaveCallError::Unavailable(e.kind().to_string())),
                    Err(_) => return Err(EnclaveCallError::Unavailable("connect timed out".into())),
                },
            };
            match tokio::time::timeout(self.timeout, exchange(&mut stream, &payload)).await {
                Ok(Ok(answer)) => {
                    self.idle.lock().await.push(stream);
                    let response =
                        Response::from_payload(&answer).map_err(|e| EnclaveCallError::Protocol(e.to_string()))?;
                    return match response {
                        Response::Error(e) => Err(EnclaveCallError::Refused(e)),
                        other => Ok(other),
                    };
                }
                Ok(Err(e)) => last = e.kind().to_string(),
                Err(_) => last = "no answer in time".into(),
            }
        }
        Err(EnclaveCallError::Unavailable(last))
    }

    /// Asks for health (attestation and sandbox self-check).
    pub async fn health(&self) -> Result<HealthReport, EnclaveCallError> {
        match self.call(&Request::Health).await? {
            Response::Health(h) if h.protocol == PROTOCOL_VERSION => Ok(h),
            Response::Health(h) => Err(EnclaveCallError::Protocol(format!("enclave speaks protocol {}", h.protocol))),
            _ => Err(EnclaveCallError::Protocol("a health request got another answer".into())),
        }
    }
}

async fn exchange(stream: &mut UnixStream, payload: &[u8]) -> std::io::Result<Vec<u8>> {
    let len = u32::try_from(payload.len()).map_err(|_| std::io::Error::other("request too large"))?;
    let mut frame = Vec::with_capacity(4 + payload.len());
    frame.extend(len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame).await?;
    let mut prefix = [0u8; 4];
    stream.read_exact(&mut prefix).await?;
    let len = frame_len(prefix).map_err(std::io::Error::other)?;
    let mut answer = vec![0u8; len];
    stream.read_exact(&mut answer).await?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldseal_core::seal::VerifyingKey;
    use fieldseal_core::wire::enclave::{ErrorCode, read_frame, write_frame};

    /// A stand-in enclave on a temporary socket that answers every request with `answer`
    /// and reports the requests it saw.
    async fn fake_enclave(
        answer: fn(Request) -> Response,
    ) -> (tempfile::TempDir, EnclaveClient, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("enclave.sock");
        let listener = tokio::net::UnixListener::bind(&socket).expect("binds");
        let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen_tx = seen_tx.clone();
                let mut stream = stream.into_std().expect("std stream");
                tokio::task::spawn_blocking(move || {
                    stream.set_nonblocking(false).expect("blocking");
                    while let Ok(Some(payload)) = read_frame(&mut stream) {
                        let request = Request::from_payload(&payload).expect("a valid request");
                        let _ = seen_tx.send(format!("{request:?}"));
                        write_frame(&mut stream, &answer(request).to_payload()).expect("answers");
                    }
                });
            }
        });
        let client = EnclaveClient::new(&socket, 2, Duration::from_secs(5));
        (dir, client, seen)
    }

    #[tokio::test]
    async fn refusals_and_other_answers_are_errors() {
        let (_dir, client, mut seen) = fake_enclave(|r| match r {
            Request::OpenIndex { .. } => {
                Response::Error(EnclaveError::new(ErrorCode::BadSignature, "the device signature does not verify"))
            }
            Request::Health => Response::Error(EnclaveError::new(ErrorCode::Internal, "not now")),
        })
        .await;
        let refused =
            client.call(&Request::OpenIndex { device_key: VerifyingKey([1; 32]), envelope: vec![2; 8] }).await;
        assert!(
            matches!(refused, Err(EnclaveCallError::Refused(ref e)) if e.code == ErrorCode::BadSignature),
            "{refused:?}"
        );
        assert_eq!(seen.recv().await.as_deref(), Some("OpenIndex(8 bytes)"));
        let wrong = client.health().await;
        assert!(wrong.is_err(), "{wrong:?}");
    }
}
