//! The officer's session: one device store, its enrolment, capture, outbox and sync.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot};
use fieldseal_core::seal::VerifyingKey;
use fieldseal_core::store::{DeviceStore, StorageKey};
use fieldseal_core::sync::{self, SyncOptions, Transport};
use fieldseal_core::wire::envelope::Id16;
use zeroize::{Zeroize as _, Zeroizing};

use crate::draft::{CaptureDraft, DraftState, lock};
use crate::error::FieldsealError;
use crate::http::{HttpClient, transport};
use crate::records::{
    CatalogueInfo, DeviceInfo, DraftTotals, OutboxItem, ReceiptInfo, RejectedCase, SealedTicket, SyncProgress,
    SyncSummary, TicketNotice, count, long,
};

/// A platform attestation key the app trusts, and the platform it speaks for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PinnedPlatform {
    /// Platform name (`aws-nitro`, …; `simulated` only in development builds).
    pub platform: String,
    /// Its Ed25519 attestation key, 64 hex digits.
    pub key_hex: String,
}

/// What the app ships with: where the server is and which enclaves it trusts.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionConfig {
    /// Path of the device store file (created if missing), in the app's private storage.
    pub store_path: String,
    /// Server address, e.g. `https://relay.example.org`.
    pub server_url: String,
    /// Platform attestation keys the app trusts.
    pub pinned_platforms: Vec<PinnedPlatform>,
    /// Enclave builds the app accepts: SHA-256 measurements, 64 hex digits each.
    pub pinned_measurements: Vec<String>,
    /// Accept the simulated platform (development and tests only, never in a release build).
    #[uniffi(default = false)]
    pub accept_simulated: bool,
    /// Time limit of one HTTP request of the built-in client, in ms.
    #[uniffi(default = 30000)]
    pub request_timeout_ms: i32,
    /// Attempts per request before a sync stops for now (back-off doubles from 250 ms).
    #[uniffi(default = 6)]
    pub sync_attempts: i32,
}

/// Called with sync progress. Calls come from a thread of their own, in order, and all of
/// them before `sync` returns. The listener may call the session without a deadlock, but those
/// calls wait until the sync is done (the sync holds the store); the events carry what a
/// progress bar needs.
#[uniffi::export(foreign)]
pub trait SyncListener: Send + Sync {
    /// One step of the sync. What it throws is logged; the sync and later events go on.
    fn on_progress(&self, progress: SyncProgress) -> Result<(), ListenerError>;
}

/// A listener failed; the sync does not stop for it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener threw.
    #[error("{reason}")]
    Failed {
        /// What it threw.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

fn hex32(s: &str, what: &str) -> Result<[u8; 32], FieldsealError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .map_err(|_| FieldsealError::Configuration(format!("{what} must be 64 hex digits")))?;
    Ok(out)
}

