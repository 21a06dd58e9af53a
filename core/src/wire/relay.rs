//! The device–server API bodies: enrolment, the sync batch, per-envelope results, blob upload
//! status and the server's signed receipts.
//!
//! The sync batch is binary (envelopes are binary): a version byte, a 2-byte big-endian count,
//! then per envelope a 4-byte big-endian length and the envelope bytes. Everything else is
//! JSON. A receipt is the server's Ed25519 signature over what it stored durably: the exact
//! envelope (by hash) and every photo blob (by hash). Only a receipt that verifies against the
//! key pinned at enrolment, and matches what the device sent, marks an outbox row as synced.

use serde::{Deserialize, Serialize};

use crate::attestation::AttestationDocument;
use crate::catalogue::SignedCatalogue;
use crate::notice::PayeeConfig;
use crate::seal::{SigningKey, VerifyingKey};
use crate::ticket::TicketNumber;
use crate::wire::envelope::{EnvelopeHeader, Id16, MAX_ENVELOPE_LEN};
use crate::wire::{hex_array, hex_digests};

/// Version byte first in every sync batch.
pub const SYNC_FORMAT: u8 = 1;
/// Most envelopes in one batch.
pub const MAX_BATCH_ENVELOPES: usize = 32;
/// Largest sync batch body.
pub const MAX_SYNC_BODY: usize = 8 << 20;
/// Largest chunk of one blob upload request.
pub const MAX_BLOB_CHUNK: usize = 4 << 20;
/// Version of the receipt layout.
pub const RECEIPT_FORMAT: u16 = 1;
const RECEIPT_CONTEXT: &[u8] = b"fieldseal/receipt/v1\0";

/// `POST /v1/enrol`: a one-time code and the device's freshly made public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The one-time enrolment code an administrator issued.
    pub code: String,
    /// The device's Ed25519 public key, registered against the code.
    pub verifying_key: VerifyingKey,
}

/// The answer to an enrolment: everything a device needs before it seals a case. The device
/// checks each part (attestation against its pinned policy, catalogue against the issuer key,
/// payee settings) before it stores any of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// Id assigned to the device.
    pub device_id: Id16,
    /// Ticket number prefix assigned to the device.
    pub device_prefix: u16,
    /// The enclave's attestation (the device checks it against its pinned policy).
    pub attestation: AttestationDocument,
    /// The signed offence catalogue.
    pub catalogue: SignedCatalogue,
    /// The catalogue issuer's key.
    pub issuer_key: VerifyingKey,
    /// Payee and portal settings.
    pub payee: PayeeConfig,
    /// The key the server signs receipts with.
    pub receipt_key: VerifyingKey,
}

/// Why a sync batch body is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Fewer bytes than announced.
    #[error("the sync batch is truncated")]
    Truncated,
    /// Bytes after the last envelope.
    #[error("the sync batch has {0} trailing bytes")]
    TrailingBytes(usize),
    /// Another batch format.
    #[error("sync batch format {0} is not supported (this server reads {SYNC_FORMAT}); update the app")]
    UnsupportedFormat(u8),
    /// Zero or too many envelopes.
    #[error("a sync batch holds 1 to {MAX_BATCH_ENVELOPES} envelopes, this one announces {0}")]
    Count(usize),
    /// An envelope over the format's size cap.
    #[error("envelope {index} of the batch is {len} bytes, over the {MAX_ENVELOPE_LEN}-byte limit")]
    EnvelopeTooLarge { index: usize, len: usize },
    /// The whole body is over the cap.
    #[error("the sync batch is {0} bytes, over the {MAX_SYNC_BODY}-byte limit")]
    TooLarge(usize),
}

