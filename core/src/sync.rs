//! The sync client: enrols a device with a one-time code, and uploads the outbox whenever the
//! app has a network. Batches envelopes, resumes partial photo uploads, backs off
//! exponentially with jitter on passing failures, and marks a case synced only on a receipt
//! that verifies against the key pinned at enrolment.
//!
//! HTTP goes through the [`Transport`] trait: [`HttpTransport`] (plain HTTP/1.1, for loopback
//! and tests) is one implementation; an app passes its platform's TLS stack as another.

use std::time::Duration;

use crate::attestation::AttestationPolicy;
use crate::seal::SigningKey;
use crate::store::{DeviceIdentity, DeviceStore, OutboxEntry, StoreError};
use crate::wire::envelope::Id16;
use crate::wire::relay::{
    BlobStatus, EnrolRequest, Enrolment, MAX_BATCH_ENVELOPES, MAX_BLOB_CHUNK, MAX_SYNC_BODY, Outcome, Receipt,
    RejectCode, SyncResponse, encode_batch,
};

/// Header carrying the byte offset a blob chunk starts at.
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";

/// An HTTP answer: status and body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The request methods the sync protocol uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
}

/// Sends one HTTP request to the server. Implementations return every status as a response
/// and fail only when no answer arrived (no network, refused, timed out).
pub trait Transport {
    /// Sends `body` to `path` (starting with `/`) with extra `headers`.
    fn send(&self, method: Method, path: &str, headers: &[(&str, String)], body: &[u8])
    -> Result<HttpResponse, String>;
}

/// Plain HTTP/1.1 over TCP (loopback, tests, the demo). Production apps pass their platform's
/// TLS-capable client through [`Transport`] instead.
#[cfg(feature = "http")]
pub struct HttpTransport {
    agent: ureq::Agent,
    base_url: String,
}

#[cfg(feature = "http")]
impl HttpTransport {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        Self { agent, base_url: base_url.trim_end_matches('/').to_owned() }
    }
}

#[cfg(feature = "http")]
impl Transport for HttpTransport {
    fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<HttpResponse, String> {
        let url = format!("{}{path}", self.base_url);
        let result = match method {
            Method::Get => {
                let mut req = self.agent.get(&url);
                for (k, v) in headers {
                    req = req.header(*k, v);
                }
                req.call()
            }
            Method::Post | Method::Put => {
                let mut req = if method == Method::Post { self.agent.post(&url) } else { self.agent.put(&url) };
                for (k, v) in headers {
                    req = req.header(*k, v);
                }
                req.send(body)
            }
        };
        let mut resp = result.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_SYNC_BODY as u64)
            .read_to_vec()
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        Ok(HttpResponse { status, body })
    }
}

/// How hard the client tries before it gives up for now.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Envelopes per batch (at most [`MAX_BATCH_ENVELOPES`]).
    pub batch_size: usize,
    /// Bytes per blob upload request.
    pub chunk_size: usize,
    /// Attempts per request before the sync stops for now.
    pub max_attempts: u32,
    /// First back-off delay.
    pub base_delay: Duration,
    /// Longest back-off delay.
    pub max_delay: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            batch_size: 16,
            chunk_size: 1 << 20,
            max_attempts: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// What the sync reports while it works (for a progress bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// Work is known: this many cases wait for a receipt.
    Started {
        /// Cases to sync.
        pending: usize,
    },
    /// A batch of envelopes went up.
    BatchSent {
        /// Envelopes in the batch.
        envelopes: usize,
    },
    /// Bytes of a photo blob went up.
    BlobProgress {
        /// The envelope.
        envelope_id: Id16,
        /// Photo index.
        index: u16,
        /// Bytes the server holds.
        sent: u64,
        /// Blob length.
        total: u64,
    },
    /// A verified receipt marked a case synced.
    Synced {
        /// The envelope.
        envelope_id: Id16,
        /// Cases synced so far in this run.
        done: usize,
        /// Cases this run started with.
        pending: usize,
    },
    /// The server refused a case for good; it stays in the outbox for a supervisor.
    Rejected {
        /// The envelope.
        envelope_id: Id16,
        /// Why.
        code: RejectCode,
    },
    /// A passing failure; the client waits and tries again.
    Retrying {
        /// Attempt that failed (1-based).
        attempt: u32,
        /// How long it waits.
        delay: Duration,
        /// What failed (no case data).
        reason: String,
    },
}

