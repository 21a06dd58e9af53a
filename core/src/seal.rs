//! Sealing and opening of case envelopes and photo blobs: the one place that composes the crypto.
//!
//! * The record is sealed with HPKE base mode (RFC 9180: DHKEM(X25519, HKDF-SHA256),
//!   HKDF-SHA256, ChaCha20-Poly1305) to the enclave key, `info = "fieldseal/envelope/v1"`,
//!   the clear header as associated data.
//! * Photo `i` is sealed with ChaCha20-Poly1305 under a key exported from the same HPKE context
//!   (`export("fieldseal/photo-key/v1" || envelope_id || i, 32)`), a zero nonce (each key seals
//!   exactly one blob) and the blob's clear prefix as associated data. The header carries each
//!   blob's length and SHA-256, so the signature covers the photos too.
//! * The device signs `"fieldseal/envelope-signature/v1\0" || header || ciphertext` with Ed25519.

use std::fmt;

use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use zeroize::{Zeroize, Zeroizing};

use crate::hazmat::{self, Aead, Kdf, Kem};
use crate::wire::envelope::{
    self, BLOB_PREFIX_LEN, EnvelopeHeader, FormatError, Id16, MAX_BLOB_LEN, MAX_PHOTOS, MAX_RECORD_CIPHERTEXT,
    PhotoEntry,
};

const HPKE_INFO: &[u8] = b"fieldseal/envelope/v1";
const PHOTO_KEY_LABEL: &[u8] = b"fieldseal/photo-key/v1";
const SIGNATURE_CONTEXT: &[u8] = b"fieldseal/envelope-signature/v1\0";
const BLOB_NONCE: [u8; 12] = [0u8; 12];

/// The enclave's public X25519 key, the only key a device seals to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EnclavePublicKey(pub [u8; 32]);

impl fmt::Debug for EnclavePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnclavePublicKey({})", hex_lower(&self.0))
    }
}

/// The enclave's private X25519 key. Zeroized on drop, never printed.
pub struct EnclaveSecretKey(<Kem as hpke::Kem>::PrivateKey);

impl EnclaveSecretKey {
    /// A fresh random key pair.
    pub fn make_random() -> Self {
        Self(Kem::gen_keypair().0)
    }
    /// Restores a key from its 32 bytes (as sealed at rest by the enclave).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes).map(Self).map_err(|_| KeyError::Invalid)
    }
    /// The 32 secret bytes, for sealing at rest. Zeroized when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.0.to_bytes());
        out
    }
    /// The matching public key.
    /// The HPKE private key, for the other compositions in this crate.
    pub(crate) fn hpke_key(&self) -> &<Kem as hpke::Kem>::PrivateKey {
        &self.0
    }

    pub fn public_key(&self) -> EnclavePublicKey {
        let pk = Kem::sk_to_pk(&self.0);
        EnclavePublicKey(pk.to_bytes().into())
    }
}

impl fmt::Debug for EnclaveSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnclaveSecretKey(<secret>)")
    }
}

/// A device's Ed25519 signing key. Zeroized on drop, never printed.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh random signing key (`make_*`: random).
    pub fn make_random() -> Self {
        let mut seed = hazmat::random_array::<32>();
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        seed.zeroize();
        Self(key)
    }
    /// Restores a key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }
    /// The 32-byte seed, for wrapping at rest. Zeroized when dropped.
    pub fn to_seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key().to_bytes())
    }
    /// Signs `context || message` (context strings separate the uses of one key).
    pub(crate) fn sign(&self, context: &[u8], message: &[&[u8]]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.0.sign(&signed_message(context, message)).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<secret>)")
    }
}

/// A device's Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(pub [u8; 32]);

impl VerifyingKey {
    /// Checks a signature over `context || message`.
    pub(crate) fn verify(&self, context: &[u8], message: &[&[u8]], signature: &[u8; 64]) -> bool {
        hazmat::ed25519_verify(&self.0, &signed_message(context, message), signature)
    }
}

impl serde::Serialize for VerifyingKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::wire::hex_array::serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for VerifyingKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::wire::hex_array::deserialize(d).map(Self)
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", hex_lower(&self.0))
    }
}