/// Builds a sync batch body.
pub fn encode_batch(envelopes: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + envelopes.iter().map(|e| 4 + e.len()).sum::<usize>());
    out.push(SYNC_FORMAT);
    out.extend(u16::try_from(envelopes.len()).expect("a batch holds few envelopes").to_be_bytes());
    for e in envelopes {
        out.extend(u32::try_from(e.len()).expect("envelopes are capped").to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Splits a sync batch body into its envelopes (not yet parsed), borrowing the input.
pub fn decode_batch(body: &[u8]) -> Result<Vec<&[u8]>, BatchError> {
    if body.len() > MAX_SYNC_BODY {
        return Err(BatchError::TooLarge(body.len()));
    }
    let [format, c0, c1, rest @ ..] = body else {
        return Err(BatchError::Truncated);
    };
    if *format != SYNC_FORMAT {
        return Err(BatchError::UnsupportedFormat(*format));
    }
    let count = usize::from(u16::from_be_bytes([*c0, *c1]));
    if count == 0 || count > MAX_BATCH_ENVELOPES {
        return Err(BatchError::Count(count));
    }
    let mut out = Vec::with_capacity(count);
    let mut rest = rest;
    for index in 0..count {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(BatchError::Truncated);
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > MAX_ENVELOPE_LEN {
            return Err(BatchError::EnvelopeTooLarge { index, len });
        }
        if len > tail.len() {
            return Err(BatchError::Truncated);
        }
        let (envelope, tail) = tail.split_at(len);
        out.push(envelope);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(BatchError::TrailingBytes(rest.len()));
    }
    Ok(out)
}

/// What happened to one envelope of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored and indexed now.
    Stored,
    /// The same envelope was stored before (idempotent replay of an upload).
    Duplicate,
    /// Refused; nothing was stored. Sending it again will not help.
    Rejected,
    /// Not stored because of a passing problem (enclave busy or restarting): send it again.
    RetryLater,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// Not a well-formed envelope.
    Malformed,
    /// The device is not enrolled here.
    UnknownDevice,
    /// The device signature does not verify with the registered key.
    BadSignature,
    /// A different envelope with this id was stored before.
    Conflict,
    /// A different envelope holds this place in the device's chain (a fork).
    Fork,
    /// The device's previous envelope is not stored yet: send it first.
    Gap,
    /// The enclave cannot open it or finds the record invalid.
    Unreadable,
    /// The ticket number is already taken by another case.
    DuplicateTicket,
}

impl RejectCode {
    /// The code as it is named on the wire (`gap`, `bad_signature`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownDevice => "unknown_device",
            Self::BadSignature => "bad_signature",
            Self::Conflict => "conflict",
            Self::Fork => "fork",
            Self::Gap => "gap",
            Self::Unreadable => "unreadable",
            Self::DuplicateTicket => "duplicate_ticket",
        }
    }
}

/// The server's answer for one envelope of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeResult {
    /// Position in the batch.
    pub index: u16,
    /// The envelope id, when the header could be read.
    pub envelope_id: Option<Id16>,
    /// What happened.
    pub outcome: Outcome,
    /// Why it was refused.
    pub code: Option<RejectCode>,
    /// A human message (no case data).
    pub message: Option<String>,
    /// Photo blobs the server still needs, by index.
    pub missing_blobs: Vec<u16>,
    /// Whether the server found a gap before this envelope in the device's chain.
    pub gap_before: bool,
    /// The receipt, once the envelope and all its blobs are stored.
    pub receipt: Option<Receipt>,
}

/// `POST /v1/sync` answer: one result per envelope, batch order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncResponse {
    /// Per-envelope results.
    pub results: Vec<EnvelopeResult>,
}

/// Where an upload of one blob stands (`GET`/`PUT /v1/blobs/{envelope}/{index}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobStatus {
    /// Bytes the server holds of this blob.
    pub received: u64,
    /// The blob's full length (from the signed header).
    pub total: u64,
    /// Whether the whole blob is stored and verified.
    pub complete: bool,
    /// The envelope's receipt, once this upload completed the last blob.
    pub receipt: Option<Receipt>,
}

/// The server's signed statement that it durably stored an envelope and all its blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// [`RECEIPT_FORMAT`].
    pub format: u16,
    /// The envelope.
    pub envelope_id: Id16,
    /// The device it came from.
    pub device_id: Id16,
    /// Its place in the device's chain.
    pub sequence: u64,
    /// The ticket number the enclave indexed.
    pub ticket_number: TicketNumber,
    /// SHA-256 of the exact envelope bytes stored.
    #[serde(with = "hex_array")]
    pub envelope_sha256: [u8; 32],
    /// SHA-256 of each stored blob, index order.
    #[serde(with = "hex_digests")]
    pub blob_sha256: Vec<[u8; 32]>,
    /// When the envelope was stored (server clock, Unix ms).
    pub stored_at_ms: i64,
    /// The server's Ed25519 signature.
    #[serde(with = "hex_array")]
    pub signature: [u8; 64],
}

/// Why a receipt does not mark a case synced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not signed by the pinned receipt key.
    #[error("the receipt's signature does not verify with the server key pinned at enrolment")]
    BadSignature,
    /// Signed, but about something else than what the device sent.
    #[error("the receipt does not match the envelope sent: {0}")]
    Mismatch(&'static str),
    /// A newer layout.
    #[error("receipt format {0} is not supported by this app")]
    UnsupportedFormat(u16),
}

