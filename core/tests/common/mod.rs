//! Shared set-up for the core integration tests: an enrolled store in a temporary folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fieldseal_core::attestation::{AttestationDocument, AttestationPolicy};
use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo;
use fieldseal_core::seal::{EnclaveSecretKey, SigningKey};
use fieldseal_core::store::{DeviceStore, Enrolment, StorageKey};
use fieldseal_core::wire::envelope::Id16;

pub const STORAGE_KEY: [u8; 32] = [7u8; 32];

/// The repository's independent test material (`testdata/`, sources in its README).
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

pub fn sample_photo(name: &str) -> Vec<u8> {
    let p = testdata_dir().join("samples/photos").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("sample photo {} is missing: {e}", p.display()))
}

/// A fresh temporary folder, removed when dropped.
pub struct TempDir(pub PathBuf);
impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "fieldseal-{tag}-{}-{}",
            std::process::id(),
            Id16::make_random().to_hex()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Enrolled {
    pub store: DeviceStore,
    pub enclave: EnclaveSecretKey,
    pub issuer: SigningKey,
}

/// The app's pinned attestation policy and a matching simulated attestation.
pub fn attested(enclave: &EnclaveSecretKey) -> (AttestationDocument, AttestationPolicy) {
    demo::simulated_attestation(&enclave.public_key(), [0x5A; 32], &platform_key(), now_ms())
}

/// One simulated platform key for the whole test binary, as an app pins one root.
pub fn platform_key() -> SigningKey {
    SigningKey::from_seed(&[0x3C; 32])
}

pub fn policy() -> AttestationPolicy {
    attested(&EnclaveSecretKey::make_random()).1
}

pub fn enrolment(enclave: &EnclaveSecretKey, issuer: &SigningKey, prefix: u16) -> Enrolment {
    Enrolment {
        device_id: Id16::make_random(),
        device_prefix: prefix,
        attestation: attested(enclave).0,
        catalogue: CatalogueBody::german_default().sign(issuer),
        issuer_key: issuer.verifying_key(),
        payee: demo::demo_payee("https://portal.example"),
        receipt_key: receipt_signer().verifying_key(),
    }
}

/// The server receipt key the test enrolments pin.
pub fn receipt_signer() -> SigningKey {
    SigningKey::from_seed(&[0x5E; 32])
}

pub fn enrolled_store(db: &Path) -> Enrolled {
    let enclave = EnclaveSecretKey::make_random();
    let issuer = SigningKey::make_random();
    let mut store = DeviceStore::open(db, StorageKey::from_bytes(STORAGE_KEY)).expect("opens");
    store.enrol(enrolment(&enclave, &issuer, 42), SigningKey::make_random(), &policy(), now_ms()).expect("enrols");
    Enrolled { store, enclave, issuer }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis() as i64
}

/// Every byte of every file in `dir` (database, WAL, journal).
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("readable") {
        let p = e.expect("entry").path();
        if p.is_file() {
            out.extend(std::fs::read(&p).expect("readable"));
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
