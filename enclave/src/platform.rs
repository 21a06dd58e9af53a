//! The platform the enclave runs on: where its sealing key comes from and who signs its
//! attestation. Real hardware (AWS Nitro Enclaves, Intel TDX/SGX) is one implementation each;
//! this build ships only the SIMULATED platform, which keeps its root secret in a file and says
//! so everywhere it shows.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use fieldseal_core::attestation::{AttestationBody, AttestationDocument, SIMULATED_PLATFORM};
use fieldseal_core::seal::{EnclavePublicKey, SigningKey, VerifyingKey};
use fieldseal_core::store::StorageKey;
use zeroize::Zeroizing;

/// How long one attestation document is valid.
pub const ATTESTATION_VALIDITY_MS: i64 = 24 * 60 * 60 * 1000;

/// What the enclave needs from the platform under it.
pub trait Platform: Send + Sync {
    /// Platform name as it appears in attestation documents.
    fn name(&self) -> &str;
    /// The key the enclave's private key is sealed under at rest. Only this platform, for
    /// this enclave, can derive it.
    fn sealing_key(&self) -> StorageKey;
    /// The platform's attestation key, as devices pin it.
    fn root_key(&self) -> VerifyingKey;
    /// A signed document binding this enclave's measurement to `public_key` and, when the
    /// zone serves web pages, to the hash of its TLS public key.
    fn attest(&self, public_key: &EnclavePublicKey, tls_spki: Option<&[u8; 32]>, now_ms: i64) -> AttestationDocument;
    /// The measurement (SHA-256 of the enclave's code) the platform vouches for.
    fn measurement(&self) -> [u8; 32];
}

/// The SIMULATED platform: a root secret in a file stands in for the hardware's fused keys.
/// Never use it in production; devices refuse it unless their policy allows simulation.
pub struct SimulatedPlatform {
    attestation_key: SigningKey,
    sealing_key: StorageKey,
    measurement: [u8; 32],
}

/// File name of the simulated platform's root secret inside the key folder.
pub const SIMULATED_ROOT_FILE: &str = "simulated-platform-root.key";

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The key folder or a file in it cannot be used.
    #[error("cannot use {path}: {source}; check the --key-dir folder and its permissions")]
    Io { path: PathBuf, source: std::io::Error },
    /// A key file has the wrong size.
    #[error("the key file {0} is damaged (wrong length); restore it from backup")]
    Damaged(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PlatformError + '_ {
    move |source| PlatformError::Io { path: path.to_path_buf(), source }
}

/// Writes a new secret file (mode 0600) and syncs it; fails if it exists.
pub(crate) fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<(), PlatformError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(())
}

impl SimulatedPlatform {
    /// Loads the simulated root from `key_dir`, creating it on first start.
    /// `measurement` is the SHA-256 of the enclave executable.
    pub fn load_or_create(key_dir: &Path, measurement: [u8; 32]) -> Result<Self, PlatformError> {
        let path = key_dir.join(SIMULATED_ROOT_FILE);
        let root = match std::fs::read(&path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| PlatformError::Damaged(path.clone()))?;
                Zeroizing::new(arr)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let root = fieldseal_core::seal::make_random_key();
                write_new_secret(&path, root.as_ref())?;
                root
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let root = StorageKey::from_bytes(*root);
        // Sealing is bound to the platform (like a signer-bound sealing policy), not to the
        // exact build, so a new enclave build still opens the key sealed by the previous one.
        let sealing_key = StorageKey::from_bytes(*root.subkey(b"fieldseal/simulated-platform/sealing/v1"));
        let attestation_key = SigningKey::from_seed(&root.subkey(b"fieldseal/simulated-platform/attestation/v1"));
        Ok(Self { attestation_key, sealing_key, measurement })
    }
}

impl Platform for SimulatedPlatform {
    fn name(&self) -> &str {
        SIMULATED_PLATFORM
    }

    fn sealing_key(&self) -> StorageKey {
        StorageKey::from_bytes(*self.sealing_key.subkey(b"fieldseal/enclave/sealing/v1"))
    }

    fn root_key(&self) -> VerifyingKey {
        self.attestation_key.verifying_key()
    }

    fn attest(&self, public_key: &EnclavePublicKey, tls_spki: Option<&[u8; 32]>, now_ms: i64) -> AttestationDocument {
        let body = AttestationBody::new(
            SIMULATED_PLATFORM,
            &self.measurement,
            public_key,
            now_ms - 60_000,
            now_ms + ATTESTATION_VALIDITY_MS,
        );
        match tls_spki {
            Some(spki) => body.with_tls_spki(spki),
            None => body,
        }
        .sign(&self.attestation_key)
    }

    fn measurement(&self) -> [u8; 32] {
        self.measurement
    }
}
