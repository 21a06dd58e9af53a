//! Plain records crossing the boundary, and their conversions from the core's types.
//! Ids and hashes travel as lower-case hex; times as Unix milliseconds (no `java.time`, so
//! Android API 24 is enough); amounts as cents.

use fieldseal_core::catalogue::{Catalogue, Offence};
use fieldseal_core::notice::Notice;
use fieldseal_core::seal::hex_lower;
use fieldseal_core::store::{DeviceIdentity, OutboxEntry};
use fieldseal_core::sync::SyncEvent;
use fieldseal_core::wire::relay::Receipt;

/// The enrolled device's public identity.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceInfo {
    /// Device id (32 hex digits).
    pub device_id: String,
    /// Ticket number prefix (0–9999) this device issues under.
    pub ticket_prefix: i32,
    /// The device's public signing key (64 hex digits); the private half never leaves the store.
    pub verifying_key: String,
}

impl From<&DeviceIdentity> for DeviceInfo {
    fn from(i: &DeviceIdentity) -> Self {
        Self {
            device_id: i.device_id.to_hex(),
            ticket_prefix: i32::from(i.device_prefix),
            verifying_key: hex_lower(&i.verifying_key.0),
        }
    }
}

/// One offence of the catalogue, for the officer's pick list.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OffenceInfo {
    /// Catalogue code (Tatbestandsnummer).
    pub code: String,
    /// German text.
    pub title_de: String,
    /// English text.
    pub title_en: String,
    /// Provisions cited.
    pub legal_basis: String,
    /// Standard fine in cents.
    pub amount_cents: i64,
    /// Whether a case with this offence needs at least one photo.
    pub photo_required: bool,
}

impl From<&Offence> for OffenceInfo {
    fn from(o: &Offence) -> Self {
        Self {
            code: o.code.clone(),
            title_de: o.title_de.clone(),
            title_en: o.title_en.clone(),
            legal_basis: o.legal_basis.clone(),
            amount_cents: long(o.amount_cents),
            photo_required: o.photo_required,
        }
    }
}

/// The verified offence catalogue received at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CatalogueInfo {
    /// Catalogue family, e.g. `de-bkat`.
    pub catalogue_id: String,
    /// Issue version.
    pub version: String,
    /// ISO 4217 currency of the amounts.
    pub currency: String,
    /// The offences.
    pub offences: Vec<OffenceInfo>,
}

impl From<&Catalogue> for CatalogueInfo {
    fn from(c: &Catalogue) -> Self {
        Self {
            catalogue_id: c.id().to_owned(),
            version: c.version().to_owned(),
            currency: c.currency().to_owned(),
            offences: c.offences().iter().map(OffenceInfo::from).collect(),
        }
    }
}

/// A photo after the pipeline (upright, downscaled, metadata stripped).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhotoInfo {
    /// Its place in the draft.
    pub index: i32,
    /// Width after processing.
    pub width: i32,
    /// Height after processing.
    pub height: i32,
    /// SHA-256 of the file as the camera wrote it (hex), recorded as evidence.
    pub sha256_original: String,
}

/// One charged offence and the total, for the screen before sealing.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DraftTotals {
    /// Codes charged, in order.
    pub offence_codes: Vec<String>,
    /// Sum in cents.
    pub total_cents: i64,
}

/// One line of the notice.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NoticeLine {
    /// Catalogue code.
    pub code: String,
    /// German text.
    pub title_de: String,
    /// English text.
    pub title_en: String,
    /// Amount in cents.
    pub amount_cents: i64,
}

/// Everything the printer puts on the windshield notice. It carries the citizen's access
/// code, which exists nowhere else: print it, do not log it.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct TicketNotice {
    /// Ticket number, grouped for reading (`0042 0000 0017 3`).
    pub ticket_number: String,
    /// The citizen's portal access code, grouped.
    pub access_code: String,
    /// The offences.
    pub lines: Vec<NoticeLine>,
    /// Total in cents.
    pub total_cents: i64,
    /// Payment deadline, `YYYY-MM-DD`.
    pub due_date: String,
    /// Portal link for the QR code (ticket number and device signature, no personal data).
    pub portal_url: String,
    /// EPC QR payload for a SEPA transfer.
    pub epc_payload: String,
    /// Payee name.
    pub payee_name: String,
    /// Payee IBAN.
    pub iban: String,
    /// The whole notice as plain text, ready for a receipt printer.
    pub text: String,
}

impl std::fmt::Debug for TicketNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketNotice")
            .field("ticket_number", &self.ticket_number)
            .field("access_code", &"<secret>")
            .field("total_cents", &self.total_cents)
            .finish_non_exhaustive()
    }
}

impl From<&Notice> for TicketNotice {
    fn from(n: &Notice) -> Self {
        Self {
            ticket_number: n.ticket_number.grouped(),
            access_code: n.access_code.grouped(),
            lines: n
                .offences
                .iter()
                .map(|o| NoticeLine {
                    code: o.code.clone(),
                    title_de: o.title_de.clone(),
                    title_en: o.title_en.clone(),
                    amount_cents: long(o.amount_cents),
                })
                .collect(),
            total_cents: long(n.total_cents),
            due_date: n.due_date.to_string(),
            portal_url: n.portal_url.clone(),
            epc_payload: n.epc_payload.clone(),
            payee_name: n.payee_name.clone(),
            iban: n.iban.clone(),
            text: n.text(),
        }
    }
}

