//! The device store: one SQLite file (WAL, one writer) holding enrolment, the wrapped signing
//! key, encrypted drafts, the sequence chain and the outbox. Every state change is one
//! transaction, so the store survives being killed at any instant.

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::attestation::{AttestationError, AttestationPolicy};
use crate::capture::{CaseDraft, ChainPosition, SealContext, SealDraftError, seal_draft};
use crate::catalogue::{Catalogue, CatalogueError, SignedCatalogue};
use crate::domain::{CaptureError, ObservedAt, Place, Vehicle};
use crate::hazmat;
use crate::notice::{EpcError, Notice, PayeeConfig};
use crate::photo::ProcessedPhoto;
use crate::seal::{self, EnclavePublicKey, SigningKey, VerifyingKey};
use crate::ticket::{TicketError, TicketNumber};
use crate::wire::envelope::{self, Id16};
use crate::wire::relay::{Receipt, ReceiptError};

pub use crate::store_integrity::IntegrityReport;

/// Schema migrations, applied in order; `PRAGMA user_version` counts how many ran.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE store_meta ( -- one row: when the store was made, and a value proving the storage key
    id INTEGER PRIMARY KEY CHECK (id = 1),
    created_at_ms INTEGER NOT NULL,
    key_check BLOB NOT NULL -- nonce || ChaCha20-Poly1305 of a constant under the store's key
);
CREATE TABLE enrolment ( -- one row once the device is enrolled
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id BLOB NOT NULL CHECK (length(device_id) = 16),
    device_prefix INTEGER NOT NULL CHECK (device_prefix BETWEEN 0 AND 9999),
    signing_key_wrapped BLOB NOT NULL, -- nonce || AEAD(seed) under a key derived from the storage key
    verifying_key BLOB NOT NULL CHECK (length(verifying_key) = 32),
    config_sealed BLOB NOT NULL, -- nonce || AEAD(enclave key, issuer key, catalogue, payee): tamper-evident
    enrolled_at_ms INTEGER NOT NULL
);
CREATE TABLE chain ( -- one row: where the next envelope goes in this device's hash chain
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_sequence INTEGER NOT NULL CHECK (next_sequence >= 1),
    head_hash BLOB NOT NULL CHECK (length(head_hash) = 32)
);
CREATE TABLE drafts ( -- cases being captured; the body is encrypted under the storage key
    id INTEGER PRIMARY KEY,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE draft_photos ( -- processed photos of a draft, each encrypted under the storage key
    draft_id INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (draft_id, idx)
);
CREATE TABLE outbox ( -- sealed envelopes; only a verified receipt may set synced_at_ms
    envelope_id BLOB PRIMARY KEY CHECK (length(envelope_id) = 16),
    sequence INTEGER NOT NULL UNIQUE,
    ticket_number TEXT NOT NULL UNIQUE,
    envelope BLOB NOT NULL,
    envelope_hash BLOB NOT NULL CHECK (length(envelope_hash) = 32),
    photo_count INTEGER NOT NULL,
    notice_sealed BLOB NOT NULL, -- the printed notice (with the access code), encrypted for reprints
    created_at_ms INTEGER NOT NULL,
    synced_at_ms INTEGER,
    receipt BLOB
);
CREATE TABLE outbox_blobs ( -- sealed photo blobs of an outbox envelope
    envelope_id BLOB NOT NULL REFERENCES outbox(envelope_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    blob BLOB NOT NULL,
    PRIMARY KEY (envelope_id, idx)
);
"#];

const KEY_CHECK_PLAINTEXT: &[u8] = b"fieldseal device store key check v1";

/// The 32-byte key the platform keystore hands in (Android Keystore / iOS Keychain).
/// Never stored by fieldseal; zeroized on drop; never printed.
pub struct StorageKey(Zeroizing<[u8; 32]>);

impl StorageKey {
    /// Wraps key bytes from the platform keystore.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// A fresh random key (for platforms that generate it here and keep it in their keystore).
    pub fn make_random() -> Self {
        Self(Zeroizing::new(hazmat::random_array()))
    }

    /// A key derived for one purpose (HKDF-SHA256); different purposes give unrelated keys.
    pub fn subkey(&self, purpose: &[u8]) -> Zeroizing<[u8; 32]> {
        hazmat::derive_key(self.0.as_ref(), purpose)
    }

    /// Encrypts a value at rest under the subkey for `purpose`, bound to `aad`
    /// (ChaCha20-Poly1305, random nonce stored first).
    pub fn encrypt(&self, purpose: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let nonce = hazmat::random_array::<12>();
        let mut out = nonce.to_vec();
        out.extend(hazmat::aead_seal(&self.subkey(purpose), &nonce, aad, plaintext));
        out
    }

    /// Decrypts what [`StorageKey::encrypt`] made with the same purpose and `aad`.
    pub fn decrypt(&self, purpose: &[u8], aad: &[u8], stored: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        if stored.len() < 12 + 16 {
            return Err(corrupt("an encrypted value is truncated"));
        }
        let nonce: [u8; 12] = stored[..12].try_into().expect("length checked");
        hazmat::aead_open(&self.subkey(purpose), &nonce, aad, &stored[12..]).map_err(|_| StoreError::WrongStorageKey)
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StorageKey(<secret>)")
    }
}

pub use crate::wire::relay::Enrolment;

/// The device's public identity after enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Device id.
    pub device_id: Id16,
    /// Ticket number prefix.
    pub device_prefix: u16,
    /// Public key the server registers.
    pub verifying_key: VerifyingKey,
}

/// A store failure, with what to do next where there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (disk full, file damaged, …).
    #[error("the device database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The storage key does not open this store.
    #[error("the storage key does not open this device store (wrong keystore entry?)")]
    WrongStorageKey,
    /// The store is from a newer app.
    #[error("the device store has schema version {found}; this app knows up to {known}: update the app")]
    NewerSchema { found: u32, known: u32 },
    /// Nothing can be sealed before enrolment.
    #[error("the device is not enrolled yet: enrol it with a one-time code first")]
    NotEnrolled,
    /// The enrolment data is unusable.
    #[error("the enrolment is invalid: {0}")]
    InvalidEnrolment(&'static str),
    /// Enrolment happens once per store.
    #[error("the device is already enrolled")]
    AlreadyEnrolled,
    /// The enclave attestation was refused: nothing may be sealed to that key.
    #[error(transparent)]
    Attestation(#[from] AttestationError),
    /// The catalogue was refused.
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// The payee settings were refused.
    #[error("the payee settings are invalid: {0}")]
    Payee(#[from] EpcError),
    /// The draft breaks a rule.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Sealing refused.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// No draft with that id.
    #[error("there is no draft {0}")]
    NoSuchDraft(i64),
    /// No outbox entry with that id.
    #[error("there is no outbox entry {0}")]
    NoSuchEnvelope(Id16),
    /// A receipt was refused: the case stays unsynced and is uploaded again.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The device has used up its ticket numbers.
    #[error("this device has issued all its ticket numbers: re-enrol it to get a new prefix")]
    TicketsExhausted,
    /// The stored data is inconsistent (a bug or tampering).
    #[error("the device store is inconsistent: {0}")]
    Corrupt(String),
}

impl From<SealDraftError> for StoreError {
    fn from(e: SealDraftError) -> Self {
        match e {
            SealDraftError::Capture(c) => Self::Capture(c),
            SealDraftError::Seal(s) => Self::Seal(s),
            SealDraftError::Payee(p) => Self::Payee(p),
        }
    }
}

const SIGNING_KEY_PURPOSE: &[u8] = b"fieldseal/store/signing-key/v1";
const CONFIG_PURPOSE: &[u8] = b"fieldseal/store/enrolment/v1";
const NOTICE_PURPOSE: &[u8] = b"fieldseal/store/notice/v1";

/// Enrolment settings, sealed under the storage key so they cannot be altered at rest.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolmentConfig {
    enclave_key: [u8; 32],
    issuer_key: [u8; 32],
    catalogue: SignedCatalogue,
    payee: PayeeConfig,
    receipt_key: [u8; 32],
}

impl EnrolmentConfig {
    fn issuer_key(&self) -> VerifyingKey {
        VerifyingKey(self.issuer_key)
    }
}

/// The clear enrolment columns, bound to the sealed settings as associated data.
fn config_aad(identity: &DeviceIdentity) -> Vec<u8> {
    let mut aad = identity.device_id.0.to_vec();
    aad.extend(identity.device_prefix.to_be_bytes());
    aad.extend(identity.verifying_key.0);
    aad
}

/// Enrolment state held in memory while the store is open.
pub(crate) struct Enrolled {
    pub(crate) identity: DeviceIdentity,
    signing_key: SigningKey,
    enclave_key: EnclavePublicKey,
    catalogue: Catalogue,
    payee: PayeeConfig,
    receipt_key: VerifyingKey,
    issuer_key: VerifyingKey,
}

/// A case that was sealed: what to print, and where it sits in the outbox.
#[derive(Debug, Clone)]
pub struct SealedTicket {
    /// The notice to print.
    pub notice: Notice,
    /// The outbox entry.
    pub envelope_id: Id16,
    /// Its sequence number.
    pub sequence: u64,
}

/// One outbox row, without the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Envelope id.
    pub envelope_id: Id16,
    /// Sequence number.
    pub sequence: u64,
    /// Ticket number.
    pub ticket_number: TicketNumber,
    /// When it was sealed (device clock).
    pub created_at_ms: i64,
    /// Number of photo blobs.
    pub photo_count: u16,
    /// Envelope plus blob bytes to upload.
    pub upload_bytes: u64,
    /// When a verified receipt arrived.
    pub synced_at_ms: Option<i64>,
}

/// Draft fields as stored (encrypted) in the drafts table.
#[derive(Serialize, Deserialize)]
struct DraftBody {
    vehicle: Vehicle,
    offence_codes: Vec<String>,
    place: Place,
    observed_at: ObservedAt,
    notes: String,
    photos: Vec<DraftPhotoMeta>,
}

#[derive(Serialize, Deserialize)]
struct DraftPhotoMeta {
    width: u32,
    height: u32,
    sha256_original: [u8; 32],
    sha256_processed: [u8; 32],
}

/// The officer device's store. Holds the only writer connection.
pub struct DeviceStore {
    pub(crate) conn: Connection,
    storage_key: StorageKey,
    pub(crate) enrolled: Option<Enrolled>,
}

impl fmt::Debug for DeviceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceStore").field("enrolled", &self.enrolled.as_ref().map(|e| &e.identity)).finish()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

pub(crate) fn array<const N: usize>(v: Vec<u8>, what: &str) -> Result<[u8; N], StoreError> {
    v.try_into().map_err(|_| corrupt(format!("{what} has the wrong length")))
}

impl DeviceStore {
    /// Opens (or creates) the store at `path` with the platform's storage key.
    pub fn open(path: &Path, storage_key: StorageKey) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        let mut store = Self { conn, storage_key, enrolled: None };
        store.check_or_set_key()?;
        store.enrolled = store.load_enrolment()?;
        Ok(store)
    }

    fn check_or_set_key(&mut self) -> Result<(), StoreError> {
        let existing: Option<Vec<u8>> =
            self.conn.query_row("SELECT key_check FROM store_meta WHERE id = 1", [], |r| r.get(0)).optional()?;
        match existing {
            Some(check) => {
                let plain = self.storage_key.decrypt(b"fieldseal/store/key-check/v1", b"", &check)?;
                if plain.as_slice() != KEY_CHECK_PLAINTEXT {
                    return Err(StoreError::WrongStorageKey);
                }
            }
            None => {
                let check = self.storage_key.encrypt(b"fieldseal/store/key-check/v1", b"", KEY_CHECK_PLAINTEXT);
                self.conn.execute(
                    "INSERT INTO store_meta (id, created_at_ms, key_check) VALUES (1, ?1, ?2)",
                    params![now_ms(), check],
                )?;
            }
        }
        Ok(())
    }

    fn load_enrolment(&self) -> Result<Option<Enrolled>, StoreError> {
        /// device_id, device_prefix, signing_key_wrapped, verifying_key, config_sealed
        type Row = (Vec<u8>, u16, Vec<u8>, Vec<u8>, Vec<u8>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT device_id, device_prefix, signing_key_wrapped, verifying_key, config_sealed
                 FROM enrolment WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?;
        let Some((device_id, device_prefix, wrapped, vk, sealed)) = row else {
            return Ok(None);
        };
        let identity = DeviceIdentity {
            device_id: Id16(array(device_id, "device id")?),
            device_prefix,
            verifying_key: VerifyingKey(array(vk, "verifying key")?),
        };
        // The storage key was proven by the key check already: a failure here means tampering.
        let seed = self
            .storage_key
            .decrypt(SIGNING_KEY_PURPOSE, &identity.device_id.0, &wrapped)
            .map_err(|_| corrupt("the wrapped signing key was altered"))?;
        let seed: &[u8; 32] = seed.as_slice().try_into().map_err(|_| corrupt("signing key has the wrong length"))?;
        let signing_key = SigningKey::from_seed(seed);
        if signing_key.verifying_key() != identity.verifying_key {
            return Err(corrupt("the signing key does not match the registered public key"));
        }
        // Any change to the enrolment row (including the clear columns, bound as associated
        // data) makes this fail: a file writer cannot swap the enclave key or the IBAN.
        let config = self
            .storage_key
            .decrypt(CONFIG_PURPOSE, &config_aad(&identity), &sealed)
            .map_err(|_| corrupt("the enrolment settings were altered"))?;
        let config: EnrolmentConfig =
            serde_json::from_slice(&config).map_err(|_| corrupt("the enrolment settings are unreadable"))?;
        let catalogue = config.catalogue.verify(&config.issuer_key())?;
        Ok(Some(Enrolled {
            identity,
            signing_key,
            enclave_key: EnclavePublicKey(config.enclave_key),
            catalogue,
            payee: config.payee,
            receipt_key: VerifyingKey(config.receipt_key),
            issuer_key: VerifyingKey(config.issuer_key),
        }))
    }

    /// Enrols the device: verifies the enclave attestation against the app's pinned policy,
    /// the catalogue and the payee settings, and stores `signing_key` (the key whose public
    /// half the server registered against the one-time code) wrapped under the storage key.
    pub fn enrol(
        &mut self,
        enrolment: Enrolment,
        signing_key: SigningKey,
        policy: &AttestationPolicy,
        now: i64,
    ) -> Result<DeviceIdentity, StoreError> {
        if self.enrolled.is_some() {
            return Err(StoreError::AlreadyEnrolled);
        }
        if enrolment.device_prefix > crate::ticket::MAX_DEVICE_PREFIX {
            return Err(StoreError::InvalidEnrolment("the device prefix must be 0 to 9999"));
        }
        let attested = enrolment.attestation.verify(policy, now)?;
        if attested.is_simulated() {
            tracing::warn!("enrolling against a SIMULATED enclave attestation platform");
        }
        let catalogue = enrolment.catalogue.verify(&enrolment.issuer_key)?;
        enrolment.payee.validate()?;
        let identity = DeviceIdentity {
            device_id: enrolment.device_id,
            device_prefix: enrolment.device_prefix,
            verifying_key: signing_key.verifying_key(),
        };
        let wrapped =
            self.storage_key.encrypt(SIGNING_KEY_PURPOSE, &identity.device_id.0, signing_key.to_seed().as_ref());
        let config = EnrolmentConfig {
            enclave_key: attested.public_key.0,
            issuer_key: enrolment.issuer_key.0,
            catalogue: enrolment.catalogue,
            payee: enrolment.payee.clone(),
            receipt_key: enrolment.receipt_key.0,
        };
        let config_json = Zeroizing::new(serde_json::to_vec(&config).expect("enrolment settings serialise"));
        let sealed = self.storage_key.encrypt(CONFIG_PURPOSE, &config_aad(&identity), &config_json);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO enrolment (id, device_id, device_prefix, signing_key_wrapped, verifying_key, config_sealed,
                                    enrolled_at_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![identity.device_id.0, identity.device_prefix, wrapped, identity.verifying_key.0, sealed, now_ms()],
        )?;
        tx.execute("INSERT INTO chain (id, next_sequence, head_hash) VALUES (1, 1, ?1)", params![[0u8; 32]])?;
        tx.commit()?;
        self.enrolled = Some(Enrolled {
            identity: identity.clone(),
            signing_key,
            enclave_key: attested.public_key,
            catalogue,
            payee: enrolment.payee,
            receipt_key: enrolment.receipt_key,
            issuer_key: enrolment.issuer_key,
        });
        Ok(identity)
    }

    fn enrolled(&self) -> Result<&Enrolled, StoreError> {
        self.enrolled.as_ref().ok_or(StoreError::NotEnrolled)
    }

    /// The device identity, once enrolled.
    pub fn identity(&self) -> Option<&DeviceIdentity> {
        self.enrolled.as_ref().map(|e| &e.identity)
    }

    /// The verified offence catalogue.
    pub fn catalogue(&self) -> Result<&Catalogue, StoreError> {
        Ok(&self.enrolled()?.catalogue)
    }

    /// Replaces the catalogue with a newer issue of the same family, signed by the issuer
    /// pinned at enrolment. Returns whether it changed; the same version changes nothing, and
    /// an older one (a rollback), another family or a bad signature are refused.
    pub fn update_catalogue(&mut self, signed: SignedCatalogue) -> Result<bool, StoreError> {
        let enrolled = self.enrolled()?;
        let offered = signed.verify(&enrolled.issuer_key)?;
        if !enrolled.catalogue.accepts_update(&offered)? {
            return Ok(false);
        }
        let config = EnrolmentConfig {
            enclave_key: enrolled.enclave_key.0,
            issuer_key: enrolled.issuer_key.0,
            catalogue: signed,
            payee: enrolled.payee.clone(),
            receipt_key: enrolled.receipt_key.0,
        };
        let config_json = Zeroizing::new(serde_json::to_vec(&config).expect("enrolment settings serialise"));
        let sealed = self.storage_key.encrypt(CONFIG_PURPOSE, &config_aad(&enrolled.identity), &config_json);
        self.conn.execute("UPDATE enrolment SET config_sealed = ?1 WHERE id = 1", [sealed])?;
        tracing::info!(catalogue = offered.id(), version = offered.version(), "offence catalogue updated");
        if let Some(e) = self.enrolled.as_mut() {
            e.catalogue = offered;
        }
        Ok(true)
    }

    /// The enclave key cases are sealed to (attested at enrolment).
    pub fn enclave_key(&self) -> Result<EnclavePublicKey, StoreError> {
        Ok(self.enrolled()?.enclave_key)
    }

    /// Saves a new draft (encrypted) and returns its id.
    pub fn save_draft(&mut self, draft: &CaseDraft) -> Result<i64, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_ms();
        tx.execute("INSERT INTO drafts (created_at_ms, updated_at_ms, body) VALUES (?1, ?1, x'')", params![now])?;
        let id = tx.last_insert_rowid();
        write_draft(&tx, &self.storage_key, id, draft)?;
        tx.commit()?;
        Ok(id)
    }

    /// Replaces a draft's content.
    pub fn update_draft(&mut self, id: i64, draft: &CaseDraft) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = tx.execute("UPDATE drafts SET updated_at_ms = ?2 WHERE id = ?1", params![id, now_ms()])?;
        if n == 0 {
            return Err(StoreError::NoSuchDraft(id));
        }
        write_draft(&tx, &self.storage_key, id, draft)?;
        tx.commit()?;
        Ok(())
    }

    /// Loads a draft.
    pub fn load_draft(&self, id: i64) -> Result<CaseDraft, StoreError> {
        let body: Vec<u8> = self
            .conn
            .query_row("SELECT body FROM drafts WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoSuchDraft(id))?;
        let plain = self.storage_key.decrypt(b"fieldseal/store/draft/v1", &draft_aad(id, None), &body)?;
        let b: DraftBody = serde_json::from_slice(&plain).map_err(|_| corrupt("a draft is unreadable"))?;
        let mut photos = Vec::with_capacity(b.photos.len());
        let mut stmt = self.conn.prepare("SELECT idx, body FROM draft_photos WHERE draft_id = ?1 ORDER BY idx")?;
        let rows = stmt.query_map([id], |r| Ok((r.get::<_, u16>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let rows = rows.collect::<Result<Vec<_>, _>>()?;
        if rows.len() != b.photos.len() {
            return Err(corrupt("a draft's photos do not match its record"));
        }
        for ((idx, enc), meta) in rows.into_iter().zip(&b.photos) {
            let jpeg = self.storage_key.decrypt(b"fieldseal/store/draft/v1", &draft_aad(id, Some(idx)), &enc)?;
            photos.push(ProcessedPhoto {
                jpeg,
                width: meta.width,
                height: meta.height,
                sha256_original: meta.sha256_original,
                sha256_processed: meta.sha256_processed,
            });
        }
        Ok(CaseDraft {
            vehicle: b.vehicle,
            offence_codes: b.offence_codes,
            place: b.place,
            observed_at: b.observed_at,
            notes: b.notes,
            photos,
        })
    }

    /// Ids of the drafts not yet sealed, oldest first.
    pub fn draft_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id FROM drafts ORDER BY id")?;
        let ids = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Deletes a draft without sealing it.
    pub fn discard_draft(&mut self, id: i64) -> Result<(), StoreError> {
        let n = self.conn.execute("DELETE FROM drafts WHERE id = ?1", [id])?;
        if n == 0 { Err(StoreError::NoSuchDraft(id)) } else { Ok(()) }
    }

    /// Seals a stored draft: ticket number, envelope, outbox row and draft deletion in one
    /// transaction. The draft's plaintext buffers are zeroized when this returns.
    pub fn seal_draft(&mut self, id: i64) -> Result<SealedTicket, StoreError> {
        let draft = self.load_draft(id)?;
        self.seal_inner(&draft, Some(id))
    }

    /// Seals stored draft `id` as edited in memory (`draft`), and deletes the stored copy, in
    /// one transaction: the edits are not written to the draft table first.
    pub fn seal_edited_draft(&mut self, id: i64, draft: &CaseDraft) -> Result<SealedTicket, StoreError> {
        self.seal_inner(draft, Some(id))
    }

    /// Seals a draft that was never stored.
    pub fn capture(&mut self, draft: CaseDraft) -> Result<SealedTicket, StoreError> {
        self.seal_inner(&draft, None)
    }

    fn seal_inner(&mut self, draft: &CaseDraft, draft_id: Option<i64>) -> Result<SealedTicket, StoreError> {
        let enrolled = self.enrolled.as_ref().ok_or(StoreError::NotEnrolled)?;
        // `seal_draft` validates before anything is written; on any error the transaction
        // is dropped and rolls back.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (next_sequence, head): (u64, Vec<u8>) =
            tx.query_row("SELECT next_sequence, head_hash FROM chain WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let counter = u32::try_from(next_sequence).map_err(|_| StoreError::TicketsExhausted)?;
        let ticket = TicketNumber::issue(enrolled.identity.device_prefix, counter).map_err(|e| match e {
            TicketError::OutOfRange => StoreError::TicketsExhausted,
            other => corrupt(other.to_string()),
        })?;
        let chain = ChainPosition {
            device_id: enrolled.identity.device_id,
            sequence: next_sequence,
            prev_hash: array(head, "chain head")?,
        };
        let ctx = SealContext {
            catalogue: &enrolled.catalogue,
            payee: &enrolled.payee,
            enclave: &enrolled.enclave_key,
            device: &enrolled.signing_key,
        };
        let (sealed, notice) = seal_draft(draft, &ctx, chain, ticket.clone())?;
        // The access code exists nowhere else: keep the notice (encrypted) so a crash or a
        // jammed printer after this commit cannot lose it.
        let notice_json = Zeroizing::new(serde_json::to_vec(&notice).expect("a notice always serialises"));
        let notice_sealed = self.storage_key.encrypt(NOTICE_PURPOSE, &sealed.header.envelope_id.0, &notice_json);
        let upload: usize = sealed.envelope.len() + sealed.blobs.iter().map(Vec::len).sum::<usize>();
        tx.execute(
            "INSERT INTO outbox (envelope_id, sequence, ticket_number, envelope, envelope_hash, photo_count,
                                 notice_sealed, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                sealed.header.envelope_id.0,
                next_sequence,
                ticket.digits(),
                sealed.envelope,
                sealed.envelope_hash,
                sealed.blobs.len(),
                notice_sealed,
                now_ms()
            ],
        )?;
        {
            let mut ins = tx.prepare("INSERT INTO outbox_blobs (envelope_id, idx, blob) VALUES (?1, ?2, ?3)")?;
            for (i, blob) in sealed.blobs.iter().enumerate() {
                ins.execute(params![sealed.header.envelope_id.0, i, blob])?;
            }
        }
        tx.execute(
            "UPDATE chain SET next_sequence = ?1, head_hash = ?2 WHERE id = 1",
            params![next_sequence + 1, sealed.envelope_hash],
        )?;
        if let Some(id) = draft_id {
            // Another handle may have sealed it meanwhile: then this whole transaction is void.
            if tx.execute("DELETE FROM drafts WHERE id = ?1", [id])? != 1 {
                return Err(StoreError::NoSuchDraft(id));
            }
        }
        tx.commit()?;
        tracing::info!(sequence = next_sequence, upload_bytes = upload, "case sealed into the outbox");
        Ok(SealedTicket { notice, envelope_id: sealed.header.envelope_id, sequence: next_sequence })
    }

    /// The whole outbox, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_where("1")
    }

    /// What is still waiting for a verified receipt, oldest first.
    pub fn unsynced(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        self.outbox_where("synced_at_ms IS NULL")
    }

    fn outbox_where(&self, condition: &str) -> Result<Vec<OutboxEntry>, StoreError> {
        let sql = format!(
            "SELECT o.envelope_id, o.sequence, o.ticket_number, o.created_at_ms, o.photo_count, o.synced_at_ms,
                    length(o.envelope) + COALESCE((SELECT sum(length(b.blob)) FROM outbox_blobs b WHERE b.envelope_id = o.envelope_id), 0)
             FROM outbox o WHERE {condition} ORDER BY o.sequence"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, u16>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, u64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sequence, ticket, created_at_ms, photo_count, synced_at_ms, upload_bytes) = row?;
            out.push(OutboxEntry {
                envelope_id: Id16(array(id, "envelope id")?),
                sequence,
                ticket_number: TicketNumber::parse(&ticket)
                    .map_err(|_| corrupt("a stored ticket number is invalid"))?,
                created_at_ms,
                photo_count,
                upload_bytes,
                synced_at_ms,
            });
        }
        Ok(out)
    }

    /// The notice of an outbox entry, for a reprint (jammed printer, app killed after sealing).
    pub fn notice(&self, envelope_id: &Id16) -> Result<Notice, StoreError> {
        let sealed: Vec<u8> = self
            .conn
            .query_row("SELECT notice_sealed FROM outbox WHERE envelope_id = ?1", [envelope_id.0], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoSuchEnvelope(*envelope_id))?;
        let json = self
            .storage_key
            .decrypt(NOTICE_PURPOSE, &envelope_id.0, &sealed)
            .map_err(|_| corrupt("a stored notice was altered"))?;
        serde_json::from_slice(&json).map_err(|_| corrupt("a stored notice is unreadable"))
    }

    /// Marks an outbox entry synced, once its receipt checks out: signed with the receipt key
    /// pinned at enrolment, about exactly this envelope (bytes, header, ticket) and every one of
    /// its photo blobs. Marking twice keeps the first receipt.
    pub fn mark_synced(&mut self, envelope_id: &Id16, receipt: &Receipt) -> Result<(), StoreError> {
        let receipt_key = self.enrolled()?.receipt_key;
        let (bytes, ticket): (Vec<u8>, String) = self
            .conn
            .query_row("SELECT envelope, ticket_number FROM outbox WHERE envelope_id = ?1", [envelope_id.0], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?
            .ok_or(StoreError::NoSuchEnvelope(*envelope_id))?;
        let view = envelope::parse(&bytes).map_err(|_| corrupt("a stored envelope is unreadable"))?;
        let ticket = TicketNumber::parse(&ticket).map_err(|_| corrupt("a stored ticket number is invalid"))?;
        receipt.verify_for(&receipt_key, &view.header, &seal::envelope_hash(&bytes), &ticket)?;
        let json = serde_json::to_vec(receipt).expect("a receipt always serialises");
        self.conn.execute(
            "UPDATE outbox SET synced_at_ms = COALESCE(synced_at_ms, ?2), receipt = COALESCE(receipt, ?3)
             WHERE envelope_id = ?1",
            params![envelope_id.0, now_ms(), json],
        )?;
        Ok(())
    }

    /// The verified receipt of a synced outbox entry.
    pub fn receipt(&self, envelope_id: &Id16) -> Result<Option<Receipt>, StoreError> {
        let json: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT receipt FROM outbox WHERE envelope_id = ?1", [envelope_id.0], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoSuchEnvelope(*envelope_id))?;
        json.map(|j| serde_json::from_slice(&j).map_err(|_| corrupt("a stored receipt is unreadable"))).transpose()
    }

    /// The sealed envelope bytes of an outbox entry.
    pub fn envelope(&self, envelope_id: &Id16) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row("SELECT envelope FROM outbox WHERE envelope_id = ?1", [envelope_id.0], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NoSuchEnvelope(*envelope_id))
    }

    /// A sealed photo blob of an outbox entry.
    pub fn blob(&self, envelope_id: &Id16, index: u16) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row(
                "SELECT blob FROM outbox_blobs WHERE envelope_id = ?1 AND idx = ?2",
                params![envelope_id.0, index],
                |r| r.get(0),
            )
            .optional()?
            .ok_or(StoreError::NoSuchEnvelope(*envelope_id))
    }
}

fn draft_aad(id: i64, photo: Option<u16>) -> Vec<u8> {
    let mut aad = id.to_be_bytes().to_vec();
    if let Some(i) = photo {
        aad.extend(i.to_be_bytes());
    }
    aad
}

fn write_draft(tx: &Transaction<'_>, key: &StorageKey, id: i64, draft: &CaseDraft) -> Result<(), StoreError> {
    let body = DraftBody {
        vehicle: draft.vehicle.clone(),
        offence_codes: draft.offence_codes.clone(),
        place: draft.place.clone(),
        observed_at: draft.observed_at,
        notes: draft.notes.clone(),
        photos: draft
            .photos
            .iter()
            .map(|p| DraftPhotoMeta {
                width: p.width,
                height: p.height,
                sha256_original: p.sha256_original,
                sha256_processed: p.sha256_processed,
            })
            .collect(),
    };
    let plain = Zeroizing::new(serde_json::to_vec(&body).expect("a draft always serialises"));
    let enc = key.encrypt(b"fieldseal/store/draft/v1", &draft_aad(id, None), &plain);
    tx.execute("UPDATE drafts SET body = ?2 WHERE id = ?1", params![id, enc])?;
    tx.execute("DELETE FROM draft_photos WHERE draft_id = ?1", [id])?;
    let mut ins = tx.prepare("INSERT INTO draft_photos (draft_id, idx, body) VALUES (?1, ?2, ?3)")?;
    for (i, p) in draft.photos.iter().enumerate() {
        let idx = u16::try_from(i).map_err(|_| CaptureError::TooManyPhotos { max: 16 })?;
        let enc = key.encrypt(b"fieldseal/store/draft/v1", &draft_aad(id, Some(idx)), &p.jpeg);
        ins.execute(params![id, idx, enc])?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as u32;
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
