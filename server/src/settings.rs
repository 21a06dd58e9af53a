//! What the relay keeps in its data folder besides the database: the receipt key, the signed
//! catalogue with its issuer key, and the payee settings. Made with working defaults on first
//! start, and each says where it came from.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use fieldseal_core::catalogue::{CatalogueBody, SignedCatalogue};
use fieldseal_core::notice::PayeeConfig;
use fieldseal_core::seal::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::relay::Issued;

/// A data folder file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Reading or writing failed.
    #[error("cannot use {path}: {source}; check that the data folder is writable")]
    Io { path: PathBuf, source: std::io::Error },
    /// The content is not valid.
    #[error("{path} is invalid: {reason}; fix it or delete it to get the default")]
    Invalid { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SettingsError + '_ {
    move |source| SettingsError::Io { path: path.to_path_buf(), source }
}

fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), SettingsError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    if secret {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Reads a 32-byte seed, or makes one.
fn seed_file(path: &Path) -> Result<[u8; 32], SettingsError> {
    match std::fs::read(path) {
        Ok(b) => {
            b.try_into().map_err(|_| SettingsError::Invalid { path: path.to_path_buf(), reason: "not 32 bytes".into() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = *fieldseal_core::seal::make_random_key();
            write_new(path, &seed, true)?;
            Ok(seed)
        }
        Err(e) => Err(io(path)(e)),
    }
}

/// The receipt signing key (`receipt.key`, 0600).
pub fn receipt_key(data: &Path) -> Result<SigningKey, SettingsError> {
    Ok(SigningKey::from_seed(&seed_file(&data.join("receipt.key"))?))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    catalogue: SignedCatalogue,
    issuer_key: VerifyingKey,
}

/// The signed catalogue and payee settings. On first start the built-in German catalogue is
/// signed with a locally made issuer key (`catalogue-issuer.key`) and demo payee settings are
/// written; an authority replaces `catalogue.json` and `payee.json` with its own.
pub fn issued(data: &Path, portal_base_url: &str) -> Result<Issued, SettingsError> {
    let cat_path = data.join("catalogue.json");
    if !cat_path.exists() {
        let issuer = SigningKey::from_seed(&seed_file(&data.join("catalogue-issuer.key"))?);
        let file = CatalogueFile {
            catalogue: CatalogueBody::german_default().sign(&issuer),
            issuer_key: issuer.verifying_key(),
        };
        write_new(&cat_path, &serde_json::to_vec_pretty(&file).expect("serialises"), false)?;
        tracing::warn!(path = %cat_path.display(), "signed the built-in catalogue with a local issuer key");
    }
    let bytes = std::fs::read(&cat_path).map_err(io(&cat_path))?;
    let file: CatalogueFile = serde_json::from_slice(&bytes)
        .map_err(|e| SettingsError::Invalid { path: cat_path.clone(), reason: e.to_string() })?;
    file.catalogue
        .verify(&file.issuer_key)
        .map_err(|e| SettingsError::Invalid { path: cat_path.clone(), reason: e.to_string() })?;

    let payee_path = data.join("payee.json");
    if !payee_path.exists() {
        let payee = fieldseal_core::demo::demo_payee(portal_base_url);
        write_new(&payee_path, &serde_json::to_vec_pretty(&payee).expect("serialises"), false)?;
        tracing::warn!(path = %payee_path.display(), "wrote DEMO payee settings; replace them with the authority's");
    }
    let bytes = std::fs::read(&payee_path).map_err(io(&payee_path))?;
    let payee: PayeeConfig = serde_json::from_slice(&bytes)
        .map_err(|e| SettingsError::Invalid { path: payee_path.clone(), reason: e.to_string() })?;
    payee.validate().map_err(|e| SettingsError::Invalid { path: payee_path.clone(), reason: e.to_string() })?;
    Ok(Issued { catalogue: file.catalogue, issuer_key: file.issuer_key, payee })
}
