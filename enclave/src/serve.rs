//! The enclave's socket loop: a fixed set of worker threads, made before the sandbox closes,
//! each answering one connection at a time, frame by frame.

use std::io::ErrorKind;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fieldseal_core::wire::enclave::{
    EnclaveError, ErrorCode, FrameError, ProtocolError, Response, read_frame, write_frame,
};

use crate::handler::Enclave;
use crate::platform::Platform;

/// How long a connection may sit idle before its worker moves on to the next one.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Now, Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Answers frames on one connection until the peer closes it, goes idle, or breaks the framing.
pub fn serve_connection<P: Platform>(enclave: &Enclave<P>, mut stream: UnixStream) {
    // If the timeout cannot be set the connection still works; it only holds its worker longer.
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    loop {
        let payload = match read_frame(&mut stream) {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(FrameError::Protocol(e)) => {
                // The stream cannot be resynchronised after a bad length: answer, then close.
                let code =
                    if matches!(e, ProtocolError::TooLarge(_)) { ErrorCode::TooLarge } else { ErrorCode::Malformed };
                let reply = Response::Error(EnclaveError::new(code, e.to_string())).to_payload();
                let _ = write_frame(&mut stream, &reply);
                return;
            }
            Err(FrameError::Io(e)) => {
                if !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::UnexpectedEof) {
                    eprintln!("fieldseal-enclave: connection dropped: {}", e.kind());
                }
                return;
            }
        };
        let reply = enclave.handle(&payload, now_ms());
        if write_frame(&mut stream, &reply).is_err() {
            return;
        }
    }
}

/// Starts `workers` threads and returns once each is running; they then wait at `start`
/// before they serve connections from `listener`. The threads exist (and have finished their
/// own start-up system calls) before the sandbox is installed: the socket's workers are a
/// fixed set, made while everything is still allowed.
pub fn spawn_workers<P: Platform + 'static>(
    enclave: Arc<Enclave<P>>,
    listener: &UnixListener,
    workers: usize,
    start: Arc<Barrier>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let running = Arc::new(Barrier::new(workers + 1));
    let handles = (0..workers)
        .map(|i| {
            let listener = listener.try_clone()?;
            let enclave = Arc::clone(&enclave);
            let start = Arc::clone(&start);
            let running = Arc::clone(&running);
            std::thread::Builder::new().name(format!("enclave-worker-{i}")).spawn(move || {
                running.wait();
                start.wait();
                loop {
                    match listener.accept() {
                        Ok((stream, _)) => serve_connection(&enclave, stream),
                        Err(e) => {
                            eprintln!("fieldseal-enclave: accept failed: {}", e.kind());
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            })
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    running.wait();
    Ok(handles)
}