/// The fields a receipt vouches for, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFields {
    /// The envelope.
    pub envelope_id: Id16,
    /// Its device.
    pub device_id: Id16,
    /// Its sequence number.
    pub sequence: u64,
    /// The indexed ticket number.
    pub ticket_number: TicketNumber,
    /// SHA-256 of the envelope bytes.
    pub envelope_sha256: [u8; 32],
    /// SHA-256 of each blob.
    pub blob_sha256: Vec<[u8; 32]>,
    /// When stored.
    pub stored_at_ms: i64,
}

fn receipt_message(format: u16, f: &ReceiptFields) -> Vec<u8> {
    let mut m = Vec::with_capacity(2 + 16 + 16 + 8 + 12 + 32 + 2 + 32 * f.blob_sha256.len() + 8);
    m.extend(format.to_be_bytes());
    m.extend(f.envelope_id.0);
    m.extend(f.device_id.0);
    m.extend(f.sequence.to_be_bytes());
    m.extend(f.ticket_number.digits().as_bytes());
    m.extend(f.envelope_sha256);
    m.extend(u16::try_from(f.blob_sha256.len()).expect("at most MAX_PHOTOS blobs").to_be_bytes());
    for d in &f.blob_sha256 {
        m.extend(d);
    }
    m.extend(f.stored_at_ms.to_be_bytes());
    m
}

impl ReceiptFields {
    /// Signs the fields with the server's receipt key (deterministic: the same fields always
    /// give the same receipt, so a replayed upload gets an identical one).
    pub fn sign(self, key: &SigningKey) -> Receipt {
        let signature = key.sign(RECEIPT_CONTEXT, &[&receipt_message(RECEIPT_FORMAT, &self)]);
        Receipt {
            format: RECEIPT_FORMAT,
            envelope_id: self.envelope_id,
            device_id: self.device_id,
            sequence: self.sequence,
            ticket_number: self.ticket_number,
            envelope_sha256: self.envelope_sha256,
            blob_sha256: self.blob_sha256,
            stored_at_ms: self.stored_at_ms,
            signature,
        }
    }
}

impl Receipt {
    fn fields(&self) -> ReceiptFields {
        ReceiptFields {
            envelope_id: self.envelope_id,
            device_id: self.device_id,
            sequence: self.sequence,
            ticket_number: self.ticket_number.clone(),
            envelope_sha256: self.envelope_sha256,
            blob_sha256: self.blob_sha256.clone(),
            stored_at_ms: self.stored_at_ms,
        }
    }