/// A sealed case: its notice and where it waits in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SealedTicket {
    /// Outbox id (32 hex digits).
    pub envelope_id: String,
    /// Place in the device's chain (1, 2, …).
    pub sequence: i64,
    /// What to print.
    pub notice: TicketNotice,
}

/// One outbox entry, without any case data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutboxItem {
    /// Outbox id (32 hex digits).
    pub envelope_id: String,
    /// Place in the device's chain.
    pub sequence: i64,
    /// Ticket number, grouped.
    pub ticket_number: String,
    /// When it was sealed (device clock, Unix ms).
    pub created_at_ms: i64,
    /// Photos attached.
    pub photo_count: i32,
    /// Bytes still to upload when unsynced (envelope plus photos).
    pub upload_bytes: i64,
    /// When a verified receipt arrived, if one did.
    pub synced_at_ms: Option<i64>,
}

impl From<&OutboxEntry> for OutboxItem {
    fn from(e: &OutboxEntry) -> Self {
        Self {
            envelope_id: e.envelope_id.to_hex(),
            sequence: long(e.sequence),
            ticket_number: e.ticket_number.grouped(),
            created_at_ms: e.created_at_ms,
            photo_count: i32::from(e.photo_count),
            upload_bytes: long(e.upload_bytes),
            synced_at_ms: e.synced_at_ms,
        }
    }
}

/// The server's signed acknowledgement of a case, verified against the key pinned at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReceiptInfo {
    /// The envelope.
    pub envelope_id: String,
    /// Its ticket number, grouped.
    pub ticket_number: String,
    /// Its place in the chain.
    pub sequence: i64,
    /// SHA-256 of the stored envelope (hex).
    pub envelope_sha256: String,
    /// Photos the server holds for it.
    pub photo_count: i32,
    /// When the server stored it (server clock, Unix ms).
    pub stored_at_ms: i64,
    /// The server's Ed25519 signature (hex), for audits.
    pub signature: String,
}

impl From<&Receipt> for ReceiptInfo {
    fn from(r: &Receipt) -> Self {
        Self {
            envelope_id: r.envelope_id.to_hex(),
            ticket_number: r.ticket_number.grouped(),
            sequence: long(r.sequence),
            envelope_sha256: hex_lower(&r.envelope_sha256),
            photo_count: count(r.blob_sha256.len()),
            stored_at_ms: r.stored_at_ms,
            signature: hex_lower(&r.signature),
        }
    }
}

/// A case the server refused for good; it stays in the outbox for a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RejectedCase {
    /// The envelope.
    pub envelope_id: String,
    /// The server's reason code (`gap`, `fork`, `bad_signature`, …).
    pub code: String,
    /// The server's message.
    pub message: String,
}

/// What one sync achieved.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// Cases that got a verified receipt in this sync.
    pub synced: i32,
    /// Cases the server refused for good.
    pub rejected: Vec<RejectedCase>,
    /// Cases still waiting for a receipt.
    pub unsynced: i32,
}

/// Progress of a sync, for a progress bar. Never carries case data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncProgress {
    /// The attestation held and this many cases wait for a receipt.
    Started {
        /// Cases to sync.
        pending: i32,
    },
    /// A batch of envelopes went up.
    BatchSent {
        /// Envelopes in it.
        envelopes: i32,
    },
    /// Bytes of a photo went up.
    PhotoUploaded {
        /// The envelope.
        envelope_id: String,
        /// Photo index.
        photo_index: i32,
        /// Bytes the server holds.
        sent_bytes: i64,
        /// Photo size.
        total_bytes: i64,
    },
    /// A verified receipt marked a case synced.
    Synced {
        /// The envelope.
        envelope_id: String,
        /// Cases synced so far.
        done: i32,
        /// Cases this sync started with.
        pending: i32,
    },
    /// The server refused a case for good.
    Rejected {
        /// The envelope.
        envelope_id: String,
        /// Reason code.
        code: String,
    },
    /// A passing failure; the sync waits and tries again.
    Retrying {
        /// Attempt that failed (1-based).
        attempt: i32,
        /// Wait before the next one, in ms.
        delay_ms: i64,
        /// What failed.
        reason: String,
    },
}

/// A count or index for the boundary: Kotlin's `Int` (saturating; counts here are far below 2^31).
pub(crate) fn count(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// Cents, bytes, sequence numbers for the boundary: Kotlin's `Long` (saturating; far below 2^63).
pub(crate) fn long(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

impl From<SyncEvent> for SyncProgress {
    fn from(e: SyncEvent) -> Self {
        match e {
            SyncEvent::Started { pending } => Self::Started { pending: count(pending) },
            SyncEvent::BatchSent { envelopes } => Self::BatchSent { envelopes: count(envelopes) },
            SyncEvent::BlobProgress { envelope_id, index, sent, total } => Self::PhotoUploaded {
                envelope_id: envelope_id.to_hex(),
                photo_index: i32::from(index),
                sent_bytes: long(sent),
                total_bytes: long(total),
            },
            SyncEvent::Synced { envelope_id, done, pending } => {
                Self::Synced { envelope_id: envelope_id.to_hex(), done: count(done), pending: count(pending) }
            }
            SyncEvent::Rejected { envelope_id, code } => {
                Self::Rejected { envelope_id: envelope_id.to_hex(), code: code.as_str().to_owned() }
            }
            SyncEvent::Retrying { attempt, delay, reason } => {
                Self::Retrying { attempt: count(attempt), delay_ms: long(delay.as_millis()), reason }
            }
        }
    }
}
