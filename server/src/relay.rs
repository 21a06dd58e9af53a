//! What the relay does with uploads: check every envelope before anything is stored (device
//! known, signature valid, chain intact, opens in the enclave), store ciphertext and index,
//! take photo blobs in resumable chunks checked against the signed header, and sign receipts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fieldseal_core::catalogue::SignedCatalogue;
use fieldseal_core::notice::PayeeConfig;
use fieldseal_core::seal::{self, OpenError, SigningKey, VerifyingKey};
use fieldseal_core::wire::enclave::{ErrorCode, Request, Response};
use fieldseal_core::wire::envelope::{self, EnvelopeHeader, Id16};
use fieldseal_core::wire::relay::{
    BlobStatus, EnvelopeResult, Outcome, Receipt, ReceiptFields, RejectCode, SyncResponse, decode_batch,
};

use crate::blobs::BlobStore;
use crate::db::{Db, DbError, EnvelopeRow, InsertOutcome};
use crate::enclave_client::{EnclaveCallError, EnclaveClient};

/// Settings every enrolment hands out.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The signed offence catalogue.
    pub catalogue: SignedCatalogue,
    /// Its issuer's key.
    pub issuer_key: VerifyingKey,
    /// Payee and portal settings.
    pub payee: PayeeConfig,
}

/// Serialises the chunks of one blob upload.
type BlobLock = Arc<tokio::sync::Mutex<()>>;

/// The relay: database, blob store, enclave and the receipt key.
pub struct Relay {
    /// The database.
    pub db: Db,
    /// The blob store.
    pub blobs: Arc<dyn BlobStore>,
    /// The enclave.
    pub enclave: EnclaveClient,
    /// What enrolment hands out.
    pub issued: Issued,
    receipt_key: SigningKey,
    blob_locks: std::sync::Mutex<HashMap<(Id16, u16), BlobLock>>,
    skip_enclave: std::sync::atomic::AtomicBool,
}

/// A blob request the relay refuses, with the HTTP status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No such envelope or photo.
    #[error("{0}")]
    NotFound(String),
    /// The chunk does not fit the photo.
    #[error("{0}")]
    BadChunk(String),
    /// The offset is not where the server stands; the status says where.
    #[error("the upload continues at byte {}", .0.received)]
    Offset(BlobStatus),
    /// The finished upload does not match the signed header; it was discarded.
    #[error("the photo blob does not match the signed envelope header; upload it again from the start")]
    Mismatch,
    /// Storage failed.
    #[error("blob storage failed: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn result(index: u16, envelope_id: Option<Id16>, outcome: Outcome) -> EnvelopeResult {
    EnvelopeResult {
        index,
        envelope_id,
        outcome,
        code: None,
        message: None,
        missing_blobs: Vec::new(),
        gap_before: false,
        receipt: None,
    }
}

fn reject(index: u16, envelope_id: Option<Id16>, code: RejectCode, message: impl Into<String>) -> EnvelopeResult {
    EnvelopeResult { code: Some(code), message: Some(message.into()), ..result(index, envelope_id, Outcome::Rejected) }
}