/// 32 fresh random bytes for a symmetric key (`make_*`: random). Zeroized on drop.
pub fn make_random_key() -> Zeroizing<[u8; 32]> {
    Zeroizing::new(hazmat::random_array())
}

/// `context || message parts`: what a signature covers. (Strict verification needs the
/// message in one piece, so signing and verifying build it the same way.)
fn signed_message(context: &[u8], message: &[&[u8]]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(context.len() + message.iter().map(|m| m.len()).sum::<usize>());
    buf.extend_from_slice(context);
    for m in message {
        buf.extend_from_slice(m);
    }
    buf
}

/// Strict hex: digits and a-f/A-F only (no signs, no spaces), even length.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// Lower-case hex of bytes.
pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key's bytes are not a valid key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Wrong length or not a valid curve point / scalar encoding.
    #[error("the key bytes are not a valid key")]
    Invalid,
}

/// Why an envelope or blob did not open. Each case names what failed, never any content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The bytes are not a well-formed envelope or blob.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The device signature does not verify with the given device key.
    #[error("the device signature does not verify: forged, tampered or from another device")]
    BadSignature,
    /// The record ciphertext does not decrypt: wrong enclave key or tampered ciphertext.
    #[error("the sealed record does not decrypt: wrong enclave key or tampered ciphertext")]
    Decrypt,
    /// The blob belongs to another envelope or another photo slot.
    #[error(
        "the photo blob belongs to envelope {found_envelope} photo {found_index}, not photo {expected_index} of this envelope"
    )]
    BlobMismatch { expected_index: u16, found_envelope: Id16, found_index: u16 },
    /// The blob's length or hash differs from what the signed header says.
    #[error("photo blob {index} does not match the signed header (length or SHA-256 differs)")]
    BlobDigest { index: u16 },
    /// The blob does not decrypt.
    #[error("photo blob {index} does not decrypt: tampered or wrong key")]
    BlobDecrypt { index: u16 },
    /// No such photo index in this envelope.
    #[error("this envelope has no photo {index}")]
    NoSuchPhoto { index: u16 },
}

/// Why sealing refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The enclave public key is not a valid X25519 key.
    #[error("the enclave public key is not valid")]
    EnclaveKey,
    /// More photos, or bigger ones, than the format allows.
    #[error("{what} is over its limit ({value} > {limit})")]
    OverLimit { what: &'static str, value: u64, limit: u64 },
    /// Sequence numbers start at 1; the first envelope has an all-zero previous hash.
    #[error("the chain position is invalid: {0}")]
    Chain(&'static str),
}

/// What a device hands to [`seal`]. The plaintext is borrowed; the caller zeroizes it.
pub struct SealRequest<'a> {
    /// Fresh random id for this envelope.
    pub envelope_id: Id16,
    /// The sealing device.
    pub device_id: Id16,
    /// Next sequence number of this device (1-based).
    pub sequence: u64,
    /// Hash of the device's previous envelope (zero for sequence 1).
    pub prev_hash: [u8; 32],
    /// The serialised case record.
    pub record: &'a [u8],
    /// The processed photos, in index order.
    pub photos: &'a [&'a [u8]],
}

/// A sealed case, ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCase {
    /// The decoded header of `envelope`.
    pub header: EnvelopeHeader,
    /// The full envelope: header, record ciphertext, signature.
    pub envelope: Vec<u8>,
    /// SHA-256 of `envelope`: the next envelope's `prev_hash`.
    pub envelope_hash: [u8; 32],
    /// Sealed photo blobs, index order.
    pub blobs: Vec<Vec<u8>>,
}

/// Seals a case to the enclave key and signs it with the device key.
pub fn seal(req: &SealRequest<'_>, enclave: &EnclavePublicKey, device: &SigningKey) -> Result<SealedCase, SealError> {
    seal_with_rng(req, enclave, device, &mut hpke::rand_core::UnwrapErr(getrandom::SysRng))
}

