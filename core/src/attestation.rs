//! Enclave attestation as a device checks it: a document, signed by the platform's attestation
//! key, that binds the enclave's measurement (hash of its code) to the public key cases are
//! sealed to. Devices pin the platform roots and the accepted measurements and refuse anything
//! else, before they seal a single case.
//!
//! On real hardware (AWS Nitro Enclaves, Intel TDX/SGX) the platform signs such a document.
//! Here a *simulated* platform signs with a key of its own; documents say which platform made
//! them (`platform = "simulated"`), and a policy accepts simulated documents only when told to.

use serde::{Deserialize, Serialize};

use crate::seal::decode_hex;
use crate::seal::{EnclavePublicKey, SigningKey, VerifyingKey, hex_lower};

const SIGNATURE_CONTEXT: &[u8] = b"fieldseal/attestation/v1\0";
/// Version of the attestation body.
pub const ATTESTATION_FORMAT: u16 = 1;
/// The platform name of the simulated attestation platform.
pub const SIMULATED_PLATFORM: &str = "simulated";
/// Length range of a client's nonce, in bytes: at least 16 (unguessable), at most 64.
pub const NONCE_BYTES: std::ops::RangeInclusive<usize> = 16..=64;

/// Largest attestation body accepted.
const MAX_BODY_BYTES: usize = 4096;

/// What the platform vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationBody {
    /// [`ATTESTATION_FORMAT`].
    pub format: u16,
    /// Which platform signed: `"simulated"`, `"aws-nitro"`, …
    pub platform: String,
    /// Hex SHA-256 of the enclave's executable (its measurement).
    pub measurement: String,
    /// Hex X25519 public key that cases are sealed to.
    pub enclave_public_key: String,
    /// Hex SHA-256 of the DER SubjectPublicKeyInfo of the zone's TLS certificate: the web's
    /// TLS ends inside the zone, and a browser or client pins this hash. Absent from zones
    /// that serve no web pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_spki_sha256: Option<String>,
    /// Hex of a client's nonce, when the document was made for one client's question (fresh
    /// now, not replayed): see [`AttestationDocument::verify_fresh`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Start of validity, Unix ms.
    pub not_before_ms: i64,
    /// End of validity, Unix ms.
    pub not_after_ms: i64,
}

impl AttestationBody {
    /// A body of the current format for `platform`, binding `measurement` to `enclave_key`.
    pub fn new(
        platform: &str,
        measurement: &[u8; 32],
        enclave_key: &EnclavePublicKey,
        not_before_ms: i64,
        not_after_ms: i64,
    ) -> Self {
        Self {
            format: ATTESTATION_FORMAT,
            platform: platform.to_owned(),
            measurement: hex_lower(measurement),
            enclave_public_key: hex_lower(&enclave_key.0),
            tls_spki_sha256: None,
            nonce: None,
            not_before_ms,
            not_after_ms,
        }
    }

    /// The same body, also binding the SHA-256 of the zone's TLS public key (SPKI).
    pub fn with_tls_spki(mut self, spki_sha256: &[u8; 32]) -> Self {
        self.tls_spki_sha256 = Some(hex_lower(spki_sha256));
        self
    }

    /// The same body, made for the client that asked with `nonce` ([`NONCE_BYTES`] long).
    pub fn with_nonce(mut self, nonce: &[u8]) -> Self {
        self.nonce = Some(hex_lower(nonce));
        self
    }

    /// Signs the body with a platform attestation key (what a platform implementation does).
    pub fn sign(&self, platform_key: &SigningKey) -> AttestationDocument {
        let body = serde_json::to_string(self).expect("an attestation body always serialises");
        let signature = platform_key.sign(SIGNATURE_CONTEXT, &[body.as_bytes()]);
        AttestationDocument { body, signature: hex_lower(&signature) }
    }
}

/// An attestation as it travels: exact body bytes and the platform signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationDocument {
    /// JSON body exactly as signed.
    pub body: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

/// A platform attestation key the app trusts, and the one platform it may speak for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedRoot {
    /// Platform name the key signs for (`"simulated"`, `"aws-nitro"`, …).
    pub platform: String,
    /// The platform's attestation key.
    pub key: VerifyingKey,
}

/// What a device accepts: pinned platform roots and measurements. Shipped with the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationPolicy {
    /// Platform attestation keys the device trusts.
    pub roots: Vec<PinnedRoot>,
    /// Enclave measurements the device accepts.
    pub measurements: Vec<[u8; 32]>,
    /// Whether documents from the simulated platform are accepted (development and tests).
    pub accept_simulated: bool,
}