/// Why the enclave's public key is not to be had.
#[derive(Debug, thiserror::Error)]
pub enum EnclaveKeyError {
    /// The enclave did not answer.
    #[error(transparent)]
    Call(#[from] EnclaveCallError),
    /// Its attestation does not hold.
    #[error("the enclave's own attestation does not verify: {0}")]
    Attestation(String),
}

impl Relay {
    /// The sealed photo blobs of an envelope, index order (read off the async threads).
    pub async fn sealed_photos(&self, envelope_id: Id16, count: u16) -> Result<Vec<Vec<u8>>, String> {
        let blobs = Arc::clone(&self.blobs);
        tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|i| blobs.get(&envelope_id, i)?.ok_or_else(|| std::io::Error::other("photo blob missing")))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("reading photo blobs: {e}"))
    }

    /// The enclave's public key from its current attestation, to seal to. The server trusts its
    /// own enclave socket (devices are the ones that pin); it checks that the document is
    /// well-formed, signed by the platform key the enclave reports, and current.
    pub async fn enclave_public_key(&self) -> Result<seal::EnclavePublicKey, EnclaveKeyError> {
        use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot};
        let health = self.enclave.health().await?;
        let measurement = serde_json::from_str::<serde_json::Value>(&health.attestation.body)
            .ok()
            .and_then(|b| b["measurement"].as_str().and_then(|m| hex::decode(m).ok()))
            .and_then(|m| <[u8; 32]>::try_from(m).ok())
            .ok_or_else(|| EnclaveKeyError::Attestation("it names no measurement".into()))?;
        let policy = AttestationPolicy {
            roots: vec![PinnedRoot { platform: health.platform.clone(), key: health.platform_key }],
            measurements: vec![measurement],
            accept_simulated: true,
        };
        let attested =
            health.attestation.verify(&policy, now_ms()).map_err(|e| EnclaveKeyError::Attestation(e.to_string()))?;
        Ok(attested.public_key)
    }

    /// A relay over its parts.
    pub fn new(
        db: Db,
        blobs: Arc<dyn BlobStore>,
        enclave: EnclaveClient,
        issued: Issued,
        receipt_key: SigningKey,
    ) -> Self {
        Self {
            db,
            blobs,
            enclave,
            issued,
            receipt_key,
            blob_locks: std::sync::Mutex::new(HashMap::new()),
            skip_enclave: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Benchmarks only: store envelopes without asking the enclave to open them, to measure
    /// the cost of confidentiality against this baseline. `fieldseal serve` never sets it.
    pub fn skip_enclave_for_baseline(&self, skip: bool) {
        self.skip_enclave.store(skip, std::sync::atomic::Ordering::Relaxed);
    }

    /// The key receipts are signed with (devices pin it at enrolment).
    pub fn receipt_key(&self) -> VerifyingKey {
        self.receipt_key.verifying_key()
    }

    /// Handles one sync batch. A malformed batch is an `Err` (nothing is looked at); otherwise
    /// one result per envelope. After a passing failure the rest of the batch is answered
    /// "retry later" without being looked at, so the device's chain stays in order.
    pub async fn sync(&self, body: &[u8]) -> Result<SyncResponse, fieldseal_core::wire::relay::BatchError> {
        let envelopes = decode_batch(body)?;
        let mut results = Vec::with_capacity(envelopes.len());
        let mut stop = false;
        for (i, bytes) in envelopes.iter().enumerate() {
            let index = u16::try_from(i).expect("batches are capped");
            if stop {
                results.push(result(
                    index,
                    envelope::parse(bytes).ok().map(|v| v.header.envelope_id),
                    Outcome::RetryLater,
                ));
                continue;
            }
            let r = match self.accept(index, bytes).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "database failure during sync");
                    let mut r =
                        result(index, envelope::parse(bytes).ok().map(|v| v.header.envelope_id), Outcome::RetryLater);
                    r.message = Some("the server could not store it now; send it again".into());
                    r
                }
            };
            stop = r.outcome == Outcome::RetryLater;
            tracing::info!(
                envelope = %r.envelope_id.map(|id| id.to_hex()).unwrap_or_else(|| "-".into()),
                outcome = ?r.outcome,
                code = ?r.code,
                "sync envelope"
            );
            results.push(r);
        }
        Ok(SyncResponse { results })
    }

    async fn accept(&self, index: u16, bytes: &[u8]) -> Result<EnvelopeResult, DbError> {
        let header = match envelope::parse(bytes) {
            Ok(v) => v.header,
            Err(e) => return Ok(reject(index, None, RejectCode::Malformed, e.to_string())),
        };
        let id = header.envelope_id;
        let Some(device_key) = self.db.device_key(&header.device_id).await? else {
            return Ok(reject(index, Some(id), RejectCode::UnknownDevice, "this device is not enrolled here"));
        };
        if let Err(e) = seal::verify(bytes, &device_key) {
            let code =
                if matches!(e, OpenError::BadSignature) { RejectCode::BadSignature } else { RejectCode::Malformed };
            return Ok(reject(index, Some(id), code, e.to_string()));
        }
        let hash = seal::envelope_hash(bytes);
        if let Some(existing) = self.db.envelope(&id).await? {
            if existing.envelope_hash != hash {
                return Ok(reject(index, Some(id), RejectCode::Conflict, "another envelope with this id is stored"));
            }
            return self.with_status(result(index, Some(id), Outcome::Duplicate), &existing).await;
        }
        if let Some(refused) = self.check_chain(index, &header, &hash).await? {
            return Ok(refused);
        }
        let case_index = if self.skip_enclave.load(std::sync::atomic::Ordering::Relaxed) {
            baseline_index(&header)
        } else {
            match self.enclave.call(&Request::OpenIndex { device_key, envelope: bytes.to_vec() }).await {
                Ok(Response::Index(i)) if i.envelope_id == id => i,
                Ok(_) => {
                    return Ok(reject(index, Some(id), RejectCode::Unreadable, "the enclave answered off protocol"));
                }
                Err(EnclaveCallError::Refused(e)) => {
                    let code = match e.code {
                        ErrorCode::BadSignature => RejectCode::BadSignature,
                        ErrorCode::Malformed | ErrorCode::TooLarge => RejectCode::Malformed,
                        ErrorCode::Internal => {
                            let mut r = result(index, Some(id), Outcome::RetryLater);
                            r.message = Some("the enclave failed; send it again".into());
                            return Ok(r);
                        }
                        _ => RejectCode::Unreadable,
                    };
                    return Ok(reject(index, Some(id), code, e.message));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "enclave unavailable during sync");
                    let mut r = result(index, Some(id), Outcome::RetryLater);
                    r.message = Some("the enclave is not available; send it again later".into());
                    return Ok(r);
                }
            }
        };
        // A device numbers only its own tickets (found in review: a device that took another
        // device's prefix and next number blocked that device's sync for good).
        if !self.skip_enclave.load(std::sync::atomic::Ordering::Relaxed)
            && self.db.device_prefix(&header.device_id).await? != Some(case_index.ticket_number.device_prefix())
        {
            return Ok(reject(
                index,
                Some(id),
                RejectCode::Unreadable,
                "the ticket number carries another device's prefix; a device numbers only its own tickets",
            ));
        }
        let photo_count = u16::try_from(header.photos.len()).expect("at most MAX_PHOTOS");
        let now = now_ms();
        match self
            .db
            .insert_envelope(
                &header.device_id,
                header.sequence,
                &header.prev_hash,
                &hash,
                bytes,
                photo_count,
                &case_index,
                now,
            )
            .await?
        {
            InsertOutcome::Stored { .. } | InsertOutcome::Raced => {}
            InsertOutcome::DuplicateTicket => {
                return Ok(reject(
                    index,
                    Some(id),
                    RejectCode::DuplicateTicket,
                    "the ticket number is taken by another case",
                ));
            }
            InsertOutcome::SequenceTaken => {
                self.db.record_chain_event(&header.device_id, header.sequence, "fork", &id, &hash, now).await?;
                return Ok(reject(
                    index,
                    Some(id),
                    RejectCode::Fork,
                    "another envelope holds this place in the device chain",
                ));
            }
        }
        let stored = self.db.envelope(&id).await?.ok_or(DbError::Corrupt("envelope vanished after storing"))?;
        self.with_status(result(index, Some(id), Outcome::Stored), &stored).await
    }

    /// Refuses (and records) a gap or a fork; `None` when the envelope continues the chain.
    async fn check_chain(
        &self,
        index: u16,
        header: &EnvelopeHeader,
        hash: &[u8; 32],
    ) -> Result<Option<EnvelopeResult>, DbError> {
        let id = header.envelope_id;
        let now = now_ms();
        if let Some((other, _)) = self.db.chain_link(&header.device_id, header.sequence).await?
            && other != id
        {
            self.db.record_chain_event(&header.device_id, header.sequence, "fork", &id, hash, now).await?;
            return Ok(Some(reject(
                index,
                Some(id),
                RejectCode::Fork,
                "another envelope holds this place in the device chain",
            )));
        }
        let expected_prev = if header.sequence <= 1 {
            Some([0u8; 32])
        } else {
            self.db.chain_link(&header.device_id, header.sequence - 1).await?.map(|(_, h)| h)
        };
        match expected_prev {
            None => {
                self.db.record_chain_event(&header.device_id, header.sequence, "gap", &id, hash, now).await?;
                let mut r = reject(
                    index,
                    Some(id),
                    RejectCode::Gap,
                    format!("envelope {} of this device is missing: upload it first", header.sequence - 1),
                );
                r.gap_before = true;
                Ok(Some(r))
            }
            Some(prev) if prev != header.prev_hash => {
                self.db.record_chain_event(&header.device_id, header.sequence, "fork", &id, hash, now).await?;
                Ok(Some(reject(
                    index,
                    Some(id),
                    RejectCode::Fork,
                    "the envelope does not chain onto the stored one before it",
                )))
            }
            Some(_) => Ok(None),
        }
    }

    /// Fills in missing blobs and, when nothing is missing, the receipt.
    async fn with_status(&self, mut r: EnvelopeResult, row: &EnvelopeRow) -> Result<EnvelopeResult, DbError> {
        let (missing, receipt) = self.completion(row).await?;
        r.missing_blobs = missing;
        r.receipt = receipt;
        Ok(r)
    }

    async fn completion(&self, row: &EnvelopeRow) -> Result<(Vec<u16>, Option<Receipt>), DbError> {
        let stored = self.db.blobs(&row.envelope_id).await?;
        let missing: Vec<u16> = (0..row.photo_count).filter(|i| !stored.iter().any(|(j, _)| j == i)).collect();
        if !missing.is_empty() {
            return Ok((missing, None));
        }
        let receipt = ReceiptFields {
            envelope_id: row.envelope_id,
            device_id: row.device_id,
            sequence: row.sequence,
            ticket_number: row.ticket_number.clone(),
            envelope_sha256: row.envelope_hash,
            blob_sha256: stored.into_iter().map(|(_, d)| d).collect(),
            stored_at_ms: row.stored_at_ms,
        }
        .sign(&self.receipt_key);
        Ok((missing, Some(receipt)))
    }

    /// The receipt of an envelope, once it and all its blobs are stored.
    pub async fn receipt(&self, envelope_id: &Id16) -> Result<Option<Receipt>, DbError> {
        let Some(row) = self.db.envelope(envelope_id).await? else { return Ok(None) };
        Ok(self.completion(&row).await?.1)
    }

    async fn stored_header(&self, envelope_id: &Id16) -> Result<(EnvelopeRow, EnvelopeHeader), BlobError> {
        let not_found = || BlobError::NotFound("no such envelope here: upload the envelope first".into());
        let row = self.db.envelope(envelope_id).await?.ok_or_else(not_found)?;
        let bytes = self.db.envelope_bytes(envelope_id).await?.ok_or_else(not_found)?;
        let header = envelope::parse(&bytes).map_err(|_| DbError::Corrupt("stored envelope"))?.header;
        Ok((row, header))
    }

    /// Where the upload of one blob stands.
    pub async fn blob_status(&self, envelope_id: &Id16, index: u16) -> Result<BlobStatus, BlobError> {
        let (row, header) = self.stored_header(envelope_id).await?;
        self.status_of(&row, &header, index).await
    }

    async fn status_of(&self, row: &EnvelopeRow, header: &EnvelopeHeader, index: u16) -> Result<BlobStatus, BlobError> {
        let envelope_id = &row.envelope_id;
        let entry = header
            .photos
            .get(usize::from(index))
            .ok_or_else(|| BlobError::NotFound(format!("the envelope has no photo {index}")))?;
        let total = u64::from(entry.sealed_len);
        if self.db.blobs(envelope_id).await?.iter().any(|(i, _)| *i == index) {
            let receipt = self.completion(row).await?.1;
            return Ok(BlobStatus { received: total, total, complete: true, receipt });
        }
        let received = self.blobs.partial_len(envelope_id, index)?;
        Ok(BlobStatus { received, total, complete: false, receipt: None })
    }

    /// Takes one chunk of a blob at `offset`. Completing the blob verifies it against the
    /// signed header; completing the envelope brings its receipt.
    pub async fn put_blob(
        &self,
        envelope_id: &Id16,
        index: u16,
        offset: u64,
        chunk: &[u8],
    ) -> Result<BlobStatus, BlobError> {
        let key = (*envelope_id, index);
        let lock = {
            let mut locks = self.blob_locks.lock().expect("the lock map is never poisoned");
            Arc::clone(locks.entry(key).or_default())
        };
        let result = {
            let _guard = lock.lock().await;
            self.put_blob_locked(envelope_id, index, offset, chunk).await
        };
        // The last one out removes the entry: junk requests for made-up envelopes (found in
        // review) must not grow the map.
        let mut locks = self.blob_locks.lock().expect("the lock map is never poisoned");
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&key);
        }
        result
    }

    /// Uploads in progress now (blobs with a request under way).
    pub fn uploads_in_progress(&self) -> usize {
        self.blob_locks.lock().expect("the lock map is never poisoned").len()
    }

    async fn put_blob_locked(
        &self,
        envelope_id: &Id16,
        index: u16,
        offset: u64,
        chunk: &[u8],
    ) -> Result<BlobStatus, BlobError> {
        let (row, header) = self.stored_header(envelope_id).await?;
        let status = self.status_of(&row, &header, index).await?;
        if status.complete {
            return Ok(status);
        }
        if offset > status.received {
            return Err(BlobError::Offset(status));
        }
        if chunk.is_empty() || offset + chunk.len() as u64 > status.total {
            return Err(BlobError::BadChunk(format!(
                "a chunk at byte {offset} must hold 1 to {} bytes of this photo",
                status.total.saturating_sub(offset)
            )));
        }
        let store = Arc::clone(&self.blobs);
        let (id, bytes) = (*envelope_id, chunk.to_vec());
        let received = tokio::task::spawn_blocking(move || store.append_partial(&id, index, offset, &bytes))
            .await
            .map_err(|_| std::io::Error::other("blob writer stopped"))??;
        if received < status.total {
            return Ok(BlobStatus { received, ..status });
        }
        let whole = self.blobs.read_partial(envelope_id, index)?;
        if seal::check_blob(&header, index, &whole).is_err() {
            self.blobs.discard_partial(envelope_id, index)?;
            tracing::warn!(envelope = %envelope_id, index, "uploaded blob does not match its signed header");
            return Err(BlobError::Mismatch);
        }
        self.blobs.commit_partial(envelope_id, index)?;
        self.db.insert_blob(envelope_id, index, &seal::sha256(&whole), whole.len() as u64, now_ms()).await?;
        tracing::info!(envelope = %envelope_id, index, bytes = whole.len(), "blob stored");
        self.status_of(&row, &header, index).await
    }
}

/// The index the baseline run (enclave skipped) stores: numbers derived from the header only.
fn baseline_index(header: &EnvelopeHeader) -> fieldseal_core::wire::enclave::CaseIndex {
    let id = header.envelope_id.0;
    let prefix = u16::from_be_bytes([id[0], id[1]]) % 9999 + 1;
    let counter = u32::from_be_bytes([id[2], id[3], id[4], id[5]]) % 9_999_999 + 1;
    fieldseal_core::wire::enclave::CaseIndex {
        envelope_id: header.envelope_id,
        ticket_number: fieldseal_core::ticket::TicketNumber::issue(prefix, counter)
            .expect("a valid baseline ticket number"),
        total_cents: 0,
        due_date: "2099-12-31".into(),
        offence_codes: Vec::new(),
        status: fieldseal_core::wire::enclave::CaptureStatus::Open,
    }
}
