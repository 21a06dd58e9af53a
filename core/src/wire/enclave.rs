//! The enclave protocol: the few requests the server may make of the enclave, as
//! length-prefixed binary frames over a local socket.
//!
//! A frame is a 4-byte big-endian payload length, then the payload:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | protocol version ([`PROTOCOL_VERSION`]) |
//! | 1 | kind (request `0x01..=0x02`, response `0x81..=0x82`, error `0xFF`) |
//! | 1 | number of fields |
//! | per field | 4-byte big-endian length, then that many bytes |
//!
//! | kind | message | fields |
//! |---|---|---|
//! | `0x01` | [`Request::Health`] | none |
//! | `0x02` | [`Request::OpenIndex`] | device key (32), envelope |
//! | `0x81` | [`Response::Health`] | JSON |
//! | `0x82` | [`Response::Index`] | JSON |
//! | `0xFF` | [`Response::Error`] | 1-byte code, message |
//!
//! Retired kinds, refused as unknown: `0x03` (a citizen's view), `0x04` to `0x06` (a clerk's
//! view of a case, an objection, a payer's bank details) and their answers `0x83` to `0x85`.
//! Whoever held the socket — the host's own user — could ask for any of them with a made-up
//! purpose; now the citizen portal and the back office run inside the zone and open what they
//! show there, so nothing personal is ever asked for or answered on this socket.
//!
//! An error message is UTF-8 of at most [`MAX_TEXT_BYTES`]. Every length is checked before it
//! is read and nothing is allocated beyond the input. Server and enclave ship together.

use std::fmt;
use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::attestation::AttestationDocument;
use crate::domain::{ObservedAt, Place, Vehicle};
use crate::seal::VerifyingKey;
use crate::ticket::TicketNumber;
use crate::wire::envelope::Id16;
use crate::wire::record::ChargedOffence;

/// Version byte first in every payload.
pub const PROTOCOL_VERSION: u8 = 1;
/// Hard cap on one frame's payload (an envelope with its photo digests; the store line's
/// frames, which carry sealed photos, share the cap).
pub const MAX_FRAME_LEN: usize = 64 << 20;
/// Most fields in one payload (an index request: device key and envelope; an error: code and
/// message).
pub const MAX_FIELDS: usize = 2;
/// Shortest purpose a clerk may state for opening personal data.
pub const MIN_PURPOSE_CHARS: usize = 8;
/// Longest purpose or actor text.
pub const MAX_TEXT_BYTES: usize = 500;

const HEALTH: u8 = 0x01;
const OPEN_INDEX: u8 = 0x02;
const HEALTH_REPLY: u8 = 0x81;
const INDEX_REPLY: u8 = 0x82;
const ERROR_REPLY: u8 = 0xFF;

/// What the server asks of the enclave.
pub enum Request {
    /// Liveness, attestation and the sandbox self-check.
    Health,
    /// Verify, open and validate an envelope; return only its index fields.
    OpenIndex {
        /// The registered key of the device the envelope claims to come from.
        device_key: VerifyingKey,
        /// The envelope bytes.
        envelope: Vec<u8>,
    },
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Health => f.write_str("Health"),
            Self::OpenIndex { envelope, .. } => write!(f, "OpenIndex({} bytes)", envelope.len()),
        }
    }
}

/// What the enclave answers.
pub enum Response {
    /// Answer to [`Request::Health`].
    Health(HealthReport),
    /// Answer to [`Request::OpenIndex`].
    Index(CaseIndex),
    /// The request was refused.
    Error(EnclaveError),
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Health(h) => f.debug_tuple("Health").field(h).finish(),
            Self::Index(i) => f.debug_tuple("Index").field(i).finish(),
            Self::Error(e) => f.debug_tuple("Error").field(e).finish(),
        }
    }
}

/// The case status at capture; payments move it on outside the enclave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Issued and waiting for payment.
    Open,
}

/// The only fields of a case the server learns: what payments need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseIndex {
    /// The envelope the case came in.
    pub envelope_id: Id16,
    /// Ticket number (the payment reference).
    pub ticket_number: TicketNumber,
    /// Amount due in cents.
    pub total_cents: u64,
    /// Payment deadline, `YYYY-MM-DD`.
    pub due_date: String,
    /// Offence codes charged.
    pub offence_codes: Vec<String>,
    /// Status at capture.
    pub status: CaptureStatus,
}

/// A released case. Holds personal data: redacting `Debug`, zeroized on drop.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseView {
    /// The envelope the case came in.
    pub envelope_id: Id16,
    /// Ticket number.
    pub ticket_number: TicketNumber,
    /// Offences charged.
    pub offences: Vec<ChargedOffence>,
    /// Amount due in cents.
    pub total_cents: u64,
    /// Payment deadline.
    pub due_date: String,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// The place.
    pub place: Place,
    /// The time.
    pub observed_at: ObservedAt,
    /// Officer notes (clerk view only).
    pub notes: Option<String>,
    /// The photos (JPEG), index order. Carried as frame fields, not JSON.
    #[serde(skip)]
    pub photos: Vec<Zeroizing<Vec<u8>>>,
}

