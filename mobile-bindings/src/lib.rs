//! fieldseal-mobile: the uniffi facade the officer apps call (Kotlin on Android, Swift on iOS;
//! Python for the cross-language tests). It has no logic of its own: every rule lives in
//! `fieldseal-core`; this crate maps it to objects and records that fit those languages.
//!
//! - [`OfficerSession`]: one device store, opened with the storage key from the platform
//!   keystore: enrolment, catalogue, capture, drafts, outbox, notices, receipts, sync.
//! - [`CaptureDraft`]: the case being captured, field by field; photos go in as bytes.
//! - [`SyncListener`] and [`HttpClient`]: implemented by the app (progress; its TLS client).
//! - [`FieldsealError`]: one flat error whose cases a phone UI can act on.
//!
//! Nothing secret crosses back out: the storage key goes in and is zeroized after use, the
//! device signing key never leaves the store. The one value that must leave is the citizen's
//! access code, on the notice the printer prints.

uniffi::setup_scaffolding!();

mod draft;
mod error;
mod http;
mod records;
mod session;

pub use draft::CaptureDraft;
pub use error::FieldsealError;
pub use http::{HttpClient, HttpClientError, HttpHeader, HttpReply, HttpRequest};
pub use records::{
    CatalogueInfo, DeviceInfo, DraftTotals, NoticeLine, OffenceInfo, OutboxItem, PhotoInfo, ReceiptInfo, RejectedCase,
    SealedTicket, SyncProgress, SyncSummary, TicketNotice,
};
pub use session::{ListenerError, OfficerSession, PinnedPlatform, SessionConfig, SyncListener};