/// [`seal`] with the HPKE ephemeral randomness supplied: for pinned format vectors only.
pub(crate) fn seal_with_rng(
    req: &SealRequest<'_>,
    enclave: &EnclavePublicKey,
    device: &SigningKey,
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<SealedCase, SealError> {
    if req.sequence == 0 {
        return Err(SealError::Chain("sequence numbers start at 1"));
    }
    if req.sequence == 1 && req.prev_hash != [0u8; 32] {
        return Err(SealError::Chain("the first envelope has no predecessor"));
    }
    if req.photos.len() > MAX_PHOTOS as usize {
        return Err(SealError::OverLimit {
            what: "photo count",
            value: req.photos.len() as u64,
            limit: MAX_PHOTOS.into(),
        });
    }
    let record_len = req.record.len() + 16;
    if record_len > MAX_RECORD_CIPHERTEXT as usize {
        return Err(SealError::OverLimit {
            what: "record",
            value: record_len as u64,
            limit: MAX_RECORD_CIPHERTEXT.into(),
        });
    }
    for p in req.photos {
        let len = BLOB_PREFIX_LEN + p.len() + 16;
        if len > MAX_BLOB_LEN as usize {
            return Err(SealError::OverLimit { what: "photo", value: len as u64, limit: MAX_BLOB_LEN.into() });
        }
    }

    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&enclave.0).map_err(|_| SealError::EnclaveKey)?;
    let (enc, mut ctx) = hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&OpModeS::Base, &pk, HPKE_INFO, rng)
        .map_err(|_| SealError::EnclaveKey)?;

    let mut blobs = Vec::with_capacity(req.photos.len());
    let mut entries = Vec::with_capacity(req.photos.len());
    for (i, photo) in req.photos.iter().enumerate() {
        let index = u16::try_from(i).expect("photo count is at most MAX_PHOTOS");
        let key = export_photo_key(|label, out| ctx.export(label, out), &req.envelope_id, index);
        let prefix = envelope::blob_prefix(&req.envelope_id, index);
        let mut blob = Vec::with_capacity(BLOB_PREFIX_LEN + photo.len() + 16);
        blob.extend_from_slice(&prefix);
        blob.extend_from_slice(photo);
        hazmat::aead_seal_in_place(&key, &BLOB_NONCE, &prefix, &mut blob, BLOB_PREFIX_LEN);
        entries.push(PhotoEntry {
            sealed_len: u32::try_from(blob.len()).expect("checked against MAX_BLOB_LEN"),
            sha256: hazmat::sha256(&[&blob]),
        });
        blobs.push(blob);
    }

    let header = EnvelopeHeader {
        envelope_id: req.envelope_id,
        device_id: req.device_id,
        sequence: req.sequence,
        prev_hash: req.prev_hash,
        enc: enc.to_bytes().into(),
        record_len: u32::try_from(record_len).expect("checked against MAX_RECORD_CIPHERTEXT"),
        photos: entries,
    };
    let header_bytes = header.to_bytes();
    let ciphertext = ctx.seal(req.record, &header_bytes).map_err(|_| SealError::EnclaveKey)?;
    debug_assert_eq!(ciphertext.len(), record_len);
    let signature = device.sign(SIGNATURE_CONTEXT, &[&header_bytes, &ciphertext]);

    let mut envelope = header_bytes;
    envelope.extend_from_slice(&ciphertext);
    envelope.extend_from_slice(&signature);
    let envelope_hash = hazmat::sha256(&[&envelope]);
    Ok(SealedCase { header, envelope, envelope_hash, blobs })
}

fn export_photo_key(
    export: impl FnOnce(&[u8], &mut [u8]) -> Result<(), hpke::HpkeError>,
    envelope_id: &Id16,
    index: u16,
) -> Zeroizing<[u8; 32]> {
    let mut label = Vec::with_capacity(PHOTO_KEY_LABEL.len() + 18);
    label.extend_from_slice(PHOTO_KEY_LABEL);
    label.extend_from_slice(&envelope_id.0);
    label.extend_from_slice(&index.to_be_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    export(&label, key.as_mut()).expect("32 bytes is a valid HPKE export length");
    key
}

/// SHA-256 of an envelope's bytes (the chain link).
pub fn envelope_hash(envelope: &[u8]) -> [u8; 32] {
    sha256(envelope)
}

/// SHA-256 of bytes (blob digests, measurements).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    hazmat::sha256(&[bytes])
}

/// Checks an envelope's layout and device signature without decrypting anything.
/// This is all the server can and must do before it stores an upload.
pub fn verify(envelope_bytes: &[u8], device: &VerifyingKey) -> Result<EnvelopeHeader, OpenError> {
    verified_view(envelope_bytes, device).map(|view| view.header)
}