    /// Checks the signature against the pinned key and that the receipt covers exactly the
    /// envelope (by hash and header) and the blobs the device holds.
    pub fn verify_for(
        &self,
        key: &VerifyingKey,
        header: &EnvelopeHeader,
        envelope_sha256: &[u8; 32],
        ticket_number: &TicketNumber,
    ) -> Result<(), ReceiptError> {
        if self.format != RECEIPT_FORMAT {
            return Err(ReceiptError::UnsupportedFormat(self.format));
        }
        if self.blob_sha256.len() > usize::from(crate::wire::envelope::MAX_PHOTOS) {
            return Err(ReceiptError::Mismatch("too many blobs"));
        }
        if !key.verify(RECEIPT_CONTEXT, &[&receipt_message(self.format, &self.fields())], &self.signature) {
            return Err(ReceiptError::BadSignature);
        }
        if self.envelope_id != header.envelope_id
            || self.device_id != header.device_id
            || self.sequence != header.sequence
        {
            return Err(ReceiptError::Mismatch("another envelope"));
        }
        if &self.envelope_sha256 != envelope_sha256 {
            return Err(ReceiptError::Mismatch("other envelope bytes"));
        }
        if &self.ticket_number != ticket_number {
            return Err(ReceiptError::Mismatch("another ticket number"));
        }
        let expected: Vec<[u8; 32]> = header.photos.iter().map(|p| p.sha256).collect();
        if self.blob_sha256 != expected {
            return Err(ReceiptError::Mismatch("not every photo blob is covered"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::envelope::PhotoEntry;

    #[test]
    fn reject_code_names_match_the_wire() {
        use RejectCode::*;
        for code in [Malformed, UnknownDevice, BadSignature, Conflict, Fork, Gap, Unreadable, DuplicateTicket] {
            let wire = serde_json::to_value(code).expect("serialises");
            assert_eq!(wire.as_str(), Some(code.as_str()));
        }
    }

    fn header() -> EnvelopeHeader {
        EnvelopeHeader {
            envelope_id: Id16([1; 16]),
            device_id: Id16([2; 16]),
            sequence: 7,
            prev_hash: [3; 32],
            enc: [4; 32],
            record_len: 100,
            photos: vec![
                PhotoEntry { sealed_len: 10, sha256: [5; 32] },
                PhotoEntry { sealed_len: 11, sha256: [6; 32] },
            ],
        }
    }

    fn fields(h: &EnvelopeHeader) -> ReceiptFields {
        ReceiptFields {
            envelope_id: h.envelope_id,
            device_id: h.device_id,
            sequence: h.sequence,
            ticket_number: TicketNumber::issue(1, 7).expect("valid"),
            envelope_sha256: [9; 32],
            blob_sha256: h.photos.iter().map(|p| p.sha256).collect(),
            stored_at_ms: 1_795_000_000_000,
        }
    }

    #[test]
    fn a_receipt_verifies_for_exactly_what_was_sent() {
        let key = SigningKey::make_random();
        let h = header();
        let ticket = TicketNumber::issue(1, 7).expect("valid");
        let receipt = fields(&h).sign(&key);
        assert_eq!(receipt, fields(&h).sign(&key), "deterministic");
        let json = serde_json::to_string(&receipt).expect("serialises");
        let back: Receipt = serde_json::from_str(&json).expect("parses");
        back.verify_for(&key.verifying_key(), &h, &[9; 32], &ticket).expect("verifies");

        let other_key = SigningKey::make_random().verifying_key();
        assert_eq!(back.verify_for(&other_key, &h, &[9; 32], &ticket), Err(ReceiptError::BadSignature));
        assert_eq!(
            back.verify_for(&key.verifying_key(), &h, &[8; 32], &ticket),
            Err(ReceiptError::Mismatch("other envelope bytes"))
        );
        let mut fewer = h.clone();
        fewer.photos.push(PhotoEntry { sealed_len: 1, sha256: [7; 32] });
        assert!(matches!(
            back.verify_for(&key.verifying_key(), &fewer, &[9; 32], &ticket),
            Err(ReceiptError::Mismatch(_))
        ));
        let mut later = h.clone();
        later.sequence = 8;
        assert!(matches!(
            back.verify_for(&key.verifying_key(), &later, &[9; 32], &ticket),
            Err(ReceiptError::Mismatch(_))
        ));
        // Any altered field breaks the signature.
        let mut altered = back.clone();
        altered.stored_at_ms += 1;
        assert_eq!(altered.verify_for(&key.verifying_key(), &h, &[9; 32], &ticket), Err(ReceiptError::BadSignature));
        let mut dropped = back.clone();
        dropped.blob_sha256.pop();
        assert_eq!(dropped.verify_for(&key.verifying_key(), &h, &[9; 32], &ticket), Err(ReceiptError::BadSignature));
    }

    #[test]
    fn pinned_receipt_json() {
        let key = SigningKey::from_seed(&[42; 32]);
        insta::assert_json_snapshot!(fields(&header()).sign(&key));
    }

    #[test]
    fn batches_round_trip_and_refuse_bad_bodies() {
        let a = vec![1u8; 10];
        let b = vec![2u8; 0];
        let body = encode_batch(&[&a, &b]);
        assert_eq!(decode_batch(&body).expect("parses"), vec![&a[..], &b[..]]);
        assert_eq!(decode_batch(&[]), Err(BatchError::Truncated));
        assert_eq!(decode_batch(&encode_batch(&[])), Err(BatchError::Count(0)));
        let mut v2 = body.clone();
        v2[0] = 9;
        assert_eq!(decode_batch(&v2), Err(BatchError::UnsupportedFormat(9)));
        assert_eq!(decode_batch(&body[..body.len() - 1]), Err(BatchError::Truncated));
        let mut extra = body.clone();
        extra.push(0);
        assert_eq!(decode_batch(&extra), Err(BatchError::TrailingBytes(1)));
        let mut huge = vec![SYNC_FORMAT, 0, 1];
        huge.extend(u32::MAX.to_be_bytes());
        assert!(matches!(decode_batch(&huge), Err(BatchError::EnvelopeTooLarge { index: 0, .. })));
        let many: Vec<&[u8]> = vec![&a; MAX_BATCH_ENVELOPES + 1];
        assert_eq!(decode_batch(&encode_batch(&many)), Err(BatchError::Count(MAX_BATCH_ENVELOPES + 1)));
        assert!(matches!(decode_batch(&vec![0; MAX_SYNC_BODY + 1]), Err(BatchError::TooLarge(_))));
    }
}