/// An attestation that passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedEnclave {
    /// The key to seal to.
    pub public_key: EnclavePublicKey,
    /// The accepted measurement.
    pub measurement: [u8; 32],
    /// The platform that vouched.
    pub platform: String,
    /// SHA-256 of the zone's TLS public key (SPKI), when it serves web pages.
    pub tls_spki_sha256: Option<[u8; 32]>,
    /// Until when the attestation holds.
    pub not_after_ms: i64,
}

impl AttestedEnclave {
    /// Whether a simulated platform vouched (never true in production).
    pub fn is_simulated(&self) -> bool {
        self.platform == SIMULATED_PLATFORM
    }
}

/// Why an attestation was refused. The device then seals nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Not signed by any pinned platform root.
    #[error("the enclave attestation is not signed by a pinned platform root")]
    UntrustedSigner,
    /// The measurement is not on the accepted list.
    #[error("the enclave runs code this app does not accept (measurement not pinned)")]
    UnknownMeasurement,
    /// Simulated platform, policy says no.
    #[error("the enclave attestation comes from the simulated platform, which this app does not accept")]
    SimulatedRefused,
    /// Outside its validity period.
    #[error("the enclave attestation is not valid at this time (check the device clock)")]
    Expired,
    /// Malformed.
    #[error("the enclave attestation is malformed: {0}")]
    Malformed(&'static str),
    /// Not made for the nonce the client asked with: old, or made for someone else.
    #[error("the enclave attestation was not made for this request (nonce differs): it may be replayed")]
    NotFresh,
}

impl AttestationDocument {
    /// [`AttestationDocument::verify`], and the document must carry `nonce`: the client made
    /// it up and asked with it, so the document was signed after the question (the pattern of
    /// nitriding's `/enclave/attestation?nonce=` and the Nitro NSM document's nonce field).
    pub fn verify_fresh(
        &self,
        policy: &AttestationPolicy,
        now_ms: i64,
        nonce: &[u8],
    ) -> Result<AttestedEnclave, AttestationError> {
        let attested = self.verify(policy, now_ms)?;
        let body: AttestationBody =
            serde_json::from_str(&self.body).map_err(|_| AttestationError::Malformed("body is not an attestation"))?;
        match body.nonce {
            Some(n) if n == hex_lower(nonce) => Ok(attested),
            _ => Err(AttestationError::NotFresh),
        }
    }

    /// The body as it claims to be, without any check: for showing an operator what a zone
    /// says of itself. Trust only what [`AttestationDocument::verify`] returns.
    pub fn claimed_body(&self) -> Option<AttestationBody> {
        serde_json::from_str(&self.body).ok()
    }

