//! The zone's TLS identity. The web's TLS ends inside the zone: its ECDSA P-256 key pair is made
//! here on first start and leaves only sealed under the platform (as the HPKE key does); the
//! certificate is made from it at each start, self-signed. The SHA-256 of the certificate's
//! SubjectPublicKeyInfo is bound into every attestation document, so a browser or client that
//! checked the attestation pins exactly this key, and the host, which relays the bytes, cannot
//! put a key of its own in between.

use std::path::Path;
use std::sync::Arc;

use fieldseal_core::seal::sha256;
use fieldseal_core::store::StorageKey;
use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData as _, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::keys::{KeyFileError, load_or_seal};

/// File name of the sealed TLS private key (PKCS#8) inside the key folder.
pub const SEALED_TLS_KEY_FILE: &str = "tls-key.sealed";
const SEALED_TLS_KEY_PURPOSE: &[u8] = b"fieldseal/zone/tls-p256-pkcs8/v1";

/// Why the TLS identity could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The sealed key file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// Key or certificate generation, or the TLS configuration.
    #[error("cannot set up the zone's TLS: {0}")]
    Setup(String),
}

/// What the zone serves TLS with.
pub struct TlsIdentity {
    /// The server configuration (HTTP/1.1, TLS 1.2 and 1.3, the ring provider).
    pub config: Arc<rustls::ServerConfig>,
    /// The certificate, DER.
    pub certificate: CertificateDer<'static>,
    /// SHA-256 of the certificate's SubjectPublicKeyInfo (DER), as attestation binds it.
    pub spki_sha256: [u8; 32],
}

/// The cryptography under the zone's TLS: rustls's *ring* provider (TLS 1.3 and 1.2, ECDHE
/// with X25519 and P-256, AES-GCM and ChaCha20-Poly1305). rustls marks it deprecated because
/// it has no post-quantum key exchange (X25519MLKEM768); that needs the aws-lc-rs provider,
/// a much larger C build for the zone and for every fuzz build. Tracked as an open point in
/// the README; the protocol versions and suites are rustls's safe defaults.
#[allow(deprecated)]
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn setup(e: impl std::fmt::Display) -> TlsError {
    TlsError::Setup(e.to_string())
}

/// Loads the sealed TLS key from `key_dir` (or makes and seals one on first start) and makes a
/// certificate for `names` (DNS names or IP addresses). Returns whether the key is new.
pub fn load_or_create(key_dir: &Path, sealing: &StorageKey, names: &[String]) -> Result<(TlsIdentity, bool), TlsError> {
    let path = key_dir.join(SEALED_TLS_KEY_FILE);
    let mut made = None;
    let (pkcs8, created) = load_or_seal(&path, SEALED_TLS_KEY_PURPOSE, sealing, || {
        match KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256) {
            Ok(pair) => Zeroizing::new(pair.serialize_der()),
            Err(e) => {
                made = Some(setup(e));
                Zeroizing::new(Vec::new())
            }
        }
    })?;
    if let Some(e) = made {
        return Err(e);
    }
    let der = PrivatePkcs8KeyDer::from(pkcs8.to_vec());
    let pair = KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_ECDSA_P256_SHA256)
        .map_err(|_| KeyFileError::Unseal(path.clone()))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(setup)?;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName).map_err(setup),
        })
        .collect::<Result<_, _>>()?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "fieldseal sealed zone (simulated platform)");
    let certificate = params.self_signed(&pair).map_err(setup)?.der().clone();
    let spki_sha256 = sha256(&pair.subject_public_key_info());
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(setup)?
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], PrivateKeyDer::Pkcs8(der))
        .map_err(setup)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsIdentity { config: Arc::new(config), certificate, spki_sha256 }, created))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

    fn names() -> Vec<String> {
        NAMES.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn the_key_is_sealed_and_survives_a_restart_with_the_same_public_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sealing = StorageKey::from_bytes([3; 32]);
        let (first, created) = load_or_create(dir.path(), &sealing, &names()).expect("made");
        assert!(created);
        let (again, created) = load_or_create(dir.path(), &sealing, &names()).expect("loaded");
        assert!(!created);
        assert_eq!(first.spki_sha256, again.spki_sha256, "a restart keeps the pinned key");
        // The file holds no PKCS#8 structure in the clear.
        let on_disk = std::fs::read(dir.path().join(SEALED_TLS_KEY_FILE)).expect("file");
        let oid_p256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        assert!(!on_disk.windows(oid_p256.len()).any(|w| w == oid_p256), "sealed, not clear");
        // Another platform's sealing key opens nothing, and an altered file is refused.
        let other = StorageKey::from_bytes([4; 32]);
        assert!(matches!(load_or_create(dir.path(), &other, &names()), Err(TlsError::Key(KeyFileError::Unseal(_)))));
        let mut flipped = on_disk;
        flipped[30] ^= 1;
        std::fs::write(dir.path().join(SEALED_TLS_KEY_FILE), flipped).expect("write");
        assert!(load_or_create(dir.path(), &sealing, &names()).is_err());
    }

    #[test]
    fn the_attested_hash_is_the_certificates_own_public_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (id, _) = load_or_create(dir.path(), &StorageKey::from_bytes([5; 32]), &names()).expect("made");
        // Find the SPKI inside the certificate independently: it is the DER sequence that
        // starts with the id-ecPublicKey algorithm and is 91 bytes long for P-256.
        let cert = id.certificate.as_ref();
        let prefix = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        let at = cert.windows(prefix.len()).position(|w| w == prefix).expect("an EC SPKI in the certificate");
        assert_eq!(sha256(&cert[at..at + 91]), id.spki_sha256);
    }

    #[test]
    fn a_name_that_is_neither_dns_nor_ip_is_refused_clearly() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = load_or_create(dir.path(), &StorageKey::from_bytes([6; 32]), &["straße.example".into()]);
        assert!(matches!(err, Err(TlsError::Setup(_))));
    }
}