fn verified_view<'a>(envelope_bytes: &'a [u8], device: &VerifyingKey) -> Result<envelope::EnvelopeView<'a>, OpenError> {
    let view = envelope::parse(envelope_bytes)?;
    if !device.verify(SIGNATURE_CONTEXT, &[view.header_bytes, view.ciphertext], &view.signature) {
        return Err(OpenError::BadSignature);
    }
    Ok(view)
}

/// An opened envelope: the record plaintext and the keys of its photo blobs.
pub struct OpenedEnvelope {
    /// The verified header.
    pub header: EnvelopeHeader,
    /// The decrypted record bytes. Zeroized on drop.
    pub record: Zeroizing<Vec<u8>>,
    blob_keys: Vec<Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for OpenedEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedEnvelope").field("header", &self.header).field("record", &"<sealed content>").finish()
    }
}

/// Verifies the device signature, then decrypts the record with the enclave key.
pub fn open(
    envelope_bytes: &[u8],
    device: &VerifyingKey,
    enclave: &EnclaveSecretKey,
) -> Result<OpenedEnvelope, OpenError> {
    let view = verified_view(envelope_bytes, device)?;
    let header = view.header.clone();
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&header.enc).map_err(|_| OpenError::Decrypt)?;
    let mut ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(&OpModeR::Base, &enclave.0, &enc, HPKE_INFO)
        .map_err(|_| OpenError::Decrypt)?;
    let record = Zeroizing::new(ctx.open(view.ciphertext, view.header_bytes).map_err(|_| OpenError::Decrypt)?);
    let blob_keys = (0..header.photos.len())
        .map(|i| {
            let index = u16::try_from(i).expect("at most MAX_PHOTOS");
            export_photo_key(|label, out| ctx.export(label, out), &header.envelope_id, index)
        })
        .collect();
    Ok(OpenedEnvelope { header, record, blob_keys })
}

/// Checks a sealed blob against a verified header without decrypting it (server side).
pub fn check_blob(header: &EnvelopeHeader, index: u16, blob: &[u8]) -> Result<(), OpenError> {
    let entry = header.photos.get(usize::from(index)).ok_or(OpenError::NoSuchPhoto { index })?;
    let view = envelope::parse_blob(blob)?;
    if view.envelope_id != header.envelope_id || view.index != index {
        return Err(OpenError::BlobMismatch {
            expected_index: index,
            found_envelope: view.envelope_id,
            found_index: view.index,
        });
    }
    if blob.len() != entry.sealed_len as usize || hazmat::sha256(&[blob]) != entry.sha256 {
        return Err(OpenError::BlobDigest { index });
    }
    Ok(())
}

impl OpenedEnvelope {
    /// Checks blob `index` against the signed header and decrypts it.
    pub fn open_blob(&self, index: u16, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        check_blob(&self.header, index, blob)?;
        let key = self.blob_keys.get(usize::from(index)).ok_or(OpenError::NoSuchPhoto { index })?;
        let view = envelope::parse_blob(blob)?;
        hazmat::aead_open(key, &BLOB_NONCE, view.prefix, view.ciphertext).map_err(|_| OpenError::BlobDecrypt { index })
    }

    /// Decrypts a blob whose digest check is deliberately skipped (tests of the AEAD layer).
    #[cfg(test)]
    fn open_blob_unchecked(&self, index: u16, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let key = &self.blob_keys[usize::from(index)];
        let view = envelope::parse_blob(blob)?;
        hazmat::aead_open(key, &BLOB_NONCE, view.prefix, view.ciphertext).map_err(|_| OpenError::BlobDecrypt { index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazmat::tests::ReplayRng;
    use crate::wire::envelope::{HEADER_FIXED_LEN, SIGNATURE_LEN};
    use proptest::prelude::*;

    struct Fixture {
        enclave: EnclaveSecretKey,
        device: SigningKey,
    }

    fn fixture() -> Fixture {
        Fixture { enclave: EnclaveSecretKey::make_random(), device: SigningKey::make_random() }
    }

    fn request<'a>(record: &'a [u8], photos: &'a [&'a [u8]]) -> SealRequest<'a> {
        SealRequest {
            envelope_id: Id16([1; 16]),
            device_id: Id16([2; 16]),
            sequence: 5,
            prev_hash: [3; 32],
            record,
            photos,
        }
    }