fn policy(config: &SessionConfig) -> Result<AttestationPolicy, FieldsealError> {
    let roots = config
        .pinned_platforms
        .iter()
        .map(|p| {
            Ok(PinnedRoot {
                platform: p.platform.clone(),
                key: VerifyingKey(hex32(&p.key_hex, "a pinned platform key")?),
            })
        })
        .collect::<Result<Vec<_>, FieldsealError>>()?;
    let measurements =
        config.pinned_measurements.iter().map(|m| hex32(m, "a pinned measurement")).collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() || measurements.is_empty() {
        return Err(FieldsealError::Configuration(
            "pin at least one platform key and one enclave measurement; without them no enclave can be trusted".into(),
        ));
    }
    Ok(AttestationPolicy { roots, measurements, accept_simulated: config.accept_simulated })
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

fn envelope_id(hex: &str) -> Result<Id16, FieldsealError> {
    Id16::from_hex(hex.trim())
        .ok_or_else(|| FieldsealError::NotFound(format!("{hex:?} is not an outbox id (32 hex digits)")))
}

/// The officer's device: enrolment, catalogue, capture, outbox and sync over one store.
/// Safe to share between threads; calls on one session run one at a time.
#[derive(uniffi::Object)]
pub struct OfficerSession {
    store: Mutex<DeviceStore>,
    transport: Box<dyn Transport + Send + Sync>,
    policy: AttestationPolicy,
    options: SyncOptions,
}

impl OfficerSession {
    fn open_inner(
        config: SessionConfig,
        storage_key: Vec<u8>,
        client: Option<Arc<dyn HttpClient>>,
    ) -> Result<Arc<Self>, FieldsealError> {
        let mut storage_key = Zeroizing::new(storage_key);
        let key: [u8; 32] = storage_key.as_slice().try_into().map_err(|_| {
            FieldsealError::Configuration(format!(
                "the storage key must be 32 bytes from the platform keystore (got {})",
                storage_key.len()
            ))
        })?;
        storage_key.zeroize();
        let key = StorageKey::from_bytes(key);
        let policy = policy(&config)?;
        let timeout = Duration::from_millis(u64::from(config.request_timeout_ms.max(1000).unsigned_abs()));
        let transport = transport(&config.server_url, client, timeout)?;
        let store = DeviceStore::open(&PathBuf::from(&config.store_path), key)?;
        let options =
            SyncOptions { max_attempts: config.sync_attempts.clamp(1, 20).unsigned_abs(), ..SyncOptions::default() };
        Ok(Arc::new(Self { store: Mutex::new(store), transport, policy, options }))
    }
}

#[uniffi::export]
impl OfficerSession {
    /// Opens (or creates) the device store with the storage key the platform keystore holds
    /// (32 bytes), using the built-in client for an `http://` server.
    #[uniffi::constructor]
    pub fn open(config: SessionConfig, storage_key: Vec<u8>) -> Result<Arc<Self>, FieldsealError> {
        Self::open_inner(config, storage_key, None)
    }

    /// As `open`, with the app's own HTTP client (needed for `https://`).
    #[uniffi::constructor]
    pub fn open_with_client(
        config: SessionConfig,
        storage_key: Vec<u8>,
        client: Arc<dyn HttpClient>,
    ) -> Result<Arc<Self>, FieldsealError> {
        Self::open_inner(config, storage_key, Some(client))
    }

    /// The device identity, once enrolled.
    pub fn device(&self) -> Option<DeviceInfo> {
        lock(&self.store).identity().map(DeviceInfo::from)
    }

    /// Enrols this device with a one-time code from the administrator: makes the device key,
    /// registers its public half, and checks the enclave attestation against the pinned policy.
    pub fn enrol(&self, one_time_code: String) -> Result<DeviceInfo, FieldsealError> {
        let mut code = one_time_code;
        let mut store = lock(&self.store);
        let result = sync::enrol(&mut store, self.transport.as_ref(), &code, &self.policy, now_ms());
        code.zeroize();
        match result {
            Ok(identity) => Ok(DeviceInfo::from(&identity)),
            Err(sync::SyncError::Refused(why)) => Err(FieldsealError::EnrolmentRefused(format!(
                "the server refused the enrolment: {why}; ask the administrator for a new one-time code"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// The offence catalogue received (and verified) at enrolment.
    pub fn catalogue(&self) -> Result<CatalogueInfo, FieldsealError> {
        Ok(CatalogueInfo::from(lock(&self.store).catalogue()?))
    }

    /// Fetches the server's offence catalogue and adopts it if it is a newer issue signed by
    /// the issuer pinned at enrolment (an older one is refused). Returns the catalogue now held.
    pub fn refresh_catalogue(&self) -> Result<CatalogueInfo, FieldsealError> {
        let mut store = lock(&self.store);
        sync::refresh_catalogue(&mut store, self.transport.as_ref())?;
        Ok(CatalogueInfo::from(store.catalogue()?))
    }

    /// Checks a draft against the catalogue rules without sealing it; returns the total.
    pub fn validate(&self, draft: Arc<CaptureDraft>) -> Result<DraftTotals, FieldsealError> {
        let case = lock(&draft.state).to_case()?;
        let store = lock(&self.store);
        let charged = case.validate(store.catalogue()?)?;
        Ok(DraftTotals {
            offence_codes: charged.iter().map(|c| c.code.clone()).collect(),
            total_cents: long(charged.iter().map(|c| c.amount_cents).sum::<u64>()),
        })
    }

    /// Seals the draft to the enclave key, signs it, numbers it and puts it in the outbox, all
    /// in one transaction; works offline. Returns the notice to print. The draft is spent:
    /// sealing it again is refused (a double tap cannot issue two tickets).
    pub fn capture(&self, draft: Arc<CaptureDraft>) -> Result<SealedTicket, FieldsealError> {
        let mut state = lock(&draft.state);
        let case = state.to_case()?;
        let mut store = lock(&self.store);
        let sealed = match state.stored_id {
            Some(id) => store.seal_edited_draft(id, &case)?,
            None => store.capture(case)?,
        };
        state.mark_sealed(sealed.notice.ticket_number.grouped());
        Ok(SealedTicket {
            envelope_id: sealed.envelope_id.to_hex(),
            sequence: long(sealed.sequence),
            notice: TicketNotice::from(&sealed.notice),
        })
    }

    /// Saves the draft (encrypted) so an interrupted capture survives the app being killed;
    /// returns its id. Saving again updates it.
    pub fn save_draft(&self, draft: Arc<CaptureDraft>) -> Result<i64, FieldsealError> {
        let mut state = lock(&draft.state);
        let case = state.to_case()?;
        let mut store = lock(&self.store);
        let id = match state.stored_id {
            Some(id) => {
                store.update_draft(id, &case)?;
                id
            }
            None => store.save_draft(&case)?,
        };
        state.stored_id = Some(id);
        Ok(id)
    }

    /// Ids of the saved drafts, oldest first.
    pub fn saved_drafts(&self) -> Result<Vec<i64>, FieldsealError> {
        Ok(lock(&self.store).draft_ids()?)
    }

    /// Opens a saved draft to go on with it.
    pub fn open_draft(&self, id: i64) -> Result<Arc<CaptureDraft>, FieldsealError> {
        let case = lock(&self.store).load_draft(id)?;
        Ok(CaptureDraft::from_state(DraftState::from_case(case, id)))
    }

    /// Deletes a saved draft.
    pub fn discard_draft(&self, id: i64) -> Result<(), FieldsealError> {
        Ok(lock(&self.store).discard_draft(id)?)
    }

    /// Every sealed case, oldest first, synced or not.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>, FieldsealError> {
        Ok(lock(&self.store).outbox()?.iter().map(OutboxItem::from).collect())
    }

    /// The cases still waiting for a verified receipt, oldest first.
    pub fn unsynced(&self) -> Result<Vec<OutboxItem>, FieldsealError> {
        Ok(lock(&self.store).unsynced()?.iter().map(OutboxItem::from).collect())
    }

    /// The notice of a sealed case again (a jammed printer, the app killed after sealing).
    pub fn notice(&self, envelope_id: String) -> Result<TicketNotice, FieldsealError> {
        let id = self::envelope_id(&envelope_id)?;
        Ok(TicketNotice::from(&lock(&self.store).notice(&id)?))
    }

    /// The server's verified receipt for a case, once it is synced.
    pub fn receipt(&self, envelope_id: String) -> Result<Option<ReceiptInfo>, FieldsealError> {
        let id = self::envelope_id(&envelope_id)?;
        Ok(lock(&self.store).receipt(&id)?.as_ref().map(ReceiptInfo::from))
    }

    /// Checks the enclave's current attestation against the pinned policy (the sync does this
    /// itself first).
    pub fn check_enclave(&self) -> Result<(), FieldsealError> {
        let store = lock(&self.store);
        Ok(sync::check_attestation(&store, self.transport.as_ref(), &self.policy, now_ms())?)
    }

    /// Uploads the outbox: re-checks the enclave attestation, sends the cases in order,
    /// resumes photo uploads, and marks each case synced only on a verified receipt. Reports
    /// progress to `listener`. Failing for want of network loses nothing: call it again later.
    pub fn sync(&self, listener: Arc<dyn SyncListener>) -> Result<SyncSummary, FieldsealError> {
        let (tx, rx) = mpsc::channel::<SyncProgress>();
        // The listener runs on a thread of its own, so it may call the session (which this
        // sync holds) without a deadlock; a listener that throws does not stop the sync.
        let delivery = std::thread::spawn(move || {
            for progress in rx {
                if let Err(e) = listener.on_progress(progress) {
                    tracing::warn!(error = %e, "the sync progress listener failed");
                }
            }
        });
        let result = {
            let mut store = lock(&self.store);
            sync::check_attestation(&store, self.transport.as_ref(), &self.policy, now_ms()).and_then(|()| {
                let mut on_event = |e| {
                    let _ = tx.send(SyncProgress::from(e));
                };
                sync::sync_outbox(&mut store, self.transport.as_ref(), &self.options, &mut on_event)
            })
        };
        drop(tx);
        let _ = delivery.join();
        let report = result?;
        Ok(SyncSummary {
            synced: count(report.synced),
            rejected: report
                .rejected
                .iter()
                .map(|(id, code, message)| RejectedCase {
                    envelope_id: id.to_hex(),
                    code: code.as_str().to_owned(),
                    message: message.clone(),
                })
                .collect(),
            unsynced: count(report.unsynced),
        })
    }
}