/// What one sync run achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Cases that got a verified receipt in this run.
    pub synced: usize,
    /// Cases the server refused for good, with its reason.
    pub rejected: Vec<(Id16, RejectCode, String)>,
    /// Cases still waiting for a receipt after this run.
    pub unsynced: usize,
}

/// Why a sync or an enrolment stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (the app tries again when it has a network).
    #[error("the server cannot be reached ({0}); nothing is lost, sync again when there is a network")]
    Network(String),
    /// The server answered something this app cannot use.
    #[error("the server answered unexpectedly: {0}")]
    Protocol(String),
    /// The server refused the request.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The enclave's current attestation fails the pinned policy, or vouches for another key.
    #[error("the enclave attestation does not hold: {0}; do not sync, tell your administrator")]
    Attestation(String),
    /// The device store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Passing or permanent: what the retry loop needs to know of a failed request.
enum Attempt<T> {
    Done(T),
    Retry(String),
}

fn backoff(opts: &SyncOptions, attempt: u32) -> Duration {
    let exp = opts.base_delay.saturating_mul(1u32 << attempt.min(16)).min(opts.max_delay);
    // Full jitter between half and all of the delay spreads devices that come back together.
    let millis = u32::try_from(exp.as_millis()).unwrap_or(u32::MAX).max(2);
    Duration::from_millis(u64::from(millis / 2 + crate::hazmat::random_below(millis / 2)))
}

/// Runs `op` until it is done or `max_attempts` passing failures happened.
fn with_retries<T>(
    opts: &SyncOptions,
    progress: &mut dyn FnMut(SyncEvent),
    mut op: impl FnMut() -> Result<Attempt<T>, SyncError>,
) -> Result<T, SyncError> {
    let mut attempt = 0;
    loop {
        match op()? {
            Attempt::Done(v) => return Ok(v),
            Attempt::Retry(reason) => {
                attempt += 1;
                if attempt >= opts.max_attempts {
                    return Err(SyncError::Network(reason));
                }
                let delay = backoff(opts, attempt - 1);
                progress(SyncEvent::Retrying { attempt, delay, reason });
                std::thread::sleep(delay);
            }
        }
    }
}

/// Classifies an answer: 2xx is used, 5xx/429/408 and no answer are passing, the rest refused.
fn call(
    transport: &dyn Transport,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<Attempt<HttpResponse>, SyncError> {
    match transport.send(method, path, headers, body) {
        Err(e) => Ok(Attempt::Retry(e)),
        Ok(r) if (200..300).contains(&r.status) || r.status == 409 => Ok(Attempt::Done(r)),
        Ok(r) if r.status >= 500 || r.status == 429 || r.status == 408 => {
            Ok(Attempt::Retry(format!("server answered {}", r.status)))
        }
        Ok(r) => Err(SyncError::Refused(format!("{} ({})", server_message(&r.body), r.status))),
    }
}

/// The server's `{"error": …}` message, or the body as text.
fn server_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned(),
    }
}

/// Sends a request with retries and parses the JSON answer.
#[allow(clippy::too_many_arguments)]
fn call_json<T: for<'de> serde::Deserialize<'de>>(
    transport: &dyn Transport,
    opts: &SyncOptions,
    progress: &mut dyn FnMut(SyncEvent),
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
    what: &str,
) -> Result<T, SyncError> {
    with_retries(opts, progress, || {
        Ok(match call(transport, method, path, headers, body)? {
            Attempt::Done(r) => Attempt::Done(json::<T>(&r, what)?),
            Attempt::Retry(why) => Attempt::Retry(why),
        })
    })
}

fn json<T: for<'de> serde::Deserialize<'de>>(r: &HttpResponse, what: &str) -> Result<T, SyncError> {
    serde_json::from_slice(&r.body).map_err(|e| SyncError::Protocol(format!("{what}: {e}")))
}

