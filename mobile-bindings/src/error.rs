//! The one error type the apps see. Each case is something a phone UI can act on; its message
//! (the core's own, which never carries case data) is what the UI shows.

use fieldseal_core::domain::CaptureError;
use fieldseal_core::photo::PhotoError;
use fieldseal_core::store::StoreError;
use fieldseal_core::sync::SyncError;

/// Why a call failed. Kotlin: `FieldsealException.<Case>`, Swift: `FieldsealError.<Case>`,
/// Python: `fieldseal_mobile.FieldsealError.<Case>`; the message says what is wrong and what to do.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum FieldsealError {
    /// A field of the case breaks a rule: show the message next to that field.
    #[error("{0}")]
    InvalidInput(String),
    /// The photo was refused (not an image, damaged, too large): take it again.
    #[error("{0}")]
    PhotoRejected(String),
    /// The draft lacks a field that every case needs.
    #[error("{0}")]
    DraftIncomplete(String),
    /// Nothing can be captured or synced before the device is enrolled.
    #[error("{0}")]
    NotEnrolled(String),
    /// The device is enrolled already; enrolment happens once per store.
    #[error("{0}")]
    AlreadyEnrolled(String),
    /// The server refused the one-time code (wrong, used or expired): ask for a new one.
    #[error("{0}")]
    EnrolmentRefused(String),
    /// The server cannot be reached: nothing is lost, try again when there is a network.
    #[error("{0}")]
    Offline(String),
    /// The server refused a request or answered something unusable.
    #[error("{0}")]
    ServerRefused(String),
    /// The enclave's attestation fails the pinned policy: do not sync, tell the administrator.
    #[error("{0}")]
    AttestationFailed(String),
    /// The storage key from the keystore does not open this device store.
    #[error("{0}")]
    WrongStorageKey(String),
    /// No draft or outbox entry with that id.
    #[error("{0}")]
    NotFound(String),
    /// The device has issued all its ticket numbers: re-enrol it.
    #[error("{0}")]
    TicketsExhausted(String),
    /// The device store failed (disk full, damaged, newer schema): the message says what to do.
    #[error("{0}")]
    Storage(String),
    /// The app's settings are unusable (pinned keys, server address, storage key length).
    #[error("{0}")]
    Configuration(String),
}

impl From<CaptureError> for FieldsealError {
    fn from(e: CaptureError) -> Self {
        Self::InvalidInput(e.to_string())
    }
}

impl From<PhotoError> for FieldsealError {
    fn from(e: PhotoError) -> Self {
        Self::PhotoRejected(e.to_string())
    }
}

impl From<StoreError> for FieldsealError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::WrongStorageKey => Self::WrongStorageKey(message),
            StoreError::NotEnrolled => Self::NotEnrolled(message),
            StoreError::AlreadyEnrolled => Self::AlreadyEnrolled(message),
            StoreError::Attestation(_) => Self::AttestationFailed(message),
            StoreError::InvalidEnrolment(_) | StoreError::Catalogue(_) | StoreError::Payee(_) => {
                Self::EnrolmentRefused(message)
            }
            StoreError::Capture(_) | StoreError::Seal(_) => Self::InvalidInput(message),
            StoreError::NoSuchDraft(_) | StoreError::NoSuchEnvelope(_) => Self::NotFound(message),
            StoreError::Receipt(_) => Self::ServerRefused(message),
            StoreError::TicketsExhausted => Self::TicketsExhausted(message),
            StoreError::Sqlite(_) | StoreError::NewerSchema { .. } | StoreError::Corrupt(_) => Self::Storage(message),
        }
    }
}

impl From<SyncError> for FieldsealError {
    fn from(e: SyncError) -> Self {
        let message = e.to_string();
        match e {
            SyncError::Network(_) => Self::Offline(message),
            SyncError::Protocol(_) | SyncError::Refused(_) => Self::ServerRefused(message),
            SyncError::Attestation(_) => Self::AttestationFailed(message),
            SyncError::Store(s) => s.into(),
        }
    }
}
