//! The portal's backend across the sealed zone's boundary. The zone serves the citizen pages;
//! what they need from the host (the case index and ledger, the sealed case to open, where to
//! keep checkouts, payments and sealed objections, the payment provider's calls) it asks over
//! connections the host opens to the zone's store socket. The zone never connects anywhere:
//! the host dials in and answers what the zone asks on each connection, one exchange at a time.
//!
//! Nothing personal crosses: the zone asks by ticket number, the host answers with index and
//! ledger fields and sealed bytes, and the zone sends back only sealed objections and ledger
//! facts. A frame is the enclave protocol's (4-byte big-endian length, then the payload):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | [`VERSION`] |
//! | 1 | number of attachments (at most [`MAX_ATTACHMENTS`]) |
//! | 4 + n | the message as JSON ([`Ask`] from the zone, [`Answer`] from the host) |
//! | per attachment | 4-byte big-endian length, then the bytes (envelope, sealed photos, sealed objection) |

use fieldseal_core::catalogue::Offence;
use fieldseal_core::notice::PayeeConfig;
use fieldseal_core::seal::VerifyingKey;
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::{MAX_FRAME_LEN, frame_len};
use fieldseal_core::wire::envelope::MAX_PHOTOS;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::backend::{CaseSummary, CheckoutRecord, NewPayment, Recorded};
use crate::pay::{Checkout, CheckoutRequest, CheckoutState, ProviderError};

/// Version byte first in every payload.
pub const VERSION: u8 = 1;
/// Most binary attachments in one message: an envelope and its photos.
pub const MAX_ATTACHMENTS: usize = 1 + MAX_PHOTOS as usize;
/// Longest JSON part of a message (a settings answer with the whole catalogue is the largest).
pub const MAX_JSON: usize = 1 << 20;

/// What the zone asks of the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "ask", rename_all = "snake_case", deny_unknown_fields)]
pub enum Ask {
    /// The portal's settings, payee and catalogue (asked once, at the zone's start).
    Settings,
    /// A case's index and ledger.
    Summary { ticket: TicketNumber },
    /// A case's sealed envelope and photos (attachments of the answer), and its device's key.
    SealedCase { ticket: TicketNumber },
    /// The registered key of the device with this ticket prefix.
    DeviceKey { prefix: u16 },
    /// Checkouts started for a case, newest first.
    Checkouts { ticket: TicketNumber },
    /// One checkout by the provider's session id.
    Checkout { session_id: String },
    /// Keep a new checkout.
    InsertCheckout { checkout: CheckoutRecord },
    /// Count a payment once.
    RecordPayment { payment: PaymentFacts },
    /// Keep a sealed objection (the one attachment); answered `Recorded` (`Duplicate`: the case
    /// has one already, nothing kept).
    RecordObjection { ticket: TicketNumber, at_ms: i64 },
    /// The zone released a case to the holder of its access code (for the audit log).
    Released { ticket: TicketNumber, photos: usize },
    /// Open a checkout session with the payment provider.
    CreateCheckout { request: CheckoutRequest },
    /// A checkout session's state at the provider.
    CheckoutState { session_id: String },
}

/// A payment to count, as it crosses (a [`NewPayment`] with its method as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFacts {
    pub ticket: TicketNumber,
    pub amount_cents: u64,
    /// `online` or `transfer`.
    pub method: String,
    pub provider: String,
    pub external_ref: String,
    pub booked_at_ms: i64,
}

impl From<&NewPayment> for PaymentFacts {
    fn from(p: &NewPayment) -> Self {
        Self {
            ticket: p.ticket.clone(),
            amount_cents: p.amount_cents,
            method: p.method.to_owned(),
            provider: p.provider.clone(),
            external_ref: p.external_ref.clone(),
            booked_at_ms: p.booked_at_ms,
        }
    }
}

impl PaymentFacts {
    /// The payment to record; `None` for a method other than `online` and `transfer`.
    pub fn to_new_payment(&self) -> Option<NewPayment> {
        let method = match self.method.as_str() {
            "online" => "online",
            "transfer" => "transfer",
            _ => return None,
        };
        Some(NewPayment {
            ticket: self.ticket.clone(),
            amount_cents: self.amount_cents,
            method,
            provider: self.provider.clone(),
            external_ref: self.external_ref.clone(),
            booked_at_ms: self.booked_at_ms,
        })
    }
}

/// The portal's settings as the host keeps them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ZoneSettings {
    /// Payee and portal address (the notices' settings).
    pub payee: PayeeConfig,
    /// The verified offence catalogue.
    pub offences: Vec<Offence>,
    /// The portal's public `https://` address.
    pub public_base_url: String,
    /// Idle time-out of a session, seconds.
    pub idle_secs: u64,
    /// The card payment provider, when one is configured.
    pub provider: Option<ProviderInfo>,
}

/// What the zone's pages need to know of the payment provider (its secrets stay with the host).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Its stable name ("sandbox").
    pub name: String,
    /// `scheme://host:port` the browser is sent to.
    pub checkout_origin: String,
}

/// A sealed case as the host stores it: the device key; envelope and photos are attachments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedCaseHead {
    /// The registered key of the device that sealed it.
    pub device_key: VerifyingKey,
    /// How many sealed photos follow the envelope.
    pub photos: usize,
}