    #[test]
    fn sealed_case_opens_with_the_right_keys() {
        let f = fixture();
        let photos: [&[u8]; 2] = [b"first photo bytes", b"second photo"];
        let sealed = seal(&request(b"{\"record\":1}", &photos), &f.enclave.public_key(), &f.device).expect("seals");
        let opened = open(&sealed.envelope, &f.device.verifying_key(), &f.enclave).expect("opens");
        assert_eq!(&opened.record[..], b"{\"record\":1}");
        assert_eq!(opened.header, sealed.header);
        for (i, blob) in sealed.blobs.iter().enumerate() {
            assert_eq!(&opened.open_blob(i as u16, blob).expect("blob opens")[..], photos[i]);
        }
        assert_eq!(envelope_hash(&sealed.envelope), sealed.envelope_hash);
    }

    #[test]
    fn wrong_enclave_key_fails_to_decrypt() {
        let f = fixture();
        let sealed = seal(&request(b"record", &[]), &f.enclave.public_key(), &f.device).expect("seals");
        let other = EnclaveSecretKey::make_random();
        assert_eq!(open(&sealed.envelope, &f.device.verifying_key(), &other).expect_err("fails"), OpenError::Decrypt);
    }

    #[test]
    fn other_devices_key_is_rejected() {
        let f = fixture();
        let sealed = seal(&request(b"record", &[]), &f.enclave.public_key(), &f.device).expect("seals");
        let other = SigningKey::make_random().verifying_key();
        assert_eq!(verify(&sealed.envelope, &other), Err(OpenError::BadSignature));
    }

    #[test]
    fn every_single_byte_flip_of_the_envelope_fails_specifically() {
        let f = fixture();
        let photos: [&[u8]; 1] = [b"photo"];
        let sealed = seal(&request(b"a small record", &photos), &f.enclave.public_key(), &f.device).expect("seals");
        let vk = f.device.verifying_key();
        for i in 0..sealed.envelope.len() {
            let mut bad = sealed.envelope.clone();
            bad[i] ^= 0x01;
            let err = open(&bad, &vk, &f.enclave).expect_err("tampered envelope must not open");
            let expected_kind = match i {
                0 => matches!(err, OpenError::Format(FormatError::UnsupportedVersion(_))),
                1 => matches!(err, OpenError::Format(FormatError::UnsupportedSuite(_))),
                // Length fields change the layout: truncation, trailing bytes or limits.
                _ if (HEADER_FIXED_LEN - 5..HEADER_FIXED_LEN + 4).contains(&i) => {
                    matches!(err, OpenError::Format(_) | OpenError::BadSignature)
                }
                _ => err == OpenError::BadSignature,
            };
            assert!(expected_kind, "byte {i} flipped gave {err:?}");
        }
    }

    #[test]
    fn tampered_ciphertext_with_a_valid_signature_fails_to_decrypt() {
        // A device that signs garbage must still not get it past the AEAD.
        let f = fixture();
        let sealed = seal(&request(b"record", &[]), &f.enclave.public_key(), &f.device).expect("seals");
        let view = envelope::parse(&sealed.envelope).expect("parses");
        let mut ct = view.ciphertext.to_vec();
        ct[0] ^= 0x80;
        let sig = f.device.sign(SIGNATURE_CONTEXT, &[view.header_bytes, &ct]);
        let mut bad = view.header_bytes.to_vec();
        bad.extend(&ct);
        bad.extend(sig);
        assert_eq!(open(&bad, &f.device.verifying_key(), &f.enclave).expect_err("fails"), OpenError::Decrypt);
    }

