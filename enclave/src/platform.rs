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
    /// zone serves web pages, to the hash of its TLS public key; with a client's `nonce`, made
    /// for that client's question.
    fn attest(
        &self,
        public_key: &EnclavePublicKey,
        tls_spki: Option<&[u8; 32]>,
        nonce: Option<&[u8]>,
        now_ms: i64,
    ) -> AttestationDocument;
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

/// File name of the simulated platform's root secret inside the platform folder (and, before
/// it moved out, inside the key folder).
pub const SIMULATED_ROOT_FILE: &str = "simulated-platform-root.key";

/// Environment variable naming the simulated platform's folder.
pub const PLATFORM_DIR_ENV: &str = "FIELDSEAL_PLATFORM_DIR";

/// Where this machine's simulated platform keeps its root secret: `--platform-dir`, else
/// `$FIELDSEAL_PLATFORM_DIR`, else `$XDG_STATE_HOME/fieldseal-platform`, else
/// `$HOME/.local/state/fieldseal-platform`. Never inside a data folder: the root stands for the
/// hardware's fused keys, which belong to the machine, so a copy of a data folder (a backup)
/// holds only keys sealed under it and opens nothing elsewhere.
pub fn default_platform_dir() -> Result<PathBuf, String> {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = from_env(PLATFORM_DIR_ENV) {
        return Ok(dir);
    }
    if let Some(state) = from_env("XDG_STATE_HOME") {
        return Ok(state.join("fieldseal-platform"));
    }
    from_env("HOME").map(|home| home.join(".local/state/fieldseal-platform")).ok_or_else(|| {
        format!("no folder for the simulated platform: pass --platform-dir DIR or set {PLATFORM_DIR_ENV}")
    })
}

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The key folder or a file in it cannot be used.
    #[error("cannot use {path}: {source}; check the folder and its permissions")]
    Io { path: PathBuf, source: std::io::Error },
    /// A key file has the wrong size.
    #[error("the key file {0} is damaged (wrong length); restore it from backup")]
    Damaged(PathBuf),
    /// The key folder holds a platform root from before it moved out, and it is not this
    /// machine's.
    #[error(
        "the key folder holds a simulated platform root ({old}) that differs from this machine's ({current}): its keys were sealed on another platform. Start this data folder with --platform-dir naming that platform's folder, or move {old} into an empty platform folder"
    )]
    ForeignRoot { old: PathBuf, current: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PlatformError + '_ {
    move |source| PlatformError::Io { path: path.to_path_buf(), source }
}