/// What the host answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "answer", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Settings(Box<ZoneSettings>),
    Summary(Option<CaseSummary>),
    SealedCase(Option<SealedCaseHead>),
    DeviceKey(Option<VerifyingKey>),
    Checkouts(Vec<CheckoutRecord>),
    Checkout(Option<CheckoutRecord>),
    /// Kept.
    Done,
    Recorded(Recorded),
    Created(Checkout),
    State(CheckoutState),
    /// The provider refused or could not be reached.
    Provider(ProviderError),
    /// The host could not answer: `unavailable` for a passing problem (database down).
    Failed {
        unavailable: bool,
        message: String,
    },
}

/// A message that does not read.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("a malformed message: {0}")]
    Malformed(String),
    #[error("an answer of another kind than asked")]
    Unexpected,
}

/// The payload of a message with its attachments.
pub fn encode<T: Serialize>(message: &T, attachments: &[Vec<u8>]) -> Vec<u8> {
    let json = serde_json::to_vec(message).expect("wire messages serialise");
    let mut out = Vec::with_capacity(6 + json.len() + attachments.iter().map(|a| 4 + a.len()).sum::<usize>());
    out.push(VERSION);
    out.push(u8::try_from(attachments.len()).expect("at most MAX_ATTACHMENTS attachments"));
    for part in std::iter::once(&json).chain(attachments) {
        out.extend_from_slice(&u32::try_from(part.len()).expect("under 4 GiB").to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Reads a payload: the message and its attachments. Every length is checked before use.
pub fn decode<T: for<'de> Deserialize<'de>>(payload: &[u8]) -> Result<(T, Vec<Vec<u8>>), RemoteError> {
    let bad = |why: &str| RemoteError::Malformed(why.to_owned());
    let (&version, rest) = payload.split_first().ok_or_else(|| bad("empty"))?;
    if version != VERSION {
        return Err(bad(&format!("version {version}, this build speaks {VERSION}")));
    }
    let (&count, mut rest) = rest.split_first().ok_or_else(|| bad("no attachment count"))?;
    if usize::from(count) > MAX_ATTACHMENTS {
        return Err(bad("too many attachments"));
    }
    let mut parts = Vec::with_capacity(usize::from(count) + 1);
    for i in 0..=usize::from(count) {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(|| bad("a part's length is cut off"))?;
        let len = u32::from_be_bytes(len.try_into().expect("four bytes")) as usize;
        if i == 0 && len > MAX_JSON {
            return Err(bad("the message is too long"));
        }
        let (part, tail) = tail.split_at_checked(len).ok_or_else(|| bad("a part is cut off"))?;
        parts.push(part.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("bytes after the last part"));
    }
    let json = parts.remove(0);
    let message = serde_json::from_slice(&json).map_err(|e| bad(&format!("the message does not read: {e}")))?;
    Ok((message, parts))
}

/// Reads one frame; `None` when the peer closed the connection between frames.
pub async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> Result<Option<Vec<u8>>, RemoteError> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = frame_len(prefix).map_err(|e| RemoteError::Malformed(e.to_string()))?;
    debug_assert!(len <= MAX_FRAME_LEN);
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// Writes one frame.
pub async fn write_frame(w: &mut (impl AsyncWrite + Unpin), payload: &[u8]) -> Result<(), RemoteError> {
    let len = u32::try_from(payload.len()).map_err(|_| RemoteError::Malformed("frame too long".into()))?;
    if payload.len() > MAX_FRAME_LEN {
        return Err(RemoteError::Malformed("frame too long".into()));
    }
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(payload).await?;
    w.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_attachments_round_trip() {
        let ticket = TicketNumber::issue(42, 7).expect("ticket");
        let payload = encode(&Ask::RecordObjection { ticket: ticket.clone(), at_ms: 5 }, &[vec![1, 2, 3]]);
        let (ask, parts): (Ask, _) = decode(&payload).expect("reads");
        assert!(matches!(ask, Ask::RecordObjection { ticket: t, at_ms: 5 } if t == ticket));
        assert_eq!(parts, vec![vec![1, 2, 3]]);
        let payload = encode(&Answer::Failed { unavailable: true, message: "db".into() }, &[]);
        let (answer, parts): (Answer, _) = decode(&payload).expect("reads");
        assert!(matches!(answer, Answer::Failed { unavailable: true, .. }) && parts.is_empty());
    }

    #[test]
    fn broken_payloads_are_refused_not_trusted() {
        let good = encode(&Ask::Settings, &[vec![9; 10]]);
        let mut cases: Vec<Vec<u8>> = vec![vec![], vec![VERSION], vec![2, 0, 0, 0, 0, 2, b'{', b'}']];
        for cut in 1..good.len() {
            cases.push(good[..cut].to_vec());
        }
        let mut trailing = good.clone();
        trailing.push(0);
        cases.push(trailing);
        let mut many = good.clone();
        many[1] = u8::try_from(MAX_ATTACHMENTS + 1).expect("small");
        cases.push(many);
        let mut huge = vec![VERSION, 0];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        cases.push(huge);
        cases.push(encode(&serde_json::json!({"ask": "drop_tables"}), &[]));
        cases.push(encode(&serde_json::json!({"ask": "device_key", "prefix": 7, "extra": 1}), &[]));
        cases.push(encode(&serde_json::json!({"ask": "device_key", "prefix": 70000}), &[]));
        for bytes in cases {
            assert!(decode::<Ask>(&bytes).is_err(), "{bytes:?}");
        }
        assert!(decode::<Ask>(&good).is_ok());
    }
}