/// One GET without retries (the app asks again when it wants), its JSON answer parsed.
fn get_once<T: for<'de> serde::Deserialize<'de>>(
    transport: &dyn Transport,
    path: &str,
    what: &str,
) -> Result<T, SyncError> {
    match transport.send(Method::Get, path, &[], &[]) {
        Err(e) => Err(SyncError::Network(e)),
        Ok(r) if r.status == 200 => json(&r, what),
        Ok(r) if r.status >= 500 => Err(SyncError::Network(format!("server answered {}", r.status))),
        Ok(r) => Err(SyncError::Refused(server_message(&r.body))),
    }
}

/// Enrols `store` with a one-time code: makes the device key, registers its public half
/// with the server, checks the answer against the pinned `policy`, and stores it all.
pub fn enrol(
    store: &mut DeviceStore,
    transport: &dyn Transport,
    code: &str,
    policy: &AttestationPolicy,
    now_ms: i64,
) -> Result<DeviceIdentity, SyncError> {
    if store.identity().is_some() {
        return Err(StoreError::AlreadyEnrolled.into());
    }
    let signing_key = SigningKey::make_random();
    let req = EnrolRequest { code: code.to_owned(), verifying_key: signing_key.verifying_key() };
    let body = serde_json::to_vec(&req).expect("an enrolment request serialises");
    let headers = [("content-type", "application/json".to_owned())];
    let resp = match transport.send(Method::Post, "/v1/enrol", &headers, &body) {
        Err(e) => return Err(SyncError::Network(e)),
        Ok(r) if r.status == 200 => r,
        Ok(r) => return Err(SyncError::Refused(server_message(&r.body))),
    };
    let enrolment: Enrolment = json(&resp, "enrolment answer")?;
    Ok(store.enrol(enrolment, signing_key, policy, now_ms)?)
}

/// Checks the enclave's current attestation (fetched from the server) against the pinned
/// `policy`, and that it still vouches for the key this device seals to. An app calls it
/// before it syncs: an expired, untrusted or changed enclave is reported, not used.
pub fn check_attestation(
    store: &DeviceStore,
    transport: &dyn Transport,
    policy: &AttestationPolicy,
    now_ms: i64,
) -> Result<(), SyncError> {
    let doc: crate::attestation::AttestationDocument = get_once(transport, "/v1/attestation", "attestation")?;
    let attested = doc.verify(policy, now_ms).map_err(|e| SyncError::Attestation(e.to_string()))?;
    if attested.public_key != store.enclave_key()? {
        return Err(SyncError::Attestation("it vouches for another enclave key than this device seals to".into()));
    }
    Ok(())
}

/// Fetches the server's current offence catalogue and adopts it if it is a newer issue signed
/// by the issuer pinned at enrolment. Returns whether the catalogue changed.
pub fn refresh_catalogue(store: &mut DeviceStore, transport: &dyn Transport) -> Result<bool, SyncError> {
    let signed: crate::catalogue::SignedCatalogue = get_once(transport, "/v1/catalogue", "catalogue")?;
    match store.update_catalogue(signed) {
        Err(StoreError::Catalogue(e)) => Err(SyncError::Protocol(format!("the server's catalogue was refused: {e}"))),
        other => Ok(other?),
    }
}