/// Reads a 32-byte secret file; `None` when it does not exist.
fn read_secret(path: &Path) -> Result<Option<Zeroizing<[u8; 32]>>, PlatformError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let bytes = Zeroizing::new(bytes);
            let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| PlatformError::Damaged(path.to_path_buf()))?;
            Ok(Some(Zeroizing::new(arr)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Puts `secret` at `path` unless a file is there already, and returns what is there then.
/// The file appears whole or not at all (written beside it, then linked), so zones starting
/// at the same time on one machine agree on one root.
fn install_secret(path: &Path, secret: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, PlatformError> {
    let nonce = fieldseal_core::seal::make_random_key();
    let tmp = path.with_extension(format!("new-{}", fieldseal_core::seal::hex_lower(&nonce[..8])));
    write_new_secret(&tmp, secret)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(Zeroizing::new(*secret)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_secret(path)?.ok_or_else(|| PlatformError::Damaged(path.to_path_buf()))
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// Makes the platform folder (mode 0700) if it is missing.
fn make_private_dir(dir: &Path) -> Result<(), PlatformError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io(dir))
}

/// Moves a platform root that an earlier version kept in the key folder (inside the data
/// folder) to the platform folder, so that no copy of the data folder carries it from now on.
/// Returns the path it was moved from, if it was. A root that differs from the platform's own
/// is refused: the key folder's keys were sealed on another platform.
pub fn adopt_root_from_key_dir(key_dir: &Path, platform_dir: &Path) -> Result<Option<PathBuf>, PlatformError> {
    let old = key_dir.join(SIMULATED_ROOT_FILE);
    let Some(old_root) = read_secret(&old)? else { return Ok(None) };
    make_private_dir(platform_dir)?;
    let current = platform_dir.join(SIMULATED_ROOT_FILE);
    let installed = install_secret(&current, &old_root)?;
    if *installed != *old_root {
        return Err(PlatformError::ForeignRoot { old, current });
    }
    std::fs::remove_file(&old).map_err(io(&old))?;
    std::fs::File::open(key_dir).and_then(|d| d.sync_all()).map_err(io(key_dir))?;
    Ok(Some(old))
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
    /// Loads the simulated root from `platform_dir` (see [`default_platform_dir`]), creating
    /// it on the machine's first start. `measurement` is the SHA-256 of the enclave executable.
    pub fn load_or_create(platform_dir: &Path, measurement: [u8; 32]) -> Result<Self, PlatformError> {
        let path = platform_dir.join(SIMULATED_ROOT_FILE);
        let root = match read_secret(&path)? {
            Some(root) => root,
            None => {
                make_private_dir(platform_dir)?;
                install_secret(&path, &fieldseal_core::seal::make_random_key())?
            }
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

    fn attest(
        &self,
        public_key: &EnclavePublicKey,
        tls_spki: Option<&[u8; 32]>,
        nonce: Option<&[u8]>,
        now_ms: i64,
    ) -> AttestationDocument {
        let mut body = AttestationBody::new(
            SIMULATED_PLATFORM,
            &self.measurement,
            public_key,
            now_ms - 60_000,
            now_ms + ATTESTATION_VALIDITY_MS,
        );
        if let Some(spki) = tls_spki {
            body = body.with_tls_spki(spki);
        }
        if let Some(nonce) = nonce {
            body = body.with_nonce(nonce);
        }
        body.sign(&self.attestation_key)
    }

    fn measurement(&self) -> [u8; 32] {
        self.measurement
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: [u8; 32] = [7; 32];

    #[test]
    fn zones_starting_together_on_one_machine_agree_on_one_root() {
        let dir = tempfile::tempdir().expect("temp");
        let platform_dir = dir.path().join("platform");
        let keys: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| SimulatedPlatform::load_or_create(&platform_dir, M).expect("starts").root_key().0))
                .collect();
            handles.into_iter().map(|h| h.join().expect("joins")).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "every zone uses the same root");
        let names: Vec<_> =
            std::fs::read_dir(&platform_dir).expect("folder").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, [SIMULATED_ROOT_FILE], "no half-written file is left beside the root");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&platform_dir).expect("folder").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "only the platform's user enters the folder");
    }

    #[test]
    fn a_root_left_in_the_key_folder_moves_out_and_keeps_opening_the_same_keys() {
        let dir = tempfile::tempdir().expect("temp");
        let (key_dir, platform_dir) = (dir.path().join("keys"), dir.path().join("platform"));
        // The layout before: the root sat in the key folder.
        let before = SimulatedPlatform::load_or_create(&key_dir, M).expect("old layout");
        assert_eq!(
            adopt_root_from_key_dir(&key_dir, &platform_dir).expect("moves"),
            Some(key_dir.join(SIMULATED_ROOT_FILE))
        );
        assert!(!key_dir.join(SIMULATED_ROOT_FILE).exists(), "the data folder no longer holds the root");
        let after = SimulatedPlatform::load_or_create(&platform_dir, M).expect("new layout");
        assert_eq!(before.root_key().0, after.root_key().0);
        assert_eq!(*before.sealing_key().subkey(b"t"), *after.sealing_key().subkey(b"t"));
        assert_eq!(adopt_root_from_key_dir(&key_dir, &platform_dir).expect("nothing to do"), None);
    }

    #[test]
    fn a_foreign_root_in_the_key_folder_is_refused_and_nothing_moves() {
        let dir = tempfile::tempdir().expect("temp");
        let (key_dir, platform_dir) = (dir.path().join("keys"), dir.path().join("platform"));
        SimulatedPlatform::load_or_create(&key_dir, M).expect("old layout");
        let mine = SimulatedPlatform::load_or_create(&platform_dir, M).expect("this machine");
        let err = adopt_root_from_key_dir(&key_dir, &platform_dir).expect_err("refused");
        assert!(matches!(err, PlatformError::ForeignRoot { .. }), "{err}");
        assert!(err.to_string().contains("--platform-dir"), "says what to do: {err}");
        assert!(key_dir.join(SIMULATED_ROOT_FILE).exists(), "the old root stays where it was");
        let still = SimulatedPlatform::load_or_create(&platform_dir, M).expect("this machine");
        assert_eq!(mine.root_key().0, still.root_key().0, "this machine's root is unchanged");
    }
}