impl Drop for CaseView {
    fn drop(&mut self) {
        if let Some(notes) = &mut self.notes {
            zeroize::Zeroize::zeroize(notes);
        }
    }
}

impl fmt::Debug for CaseView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseView")
            .field("ticket_number", &self.ticket_number)
            .field("photos", &self.photos.len())
            .field("personal_data", &"<redacted>")
            .finish()
    }
}

/// The enclave's self-check of its own confinement, taken after the sandbox is in place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxReport {
    /// A seccomp syscall filter is installed on every thread.
    pub seccomp_filter: bool,
    /// Opening a TCP socket from inside failed.
    pub network_denied: bool,
    /// Opening a file from inside failed.
    pub filesystem_denied: bool,
    /// The process is not dumpable (no ptrace attach, no core file).
    pub not_dumpable: bool,
    /// The core file size limit is zero.
    pub core_dumps_disabled: bool,
    /// The private key's memory is locked (never swapped out).
    pub key_memory_locked: bool,
}

impl SandboxReport {
    /// Whether every confinement holds.
    pub fn all_hold(&self) -> bool {
        self.seccomp_filter
            && self.network_denied
            && self.filesystem_denied
            && self.not_dumpable
            && self.core_dumps_disabled
            && self.key_memory_locked
    }
}

/// Answer to a health request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthReport {
    /// [`PROTOCOL_VERSION`] the enclave speaks.
    pub protocol: u8,
    /// Attestation platform (`"simulated"` here).
    pub platform: String,
    /// The enclave's current attestation document.
    pub attestation: AttestationDocument,
    /// The platform attestation key (what devices pin), hex.
    pub platform_key: VerifyingKey,
    /// Its own confinement, as checked from inside.
    pub sandbox: SandboxReport,
}

/// Why the enclave refused a request. Messages never contain case data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// The frame is not a well-formed request.
    Malformed = 1,
    /// Another protocol version.
    UnsupportedVersion = 2,
    /// Over a size limit.
    TooLarge = 3,
    /// The device signature does not verify.
    BadSignature = 4,
    /// The envelope does not decrypt with the enclave key.
    DoesNotOpen = 5,
    /// The record inside is not a valid case.
    InvalidRecord = 6,
    /// Wrong access code.
    AccessDenied = 7,
    /// A clerk view needs a stated purpose.
    PurposeRequired = 8,
    /// A photo blob does not belong to the envelope or fails its hash.
    BlobMismatch = 9,
    /// An unexpected failure inside the enclave.
    Internal = 10,
}

impl ErrorCode {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Malformed,
            2 => Self::UnsupportedVersion,
            3 => Self::TooLarge,
            4 => Self::BadSignature,
            5 => Self::DoesNotOpen,
            6 => Self::InvalidRecord,
            7 => Self::AccessDenied,
            8 => Self::PurposeRequired,
            9 => Self::BlobMismatch,
            10 => Self::Internal,
            _ => return None,
        })
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the enclave refused the request ({code:?}): {message}")]
pub struct EnclaveError {
    /// What went wrong.
    pub code: ErrorCode,
    /// A message without case data.
    pub message: String,
}

impl EnclaveError {
    /// An error answer.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// Why bytes are not a valid frame or payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Fewer bytes than announced.
    #[error("enclave frame is truncated")]
    Truncated,
    /// More bytes than the fields account for.
    #[error("enclave frame has {0} trailing bytes")]
    TrailingBytes(usize),
    /// Frame over [`MAX_FRAME_LEN`].
    #[error("enclave frame of {0} bytes is over the {MAX_FRAME_LEN}-byte limit")]
    TooLarge(usize),
    /// Another protocol version.
    #[error("enclave protocol version {0} is not supported (this build speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(u8),
    /// A kind byte outside the protocol.
    #[error("unknown enclave message kind {0:#04x}")]
    UnknownKind(u8),
    /// A field is missing, extra or invalid.
    #[error("invalid enclave message: {0}")]
    Invalid(&'static str),
}

/// A frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed or closed.
    #[error("enclave socket: {0}")]
    Io(#[from] std::io::Error),
    /// The length prefix is over the cap.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Checks a frame's 4-byte length prefix against the cap.
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, ProtocolError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME_LEN {
        return Err(ProtocolError::TooLarge(len));
    }
    Ok(len)
}

/// Reads one frame's payload. `Ok(None)` on a clean end of stream before a frame starts.
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut prefix[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(ProtocolError::Truncated.into()),
            n => got += n,
        }
    }
    let len = frame_len(prefix)?;
    let mut payload = Vec::new();
    r.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() != len {
        return Err(ProtocolError::Truncated.into());
    }
    Ok(Some(payload))
}

/// Writes one frame (length prefix and payload).
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> Result<(), FrameError> {
    let len = u32::try_from(payload.len()).map_err(|_| ProtocolError::TooLarge(payload.len()))?;
    if payload.len() > MAX_FRAME_LEN {
        return Err(ProtocolError::TooLarge(payload.len()).into());
    }
    w.write_all(&len.to_be_bytes())?;
    w.write_all(payload)?;
    w.flush()?;
    Ok(())
}