/// Uploads everything in the outbox that has no verified receipt yet, oldest first.
pub fn sync_outbox(
    store: &mut DeviceStore,
    transport: &dyn Transport,
    opts: &SyncOptions,
    progress: &mut dyn FnMut(SyncEvent),
) -> Result<SyncReport, SyncError> {
    let pending = store.unsynced()?;
    progress(SyncEvent::Started { pending: pending.len() });
    let mut report = SyncReport::default();
    let batch_size = opts.batch_size.clamp(1, MAX_BATCH_ENVELOPES);
    let mut rest = pending.as_slice();
    while !rest.is_empty() {
        // A batch stays under the body cap whatever the envelopes weigh.
        let mut envelopes = Vec::new();
        let mut size = 3;
        for entry in rest.iter().take(batch_size) {
            let bytes = store.envelope(&entry.envelope_id)?;
            if !envelopes.is_empty() && size + 4 + bytes.len() > MAX_SYNC_BODY {
                break;
            }
            size += 4 + bytes.len();
            envelopes.push(bytes);
        }
        let (batch, tail) = rest.split_at(envelopes.len());
        rest = tail;
        let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
        let body = encode_batch(&refs);
        let headers = [("content-type", "application/octet-stream".to_owned())];
        let answer: SyncResponse =
            call_json(transport, opts, progress, Method::Post, "/v1/sync", &headers, &body, "sync answer")?;
        progress(SyncEvent::BatchSent { envelopes: batch.len() });
        if answer.results.len() != batch.len() {
            return Err(SyncError::Protocol("the sync answer does not cover the batch".into()));
        }
        let mut retry_later = false;
        for (entry, result) in batch.iter().zip(&answer.results) {
            if result.envelope_id != Some(entry.envelope_id) {
                return Err(SyncError::Protocol("the sync answer is out of order".into()));
            }
            match result.outcome {
                Outcome::Stored | Outcome::Duplicate => {
                    let receipt = match &result.receipt {
                        Some(r) => Some(r.clone()),
                        None => upload_blobs(store, transport, opts, progress, entry, &result.missing_blobs)?,
                    };
                    let Some(receipt) = receipt else {
                        return Err(SyncError::Protocol("all photos are uploaded but no receipt came".into()));
                    };
                    store.mark_synced(&entry.envelope_id, &receipt)?;
                    report.synced += 1;
                    progress(SyncEvent::Synced {
                        envelope_id: entry.envelope_id,
                        done: report.synced,
                        pending: pending.len(),
                    });
                }
                Outcome::Rejected => {
                    let code = result.code.unwrap_or(RejectCode::Malformed);
                    let message = result.message.clone().unwrap_or_default();
                    tracing::warn!(envelope = %entry.envelope_id, ?code, "the server refused a case");
                    progress(SyncEvent::Rejected { envelope_id: entry.envelope_id, code });
                    report.rejected.push((entry.envelope_id, code, message));
                }
                Outcome::RetryLater => retry_later = true,
            }
        }
        if retry_later {
            // Later envelopes chain on this one: stop here and let the app call again.
            break;
        }
    }
    report.unsynced = store.unsynced()?.len();
    Ok(report)
}

/// Uploads the missing blobs of one envelope, resuming where the server stands; returns the
/// receipt the last one brought.
fn upload_blobs(
    store: &DeviceStore,
    transport: &dyn Transport,
    opts: &SyncOptions,
    progress: &mut dyn FnMut(SyncEvent),
    entry: &OutboxEntry,
    missing: &[u16],
) -> Result<Option<Receipt>, SyncError> {
    let mut receipt = None;
    let chunk = opts.chunk_size.clamp(1, MAX_BLOB_CHUNK);
    for &index in missing {
        if index >= entry.photo_count {
            return Err(SyncError::Protocol(format!("the server asks for photo {index}, which does not exist")));
        }
        let blob = store.blob(&entry.envelope_id, index)?;
        let path = format!("/v1/blobs/{}/{index}", entry.envelope_id);
        let mut status: BlobStatus = call_json(transport, opts, progress, Method::Get, &path, &[], &[], "blob status")?;
        while !status.complete {
            let offset = usize::try_from(status.received).unwrap_or(usize::MAX);
            if offset >= blob.len() || status.total != blob.len() as u64 {
                return Err(SyncError::Protocol("the server's upload state does not fit the photo".into()));
            }
            let end = (offset + chunk).min(blob.len());
            let headers =
                [(UPLOAD_OFFSET_HEADER, offset.to_string()), ("content-type", "application/octet-stream".to_owned())];
            // A 409 answer is a status too: the server holds another offset (an earlier chunk
            // landed after all), and the loop continues from there.
            status =
                call_json(transport, opts, progress, Method::Put, &path, &headers, &blob[offset..end], "blob status")?;
            progress(SyncEvent::BlobProgress {
                envelope_id: entry.envelope_id,
                index,
                sent: status.received,
                total: status.total,
            });
        }
        if status.receipt.is_some() {
            receipt = status.receipt;
        }
    }
    if receipt.is_none() {
        // Every blob was there already: ask for the receipt.
        let path = format!("/v1/receipts/{}", entry.envelope_id);
        receipt = with_retries(opts, progress, || {
            Ok(match call(transport, Method::Get, &path, &[], &[])? {
                Attempt::Done(r) if r.status == 200 => Attempt::Done(Some(json::<Receipt>(&r, "receipt")?)),
                Attempt::Done(_) => Attempt::Done(None),
                Attempt::Retry(why) => Attempt::Retry(why),
            })
        })?;
    }
    Ok(receipt)
}