    /// Checks signature, platform, measurement and validity against the pinned policy.
    pub fn verify(&self, policy: &AttestationPolicy, now_ms: i64) -> Result<AttestedEnclave, AttestationError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(AttestationError::Malformed("too large"));
        }
        let sig: [u8; 64] = decode_hex(&self.signature)
            .and_then(|v| v.try_into().ok())
            .ok_or(AttestationError::Malformed("signature is not 64 bytes of hex"))?;
        let root = policy
            .roots
            .iter()
            .find(|root| root.key.verify(SIGNATURE_CONTEXT, &[self.body.as_bytes()], &sig))
            .ok_or(AttestationError::UntrustedSigner)?;
        let body: AttestationBody =
            serde_json::from_str(&self.body).map_err(|_| AttestationError::Malformed("body is not an attestation"))?;
        if body.format != ATTESTATION_FORMAT {
            return Err(AttestationError::Malformed("unsupported format"));
        }
        // A root speaks only for its own platform: a simulated key cannot claim real hardware.
        if body.platform != root.platform {
            return Err(AttestationError::UntrustedSigner);
        }
        if root.platform == SIMULATED_PLATFORM && !policy.accept_simulated {
            return Err(AttestationError::SimulatedRefused);
        }
        let measurement: [u8; 32] = decode_hex(&body.measurement)
            .and_then(|v| v.try_into().ok())
            .ok_or(AttestationError::Malformed("measurement is not 32 bytes of hex"))?;
        if !policy.measurements.contains(&measurement) {
            return Err(AttestationError::UnknownMeasurement);
        }
        if now_ms < body.not_before_ms || now_ms > body.not_after_ms {
            return Err(AttestationError::Expired);
        }
        let key: [u8; 32] = decode_hex(&body.enclave_public_key)
            .and_then(|v| v.try_into().ok())
            .ok_or(AttestationError::Malformed("enclave key is not 32 bytes of hex"))?;
        let tls_spki_sha256 = match &body.tls_spki_sha256 {
            None => None,
            Some(h) => Some(
                decode_hex(h)
                    .and_then(|v| v.try_into().ok())
                    .ok_or(AttestationError::Malformed("TLS key hash is not 32 bytes of hex"))?,
            ),
        };
        Ok(AttestedEnclave {
            public_key: EnclavePublicKey(key),
            measurement,
            platform: body.platform,
            tls_spki_sha256,
            not_after_ms: body.not_after_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::EnclaveSecretKey;

    const NOW: i64 = 1_795_000_000_000;

    fn setup() -> (SigningKey, AttestationBody, AttestationPolicy) {
        let platform = SigningKey::make_random();
        let enclave = EnclaveSecretKey::make_random();
        let body = AttestationBody {
            format: ATTESTATION_FORMAT,
            platform: SIMULATED_PLATFORM.into(),
            measurement: "11".repeat(32),
            enclave_public_key: hex_lower(&enclave.public_key().0),
            tls_spki_sha256: None,
            nonce: None,
            not_before_ms: NOW - 1000,
            not_after_ms: NOW + 86_400_000,
        };
        let policy = AttestationPolicy {
            roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: platform.verifying_key() }],
            measurements: vec![[0x11; 32]],
            accept_simulated: true,
        };
        (platform, body, policy)
    }

    #[test]
    fn pinned_attestation_yields_the_enclave_key() {
        let (platform, body, policy) = setup();
        let attested = body.sign(&platform).verify(&policy, NOW).expect("accepted");
        assert_eq!(hex_lower(&attested.public_key.0), body.enclave_public_key);
        assert!(attested.is_simulated());
        assert_eq!(attested.tls_spki_sha256, None);
    }

    #[test]
    fn the_tls_key_hash_is_bound_by_the_signature() {
        let (platform, body, policy) = setup();
        let doc = body.clone().with_tls_spki(&[0x5a; 32]).sign(&platform);
        assert_eq!(doc.verify(&policy, NOW).expect("accepted").tls_spki_sha256, Some([0x5a; 32]));
        // A document made for no nonce, or another, is not fresh; the asked-for one is.
        assert_eq!(doc.verify_fresh(&policy, NOW, &[1; 16]).err(), Some(AttestationError::NotFresh));
        let fresh = body.clone().with_tls_spki(&[0x5a; 32]).with_nonce(&[1; 16]).sign(&platform);
        assert!(fresh.verify_fresh(&policy, NOW, &[1; 16]).is_ok());
        assert_eq!(fresh.verify_fresh(&policy, NOW, &[2; 16]).err(), Some(AttestationError::NotFresh));
        let mut renonced = fresh.clone();
        renonced.body = renonced.body.replacen(&"01".repeat(16), &"02".repeat(16), 1);
        assert_eq!(renonced.verify_fresh(&policy, NOW, &[2; 16]).err(), Some(AttestationError::UntrustedSigner));
        // A host that swaps in the hash of a key of its own breaks the signature.
        let mut swapped = doc.clone();
        swapped.body = swapped.body.replacen(&"5a".repeat(32), &"66".repeat(32), 1);
        assert_eq!(swapped.verify(&policy, NOW), Err(AttestationError::UntrustedSigner));
    }

    #[test]
    fn anything_outside_the_policy_is_refused() {
        let (platform, body, policy) = setup();
        let doc = body.sign(&platform);
        let other_root = AttestationPolicy {
            roots: vec![PinnedRoot {
                platform: SIMULATED_PLATFORM.into(),
                key: SigningKey::make_random().verifying_key(),
            }],
            ..policy.clone()
        };
        assert_eq!(doc.verify(&other_root, NOW), Err(AttestationError::UntrustedSigner));
        let other_code = AttestationPolicy { measurements: vec![[0x22; 32]], ..policy.clone() };
        assert_eq!(doc.verify(&other_code, NOW), Err(AttestationError::UnknownMeasurement));
        let production = AttestationPolicy { accept_simulated: false, ..policy.clone() };
        assert_eq!(doc.verify(&production, NOW), Err(AttestationError::SimulatedRefused));
        assert_eq!(doc.verify(&policy, NOW + 2 * 86_400_000), Err(AttestationError::Expired));
        assert_eq!(doc.verify(&policy, NOW - 5000), Err(AttestationError::Expired));
        // A swapped key in the body breaks the signature.
        let mut swapped = doc.clone();
        swapped.body = swapped.body.replacen(&body.enclave_public_key, &"ab".repeat(32), 1);
        assert_eq!(swapped.verify(&policy, NOW), Err(AttestationError::UntrustedSigner));
        // The simulated root signing a body that claims real hardware is not trusted.
        let disguised = AttestationBody { platform: "aws-nitro".into(), ..body.clone() }.sign(&platform);
        assert_eq!(disguised.verify(&policy, NOW), Err(AttestationError::UntrustedSigner));
        let mut unsigned = doc;
        unsigned.signature.clear();
        assert!(matches!(unsigned.verify(&policy, NOW), Err(AttestationError::Malformed(_))));
    }
}
