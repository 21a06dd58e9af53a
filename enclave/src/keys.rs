//! The enclave's X25519 key pair: made inside on first start, kept at rest only sealed under
//! the platform's sealing key, held in locked memory while running.

use std::path::{Path, PathBuf};

use fieldseal_core::seal::{EnclaveSecretKey, VerifyingKey, hex_lower};
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

/// File name of the pinned authority key inside the key folder (sealed: a changed file does not open).
pub const AUTHORITY_KEY_FILE: &str = "authority-key.sealed";
const AUTHORITY_KEY_PURPOSE: &[u8] = b"fieldseal/enclave/authority-public-key/v1";

/// Why the authority key could not be pinned.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The key file.
    #[error(transparent)]
    File(#[from] KeyFileError),
    /// Another key was given than the one pinned.
    #[error(
        "this zone is pinned to the authority key {pinned}, not {given}: an authority key is pinned once, at the zone's first start with --authority-key, and never replaced by the operator"
    )]
    Another {
        /// The pinned key, hex.
        pinned: String,
        /// The key given now, hex.
        given: String,
    },
}

/// The authority's public key this zone trusts: pinned (sealed in `key_dir`) at the first
/// start that names one in `given`; later starts may name the same key or none, never another.
/// `None`: no authority pinned yet (the back office then has no administrator).
pub fn pin_authority(
    key_dir: &Path,
    sealing: &StorageKey,
    given: Option<VerifyingKey>,
) -> Result<Option<VerifyingKey>, PinError> {
    let path = key_dir.join(AUTHORITY_KEY_FILE);
    if given.is_none() && !path.exists() {
        return Ok(None);
    }
    let (plain, _) = load_or_seal(&path, AUTHORITY_KEY_PURPOSE, sealing, || {
        Zeroizing::new(given.map(|k| k.0.to_vec()).unwrap_or_default())
    })?;
    let pinned: [u8; 32] = plain.as_slice().try_into().map_err(|_| KeyFileError::Unseal(path.clone()))?;
    match given {
        Some(key) if key.0 != pinned => Err(PinError::Another { pinned: hex_lower(&pinned), given: hex_lower(&key.0) }),
        _ => Ok(Some(VerifyingKey(pinned))),
    }
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

    /// Tried as a rogue operator would: restart the zone with its own authority key, or edit
    /// the pinned file. Neither takes.
    #[test]
    fn the_authority_key_is_pinned_once_and_not_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sealing = StorageKey::from_bytes([3; 32]);
        assert!(pin_authority(dir.path(), &sealing, None).expect("nothing pinned").is_none());
        let authority = VerifyingKey([7; 32]);
        assert_eq!(pin_authority(dir.path(), &sealing, Some(authority)).expect("pinned"), Some(authority));
        assert_eq!(pin_authority(dir.path(), &sealing, None).expect("kept"), Some(authority));
        assert_eq!(pin_authority(dir.path(), &sealing, Some(authority)).expect("the same"), Some(authority));
        let rogue = pin_authority(dir.path(), &sealing, Some(VerifyingKey([8; 32])));
        assert!(matches!(rogue, Err(PinError::Another { .. })), "{rogue:?}");
        let path = dir.path().join(AUTHORITY_KEY_FILE);
        let mut edited = std::fs::read(&path).expect("file");
        let last = edited.len() - 1;
        edited[last] ^= 1;
        std::fs::write(&path, edited).expect("write");
        assert!(matches!(pin_authority(dir.path(), &sealing, None), Err(PinError::File(KeyFileError::Unseal(_)))));
    }

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
