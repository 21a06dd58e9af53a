//! Primitives behind sealing, kept private: the HPKE suite, one-shot AEAD, HKDF, hashing, randomness.
//!
//! Nothing here is invented: every function is a thin call into a reviewed crate (`hpke`,
//! `chacha20poly1305`, `hkdf`, `sha2`, `ed25519-dalek`). The tests prove each against the
//! published vectors (RFC 9180, Wycheproof).

use chacha20poly1305::aead::{Aead as _, AeadInOut as _, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// DHKEM(X25519, HKDF-SHA256), RFC 9180 KEM id 0x0020.
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
/// HKDF-SHA256, RFC 9180 KDF id 0x0001.
pub(crate) type Kdf = hpke::kdf::HkdfSha256;
/// ChaCha20-Poly1305, RFC 9180 AEAD id 0x0003.
pub(crate) type Aead = hpke::aead::ChaCha20Poly1305;

/// Fills a fixed-size array from the operating system's random source.
///
/// A machine without a working random source cannot seal anything safely, so this panics
/// rather than continue with weak randomness.
pub(crate) fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system random source failed");
    out
}

/// A uniformly random integer in `0..bound` (rejection sampling, no modulo bias).
pub(crate) fn random_below(bound: u32) -> u32 {
    assert!(bound > 0, "random_below needs a positive bound");
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let v = u32::from_be_bytes(random_array::<4>());
        if v < zone {
            return v % bound;
        }
    }
}

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HKDF-SHA256 (RFC 5869) with an empty salt, expanding to one 32-byte key.
pub(crate) fn derive_key(ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let hk = hkdf::Hkdf::<Sha256>::new(None, ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(info, okm.as_mut()).expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// The AEAD failed to authenticate: wrong key, wrong nonce, wrong associated data or
/// tampered ciphertext. Deliberately carries no detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AeadFailure;

/// ChaCha20-Poly1305 (RFC 8439) encryption; the 16-byte tag is appended.
pub(crate) fn aead_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + 16);
    out.extend_from_slice(plaintext);
    aead_seal_in_place(key, nonce, aad, &mut out, 0);
    out
}

/// Encrypts `buf[start..]` in place and appends the tag: one buffer, no copy of the message.
pub(crate) fn aead_seal_in_place(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], buf: &mut Vec<u8>, start: usize) {
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(*nonce), aad, buf[start..].as_mut().into())
        .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    buf.extend_from_slice(&tag);
}

/// ChaCha20-Poly1305 (RFC 8439) decryption of `ciphertext || tag`.
pub(crate) fn aead_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AeadFailure> {
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    cipher.decrypt(&Nonce::from(*nonce), Payload { msg: ciphertext, aad }).map(Zeroizing::new).map_err(|_| AeadFailure)
}

/// HPKE failed: an unusable public key, an `enc` that is not a key, or a ciphertext that does
/// not authenticate. Deliberately carries no detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HpkeFailure;

/// Length of the HPKE `enc` (the ephemeral X25519 public key) for our suite.
pub(crate) const HPKE_ENC_LEN: usize = 32;

/// HPKE base-mode single-shot seal (RFC 9180 §6.1 `SealBase`): set up a sender context and
/// seal one message at sequence 0. Returns `enc` and the ciphertext (with its 16-byte tag).
pub(crate) fn seal_single_shot(
    public_key: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl hpke::rand_core::CryptoRng,
) -> Result<([u8; HPKE_ENC_LEN], Vec<u8>), HpkeFailure> {
    use hpke::{Deserializable as _, Serializable as _};
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(public_key).map_err(|_| HpkeFailure)?;
    let (enc, mut ctx) =
        hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&hpke::OpModeS::Base, &pk, info, rng).map_err(|_| HpkeFailure)?;
    let ciphertext = ctx.seal(plaintext, aad).map_err(|_| HpkeFailure)?;
    Ok((enc.to_bytes().into(), ciphertext))
}

/// HPKE base-mode single-shot open (RFC 9180 §6.1 `OpenBase`), the counterpart of
/// [`seal_single_shot`]: set up a receiver context from `enc` and open one message at sequence 0.
pub(crate) fn open_single_shot(
    secret_key: &<Kem as hpke::Kem>::PrivateKey,
    info: &[u8],
    aad: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, HpkeFailure> {
    use hpke::Deserializable as _;
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| HpkeFailure)?;
    let mut ctx = hpke::setup_receiver::<Aead, Kdf, Kem>(&hpke::OpModeR::Base, secret_key, &enc, info)
        .map_err(|_| HpkeFailure)?;
    ctx.open(ciphertext, aad).map(Zeroizing::new).map_err(|_| HpkeFailure)
}

