//! The zone's vault: what only the sealed zone may write and read, kept by the host. A key
//! derived from the zone's secret key (HKDF-SHA256, RFC 5869, its own label) encrypts and
//! authenticates each item with ChaCha20-Poly1305 (RFC 8439) under a fresh random nonce, the
//! item's context (e.g. `clerk:anna`) as associated data. Unlike sealing to the zone's
//! *public* key, which anyone can do, only the zone can make an item that opens: the host can
//! neither read a clerk's password hash nor make a clerk of its own. It can still hand back an
//! older item for the same context (rollback; see the design's limits).
//!
//! Layout: `version (1) || nonce (12) || ciphertext || tag (16)`.

use zeroize::Zeroizing;

use crate::hazmat;
use crate::seal::EnclaveSecretKey;

/// First byte of every vault item.
pub const VAULT_VERSION: u8 = 1;
/// HKDF `info` of the vault key.
const KEY_LABEL: &[u8] = b"fieldseal zone vault v1";
/// Associated-data prefix; the item's context follows.
const AAD_LABEL: &[u8] = b"fieldseal vault item v1\0";
/// Largest item the vault opens (a clerk record is a few hundred bytes).
pub const MAX_ITEM: usize = 16 * 1024;

/// Why an item does not open. Deliberately without detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Not an item of this vault version, or over [`MAX_ITEM`].
    #[error("not a vault item")]
    Format,
    /// Another zone's item, another context, or changed.
    #[error("the vault item does not open for this zone and context")]
    DoesNotOpen,
}

/// The zone's vault key. Zeroized on drop.
pub struct VaultKey(Zeroizing<[u8; 32]>);

impl VaultKey {
    /// The vault key of the zone holding `zone`.
    pub fn derive(zone: &EnclaveSecretKey) -> Self {
        Self(hazmat::derive_key(zone.to_bytes().as_ref(), KEY_LABEL))
    }

    fn aad(context: &str) -> Vec<u8> {
        [AAD_LABEL, context.as_bytes()].concat()
    }

    /// Encrypts `plaintext` for `context` under a fresh random nonce.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        self.seal_with_nonce(context, plaintext, &hazmat::random_array())
    }

    pub(crate) fn seal_with_nonce(&self, context: &str, plaintext: &[u8], nonce: &[u8; 12]) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 12 + plaintext.len() + 16);
        out.push(VAULT_VERSION);
        out.extend_from_slice(nonce);
        out.extend_from_slice(&hazmat::aead_seal(&self.0, nonce, &Self::aad(context), plaintext));
        out
    }

    /// Opens an item made by [`VaultKey::seal`] for the same `context`.
    pub fn open(&self, context: &str, item: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if item.len() > MAX_ITEM || item.len() < 1 + 12 + 16 || item[0] != VAULT_VERSION {
            return Err(VaultError::Format);
        }
        let nonce: [u8; 12] = item[1..13].try_into().expect("12 bytes");
        hazmat::aead_open(&self.0, &nonce, &Self::aad(context), &item[13..]).map_err(|_| VaultError::DoesNotOpen)
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::hex_lower;

    fn zone() -> EnclaveSecretKey {
        EnclaveSecretKey::from_bytes(&[0x11; 32]).expect("a key")
    }

    /// The composition pinned: HKDF-SHA256(zone key, label) as the ChaCha20-Poly1305 key, the
    /// labelled context as associated data. The primitives themselves are proven against
    /// RFC 5869 and RFC 8439 vectors in `hazmat`; this fixes how they are put together.
    #[test]
    fn known_answer() {
        let key = VaultKey::derive(&zone());
        assert_eq!(
            hex_lower(key.0.as_ref()),
            hex_lower(hazmat::derive_key(zone().to_bytes().as_ref(), b"fieldseal zone vault v1").as_ref())
        );
        let item = key.seal_with_nonce("clerk:anna", b"{\"role\":\"admin\"}", &[7; 12]);
        insta::assert_snapshot!(hex_lower(&item));
        assert_eq!(&item[..13], &[[1u8].as_slice(), &[7; 12]].concat()[..]);
        let ct = hazmat::aead_seal(&key.0, &[7; 12], b"fieldseal vault item v1\0clerk:anna", b"{\"role\":\"admin\"}");
        assert_eq!(&item[13..], &ct[..]);
    }

    #[test]
    fn items_open_only_for_their_zone_and_context_and_unchanged() {
        let key = VaultKey::derive(&zone());
        let item = key.seal("clerk:anna", b"secret record");
        assert_eq!(key.open("clerk:anna", &item).expect("opens").as_slice(), b"secret record");
        assert_ne!(key.seal("clerk:anna", b"secret record"), item, "a fresh nonce each time");
        assert_eq!(key.open("clerk:tom", &item), Err(VaultError::DoesNotOpen), "moved to another clerk");
        let other = VaultKey::derive(&EnclaveSecretKey::from_bytes(&[0x22; 32]).expect("a key"));
        assert_eq!(other.open("clerk:anna", &item), Err(VaultError::DoesNotOpen), "another zone");
        for i in 0..item.len() {
            let mut changed = item.clone();
            changed[i] ^= 0x01;
            assert!(key.open("clerk:anna", &changed).is_err(), "byte {i} changed");
        }
        for cut in 0..item.len() {
            assert!(key.open("clerk:anna", &item[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(key.open("clerk:anna", &vec![1; MAX_ITEM + 1]), Err(VaultError::Format));
        assert!(!format!("{key:?}").contains("11"), "no key in Debug");
    }
}
