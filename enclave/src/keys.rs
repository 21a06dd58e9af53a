//! The enclave's X25519 key pair: made inside on first start, kept at rest only sealed under
//! the platform's sealing key, held in locked memory while running.

use std::path::{Path, PathBuf};

use fieldseal_core::seal::EnclaveSecretKey;
use fieldseal_core::store::StorageKey;
use zeroize::Zeroizing;

use crate::platform::{PlatformError, write_new_secret};

/// File name of the sealed private key inside the key folder.
pub const SEALED_KEY_FILE: &str = "enclave-key.sealed";
const SEALED_KEY_PURPOSE: &[u8] = b"fieldseal/enclave/x25519-private-key/v1";

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The folder or file cannot be used.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The sealed key does not open under this platform's sealing key.
    #[error(
        "the sealed enclave key {0} does not open on this platform (another platform root, or the file was altered); restore the key folder from backup"
    )]
    Unseal(PathBuf),
}

/// Loads the sealed key from `key_dir`, or makes and seals a new one on first start.
/// Returns the key boxed, so its memory can be locked where it stays.
pub fn load_or_create(key_dir: &Path, sealing: &StorageKey) -> Result<(Box<EnclaveSecretKey>, bool), KeyFileError> {
    let path = key_dir.join(SEALED_KEY_FILE);
    let (plain, created) = load_or_seal(&path, SEALED_KEY_PURPOSE, sealing, || {
        Zeroizing::new(EnclaveSecretKey::make_random().to_bytes().to_vec())
    })?;
    let bytes: &[u8; 32] = plain.as_slice().try_into().map_err(|_| KeyFileError::Unseal(path.clone()))?;
    let key = EnclaveSecretKey::from_bytes(bytes).map_err(|_| KeyFileError::Unseal(path))?;
    Ok((Box::new(key), created))
}

/// Opens the secret sealed at `path` for `purpose`, or makes one with `make`, seals it there
/// and returns it (`true`: made now). The secret leaves the zone only sealed.
pub(crate) fn load_or_seal(
    path: &Path,
    purpose: &[u8],
    sealing: &StorageKey,
    make: impl FnOnce() -> Zeroizing<Vec<u8>>,
) -> Result<(Zeroizing<Vec<u8>>, bool), KeyFileError> {
    match std::fs::read(path) {
        Ok(sealed) => {
            let plain = sealing.decrypt(purpose, b"", &sealed).map_err(|_| KeyFileError::Unseal(path.to_path_buf()))?;
            Ok((plain, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = make();
            write_new_secret(path, &sealing.encrypt(purpose, b"", &secret))?;
            Ok((secret, true))
        }
        Err(source) => Err(PlatformError::Io { path: path.to_path_buf(), source }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_survives_a_restart_and_only_opens_with_its_sealing_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sealing = StorageKey::from_bytes([3; 32]);
        let (first, created) = load_or_create(dir.path(), &sealing).expect("made");
        assert!(created);
        let (again, created) = load_or_create(dir.path(), &sealing).expect("loaded");
        assert!(!created);
        assert_eq!(first.public_key(), again.public_key());
        let on_disk = std::fs::read(dir.path().join(SEALED_KEY_FILE)).expect("file");
        assert!(!on_disk.windows(32).any(|w| w == first.to_bytes().as_slice()), "sealed, not clear");
        let other = StorageKey::from_bytes([4; 32]);
        assert!(matches!(load_or_create(dir.path(), &other), Err(KeyFileError::Unseal(_))));
        let mut flipped = on_disk.clone();
        flipped[20] ^= 1;
        std::fs::write(dir.path().join(SEALED_KEY_FILE), flipped).expect("write");
        assert!(matches!(load_or_create(dir.path(), &sealing), Err(KeyFileError::Unseal(_))));
    }
}