/// A payload of `kind` with `fields`, whatever they are: what [`Request::to_payload`] and
/// [`Response::to_payload`] write, and what a test or a fuzz seed sends as a rogue peer would
/// (a retired kind, a wrong field count).
///
/// # Panics
/// With more than 255 fields.
pub fn encode(kind: u8, fields: &[&[u8]]) -> Vec<u8> {
    let total: usize = 3 + fields.iter().map(|f| 4 + f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.push(PROTOCOL_VERSION);
    out.push(kind);
    out.push(u8::try_from(fields.len()).expect("at most MAX_FIELDS fields"));
    for f in fields {
        out.extend_from_slice(&u32::try_from(f.len()).expect("fields fit a frame").to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Splits a payload into its kind and fields, borrowing the input.
fn decode(payload: &[u8]) -> Result<(u8, Vec<&[u8]>), ProtocolError> {
    if payload.len() > MAX_FRAME_LEN {
        return Err(ProtocolError::TooLarge(payload.len()));
    }
    let [version, kind, count, rest @ ..] = payload else {
        return Err(ProtocolError::Truncated);
    };
    if *version != PROTOCOL_VERSION {
        return Err(ProtocolError::UnsupportedVersion(*version));
    }
    let count = usize::from(*count);
    if count > MAX_FIELDS {
        return Err(ProtocolError::Invalid("too many fields"));
    }
    let mut fields = Vec::with_capacity(count);
    let mut rest = rest;
    for _ in 0..count {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(ProtocolError::Truncated);
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len > tail.len() {
            return Err(ProtocolError::Truncated);
        }
        let (field, tail) = tail.split_at(len);
        fields.push(field);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(ProtocolError::TrailingBytes(rest.len()));
    }
    Ok((*kind, fields))
}

fn key_field(b: &[u8]) -> Result<VerifyingKey, ProtocolError> {
    b.try_into().map(VerifyingKey).map_err(|_| ProtocolError::Invalid("device key is not 32 bytes"))
}

fn text_field(b: &[u8], what: &'static str) -> Result<String, ProtocolError> {
    if b.len() > MAX_TEXT_BYTES {
        return Err(ProtocolError::Invalid(what));
    }
    String::from_utf8(b.to_vec()).map_err(|_| ProtocolError::Invalid(what))
}

impl Request {
    /// The payload bytes (without the frame's length prefix).
    pub fn to_payload(&self) -> Vec<u8> {
        match self {
            Self::Health => encode(HEALTH, &[]),
            Self::OpenIndex { device_key, envelope } => encode(OPEN_INDEX, &[&device_key.0, envelope]),
        }
    }

    /// Parses a request payload strictly.
    pub fn from_payload(payload: &[u8]) -> Result<Self, ProtocolError> {
        let (kind, fields) = decode(payload)?;
        match (kind, fields.as_slice()) {
            (HEALTH, []) => Ok(Self::Health),
            (OPEN_INDEX, [key, envelope]) => {
                Ok(Self::OpenIndex { device_key: key_field(key)?, envelope: envelope.to_vec() })
            }
            (HEALTH | OPEN_INDEX, _) => Err(ProtocolError::Invalid("wrong number of fields")),
            (other, _) => Err(ProtocolError::UnknownKind(other)),
        }
    }
}

fn json_field<T: for<'de> Deserialize<'de>>(b: &[u8], what: &'static str) -> Result<T, ProtocolError> {
    serde_json::from_slice(b).map_err(|_| ProtocolError::Invalid(what))
}

impl Response {
    /// The payload bytes (without the frame's length prefix).
    pub fn to_payload(&self) -> Vec<u8> {
        match self {
            Self::Health(h) => encode(HEALTH_REPLY, &[&serde_json::to_vec(h).expect("a health report serialises")]),
            Self::Index(i) => encode(INDEX_REPLY, &[&serde_json::to_vec(i).expect("an index serialises")]),
            Self::Error(e) => encode(ERROR_REPLY, &[&[e.code as u8], e.message.as_bytes()]),
        }
    }

    /// Parses a response payload strictly.
    pub fn from_payload(payload: &[u8]) -> Result<Self, ProtocolError> {
        let (kind, fields) = decode(payload)?;
        match (kind, fields.as_slice()) {
            (HEALTH_REPLY, [json]) => Ok(Self::Health(json_field(json, "health report is not valid JSON")?)),
            (INDEX_REPLY, [json]) => Ok(Self::Index(json_field(json, "index is not valid JSON")?)),
            (ERROR_REPLY, [[code], message]) => Ok(Self::Error(EnclaveError {
                code: ErrorCode::from_u8(*code).ok_or(ProtocolError::Invalid("unknown error code"))?,
                message: text_field(message, "error message is not short UTF-8")?,
            })),
            (HEALTH_REPLY | INDEX_REPLY | ERROR_REPLY, _) => Err(ProtocolError::Invalid("wrong number of fields")),
            (other, _) => Err(ProtocolError::UnknownKind(other)),
        }
    }
}

#[cfg(test)]
mod tests;