/// Ed25519 verification with the strict rules (no small-order keys, canonical `S`).
pub(crate) fn ed25519_verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(signature);
    vk.verify_strict(message, &sig).is_ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
    use serde_json::Value;
    use std::convert::Infallible;

    /// The repository's independent test material (`testdata/`, sources in its README).
    pub(crate) fn testdata_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
    }

    pub(crate) fn load_json(rel: &str) -> Value {
        let path = testdata_dir().join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("test material {} is missing: {e}", path.display()));
        serde_json::from_str(&text).expect("test material is valid JSON")
    }

    pub(crate) fn hexv(v: &Value) -> Vec<u8> {
        hex::decode(v.as_str().expect("hex string")).expect("valid hex")
    }

    /// An "RNG" that replays fixed bytes: lets HPKE's sender run with the vector's `ikmE`.
    pub(crate) struct ReplayRng(pub Vec<u8>);
    impl hpke::rand_core::TryRng for ReplayRng {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            let mut b = [0u8; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut b = [0u8; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            assert!(dst.len() <= self.0.len(), "ReplayRng ran out of bytes");
            let rest = self.0.split_off(dst.len());
            dst.copy_from_slice(&self.0);
            self.0 = rest;
            Ok(())
        }
    }
    impl hpke::rand_core::TryCryptoRng for ReplayRng {}

    #[test]
    fn hpke_matches_rfc9180_vectors_for_our_suite() {
        let vectors = load_json("vectors/hpke/rfc9180_x25519_sha256_chacha20poly1305.json");
        let mut checked_modes = 0;
        for v in vectors.as_array().expect("array of suites") {
            assert_eq!(
                (v["kem_id"].as_u64(), v["kdf_id"].as_u64(), v["aead_id"].as_u64()),
                (Some(32), Some(1), Some(3))
            );
            let mode = v["mode"].as_u64().expect("mode");
            let info = hexv(&v["info"]);
            let (sk_r, pk_r) = Kem::derive_keypair(&hexv(&v["ikmR"]));
            // The crate keeps the scalar clamped (RFC 7748 §5); the vector prints it unclamped.
            let mut sk_expected = hexv(&v["skRm"]);
            sk_expected[0] &= 248;
            sk_expected[31] = (sk_expected[31] & 127) | 64;
            assert_eq!(sk_r.to_bytes().to_vec(), sk_expected, "DeriveKeyPair(ikmR) secret");
            assert_eq!(pk_r.to_bytes().to_vec(), hexv(&v["pkRm"]), "DeriveKeyPair(ikmR) public");

            let sender_keys = (mode == 2).then(|| Kem::derive_keypair(&hexv(&v["ikmS"])));
            let (mode_s, mode_r) = match (&sender_keys, mode) {
                (None, 0) => (OpModeS::Base, OpModeR::Base),
                (Some((sk_s, pk_s)), 2) => {
                    assert_eq!(pk_s.to_bytes().to_vec(), hexv(&v["pkSm"]));
                    (OpModeS::Auth((sk_s.clone(), pk_s.clone())), OpModeR::Auth(pk_s.clone()))
                }
                _ => panic!("unexpected mode {mode} in vector file"),
            };

            // Sender side, with the vector's ephemeral key material.
            let mut rng = ReplayRng(hexv(&v["ikmE"]));
            let (enc, mut ctx_s) =
                hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(&mode_s, &pk_r, &info, &mut rng).expect("setup sender");
            assert_eq!(enc.to_bytes().to_vec(), hexv(&v["enc"]), "enc");

            // Receiver side from the vector's enc.
            let enc_r = <Kem as hpke::Kem>::EncappedKey::from_bytes(&hexv(&v["enc"])).expect("enc parses");
            let mut ctx_r =
                hpke::setup_receiver::<Aead, Kdf, Kem>(&mode_r, &sk_r, &enc_r, &info).expect("setup receiver");

            let encryptions = v["encryptions"].as_array().expect("encryptions");
            assert!(encryptions.len() > 200);
            for (i, e) in encryptions.iter().enumerate() {
                let (aad, pt, ct) = (hexv(&e["aad"]), hexv(&e["pt"]), hexv(&e["ct"]));
                assert_eq!(ctx_s.seal(&pt, &aad).expect("seal"), ct, "mode {mode} encryption {i}");
                assert_eq!(ctx_r.open(&ct, &aad).expect("open"), pt, "mode {mode} decryption {i}");
            }
            for x in v["exports"].as_array().expect("exports") {
                let len = usize::try_from(x["L"].as_u64().expect("L")).expect("small");
                let mut out_s = vec![0u8; len];
                let mut out_r = vec![0u8; len];
                ctx_s.export(&hexv(&x["exporter_context"]), &mut out_s).expect("export");
                ctx_r.export(&hexv(&x["exporter_context"]), &mut out_r).expect("export");
                assert_eq!(out_s, hexv(&x["exported_value"]));
                assert_eq!(out_r, out_s);
            }
            checked_modes += 1;
        }
        assert_eq!(checked_modes, 2);
    }

    /// The RFC 9180 base-mode vector of our suite (mode 0).
    pub(crate) fn rfc9180_base_vector() -> Value {
        let vectors = load_json("vectors/hpke/rfc9180_x25519_sha256_chacha20poly1305.json");
        vectors
            .as_array()
            .expect("suites")
            .iter()
            .find(|v| v["mode"].as_u64() == Some(0))
            .expect("a base-mode vector")
            .clone()
    }

    #[test]
    fn single_shot_open_matches_the_rfc9180_base_mode_vector() {
        let v = rfc9180_base_vector();
        let (sk_r, _) = Kem::derive_keypair(&hexv(&v["ikmR"]));
        let first = &v["encryptions"][0];
        let (info, aad, enc, ct) = (hexv(&v["info"]), hexv(&first["aad"]), hexv(&v["enc"]), hexv(&first["ct"]));
        let pt = open_single_shot(&sk_r, &info, &aad, &enc, &ct).expect("opens");
        assert_eq!(pt.to_vec(), hexv(&first["pt"]));
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert_eq!(open_single_shot(&sk_r, &info, &aad, &enc, &flipped), Err(HpkeFailure));
        assert_eq!(open_single_shot(&sk_r, b"other info", &aad, &enc, &ct), Err(HpkeFailure));
        assert_eq!(open_single_shot(&sk_r, &info, b"other aad", &enc, &ct), Err(HpkeFailure));
        assert_eq!(open_single_shot(&sk_r, &info, &aad, &enc[..31], &ct), Err(HpkeFailure));
    }

    #[test]
    fn chacha20poly1305_matches_wycheproof() {
        let file = load_json("vectors/wycheproof/chacha20_poly1305_test.json");
        let (mut valid, mut invalid) = (0, 0);
        for group in file["testGroups"].as_array().expect("groups") {
            if group["ivSize"].as_u64() != Some(96) || group["keySize"].as_u64() != Some(256) {
                continue;
            }
            for t in group["tests"].as_array().expect("tests") {
                let key: [u8; 32] = hexv(&t["key"]).try_into().expect("32-byte key");
                let nonce: [u8; 12] = hexv(&t["iv"]).try_into().expect("12-byte nonce");
                let (aad, msg) = (hexv(&t["aad"]), hexv(&t["msg"]));
                let mut ct = hexv(&t["ct"]);
                ct.extend(hexv(&t["tag"]));
                let id = &t["tcId"];
                match t["result"].as_str() {
                    Some("valid") => {
                        assert_eq!(aead_seal(&key, &nonce, &aad, &msg), ct, "tcId {id}");
                        assert_eq!(aead_open(&key, &nonce, &aad, &ct).expect("opens").to_vec(), msg, "tcId {id}");
                        valid += 1;
                    }
                    _ => {
                        assert_eq!(aead_open(&key, &nonce, &aad, &ct), Err(AeadFailure), "tcId {id}");
                        invalid += 1;
                    }
                }
            }
        }
        assert_eq!((valid, invalid), (256, 60), "every 96-bit-nonce Wycheproof case was checked");
    }

    #[test]
    fn ed25519_verification_matches_wycheproof() {
        let file = load_json("vectors/wycheproof/ed25519_test.json");
        let mut count = 0;
        for group in file["testGroups"].as_array().expect("groups") {
            let pk: [u8; 32] = hexv(&group["publicKey"]["pk"]).try_into().expect("32-byte key");
            for t in group["tests"].as_array().expect("tests") {
                let msg = hexv(&t["msg"]);
                let sig = hexv(&t["sig"]);
                let ok = <[u8; 64]>::try_from(sig.as_slice()).map(|s| ed25519_verify(&pk, &msg, &s)).unwrap_or(false);
                let expected = t["result"].as_str() == Some("valid");
                assert_eq!(ok, expected, "tcId {} ({})", t["tcId"], t["comment"]);
                count += 1;
            }
        }
        assert!(count > 100);
    }

    #[test]
    fn random_below_stays_in_range_and_covers_it() {
        let mut seen = [false; 30];
        for _ in 0..3000 {
            let v = random_below(30);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