    #[test]
    fn every_single_byte_flip_of_a_blob_fails_specifically() {
        let f = fixture();
        let photos: [&[u8]; 2] = [b"photo zero", b"photo one"];
        let sealed = seal(&request(b"record", &photos), &f.enclave.public_key(), &f.device).expect("seals");
        let opened = open(&sealed.envelope, &f.device.verifying_key(), &f.enclave).expect("opens");
        let blob = &sealed.blobs[1];
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x04;
            let err = opened.open_blob(1, &bad).expect_err("tampered blob must not open");
            let ok = match i {
                0 => matches!(err, OpenError::Format(FormatError::UnsupportedVersion(_))),
                1..=18 => matches!(err, OpenError::BlobMismatch { .. }),
                _ => err == OpenError::BlobDigest { index: 1 },
            };
            assert!(ok, "blob byte {i} flipped gave {err:?}");
            // Below the digest check, the AEAD catches it on its own too.
            if i >= BLOB_PREFIX_LEN {
                assert_eq!(opened.open_blob_unchecked(1, &bad), Err(OpenError::BlobDecrypt { index: 1 }));
            }
        }
        // A blob in the wrong slot is refused, as is a truncated one.
        assert!(matches!(opened.open_blob(0, blob), Err(OpenError::BlobMismatch { .. })));
        assert!(opened.open_blob(1, &blob[..blob.len() - 1]).is_err());
        assert_eq!(opened.open_blob(2, blob).expect_err("no slot"), OpenError::NoSuchPhoto { index: 2 });
    }

    #[test]
    fn truncated_envelopes_fail_as_truncated() {
        let f = fixture();
        let sealed = seal(&request(b"record", &[]), &f.enclave.public_key(), &f.device).expect("seals");
        for cut in [0, 1, 50, HEADER_FIXED_LEN, sealed.envelope.len() - SIGNATURE_LEN, sealed.envelope.len() - 1] {
            let err = open(&sealed.envelope[..cut], &f.device.verifying_key(), &f.enclave).expect_err("fails");
            assert!(matches!(err, OpenError::Format(FormatError::Truncated { .. })), "cut {cut}: {err:?}");
        }
    }

    #[test]
    fn invalid_chain_positions_are_refused_before_sealing() {
        let f = fixture();
        let mut req = request(b"r", &[]);
        req.sequence = 0;
        assert!(matches!(seal(&req, &f.enclave.public_key(), &f.device), Err(SealError::Chain(_))));
        req.sequence = 1;
        assert!(matches!(seal(&req, &f.enclave.public_key(), &f.device), Err(SealError::Chain(_))));
        req.prev_hash = [0; 32];
        assert!(seal(&req, &f.enclave.public_key(), &f.device).is_ok());
    }

    /// Pins the exact bytes of format version 1: a change here is a format change and must be
    /// deliberate (bump `ENVELOPE_VERSION`, update `docs/envelope.md`).
    #[test]
    fn envelope_format_v1_is_pinned() {
        let enclave = EnclaveSecretKey::from_bytes(&[0x42; 32]).expect("valid scalar bytes");
        let device = SigningKey::from_seed(&[0x24; 32]);
        let photos: [&[u8]; 1] = [b"pinned photo"];
        let req = SealRequest {
            envelope_id: Id16([0xE1; 16]),
            device_id: Id16([0xD1; 16]),
            sequence: 1,
            prev_hash: [0; 32],
            record: b"{\"pinned\":true}",
            photos: &photos,
        };
        let sealed =
            seal_with_rng(&req, &enclave.public_key(), &device, &mut ReplayRng(vec![0x77; 32])).expect("seals");
        insta::assert_snapshot!("envelope_v1_hex", hex_lower(&sealed.envelope));
        insta::assert_snapshot!("blob_v1_hex", hex_lower(&sealed.blobs[0]));
        // And the pinned bytes still open.
        let opened = open(&sealed.envelope, &device.verifying_key(), &enclave).expect("opens");
        assert_eq!(&opened.record[..], b"{\"pinned\":true}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn any_record_and_photos_round_trip(record in proptest::collection::vec(any::<u8>(), 0..2048),
                                            photos in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..4),
                                            sequence in 2u64..u64::MAX) {
            let f = fixture();
            let refs: Vec<&[u8]> = photos.iter().map(|p| p.as_slice()).collect();
            let mut req = request(&record, &refs);
            req.sequence = sequence;
            let sealed = seal(&req, &f.enclave.public_key(), &f.device).expect("seals");
            let opened = open(&sealed.envelope, &f.device.verifying_key(), &f.enclave).expect("opens");
            prop_assert_eq!(&opened.record[..], &record[..]);
            for (i, b) in sealed.blobs.iter().enumerate() {
                prop_assert_eq!(&opened.open_blob(i as u16, b).expect("opens")[..], &photos[i][..]);
            }
        }
    }
}
