//! A citizen's objection to a ticket, sealed to the enclave the moment the portal receives it.
//!
//! The statement and the optional photo are sealed with HPKE single-shot base mode (RFC 9180,
//! the same suite as envelopes) to the enclave key, `info = "fieldseal/objection/v1"`, with
//! the clear prefix (magic, version, ticket number) as associated data, so a sealed objection
//! cannot be moved to another ticket. Layout:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `FSOB` |
//! | 1 | version (1) |
//! | 12 | ticket number digits |
//! | 32 | HPKE `enc` |
//! | rest | ciphertext of the body (statement, photo) with its 16-byte tag |
//!
//! The body is: 4-byte big-endian statement length, the UTF-8 statement, then the photo (a
//! processed JPEG, possibly empty). Only the enclave key opens it.

use std::fmt;

use zeroize::Zeroizing;

use crate::hazmat::{open_single_shot, seal_single_shot};
use crate::seal::{EnclavePublicKey, EnclaveSecretKey, SealError};
use crate::ticket::TicketNumber;

const MAGIC: &[u8; 4] = b"FSOB";
const VERSION: u8 = 1;
const INFO: &[u8] = b"fieldseal/objection/v1";
const TICKET_LEN: usize = 12;
const PREFIX_LEN: usize = 4 + 1 + TICKET_LEN;
const ENC_LEN: usize = 32;
/// Longest statement, in characters.
pub const MAX_STATEMENT_CHARS: usize = 5000;
/// Shortest statement, in characters.
pub const MIN_STATEMENT_CHARS: usize = 10;
/// Largest sealed objection (statement plus one processed photo).
pub const MAX_SEALED_LEN: usize = 8 << 20;

/// What a citizen objects with. Holds personal data: redacting `Debug`, zeroized on drop.
pub struct Objection {
    /// The statement as typed (trimmed).
    pub statement: Zeroizing<String>,
    /// The processed photo (JPEG, metadata stripped), if one was attached.
    pub photo: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for Objection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Objection")
            .field("statement", &"<redacted>")
            .field("photo", &self.photo.as_ref().map(|p| p.len()))
            .finish()
    }
}

/// Why an objection was refused or does not open. Never carries its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectionError {
    /// The statement is too short or too long, or holds control characters.
    #[error("the statement must be {MIN_STATEMENT_CHARS} to {MAX_STATEMENT_CHARS} characters of text")]
    Statement,
    /// Too large to seal.
    #[error("the objection is too large (at most {} MB with its photo)", MAX_SEALED_LEN >> 20)]
    TooLarge,
    /// The enclave key is not usable.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Not a sealed objection, or one for another ticket.
    #[error("not a sealed objection for this ticket")]
    Format,
    /// Does not decrypt with this key, or was tampered with.
    #[error("the sealed objection does not decrypt: wrong enclave key or tampered")]
    Decrypt,
}

impl Objection {
    /// Checks and trims the statement; the photo is expected to have been through the pipeline.
    pub fn new(statement: &str, photo: Option<Vec<u8>>) -> Result<Self, ObjectionError> {
        let statement = statement.trim();
        let chars = statement.chars().count();
        let bad_control = statement.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
        if !(MIN_STATEMENT_CHARS..=MAX_STATEMENT_CHARS).contains(&chars) || bad_control {
            return Err(ObjectionError::Statement);
        }
        Ok(Self { statement: Zeroizing::new(statement.to_owned()), photo: photo.map(Zeroizing::new) })
    }

    fn body(&self) -> Result<Zeroizing<Vec<u8>>, ObjectionError> {
        let photo: &[u8] = self.photo.as_deref().map_or(&[], |p| p.as_slice());
        let len = u32::try_from(self.statement.len()).map_err(|_| ObjectionError::Statement)?;
        let mut body = Zeroizing::new(Vec::with_capacity(4 + self.statement.len() + photo.len()));
        body.extend_from_slice(&len.to_be_bytes());
        body.extend_from_slice(self.statement.as_bytes());
        body.extend_from_slice(photo);
        if PREFIX_LEN + ENC_LEN + body.len() + 16 > MAX_SEALED_LEN {
            return Err(ObjectionError::TooLarge);
        }
        Ok(body)
    }

    /// Seals the objection for `ticket` to the enclave key.
    pub fn seal(&self, ticket: &TicketNumber, enclave: &EnclavePublicKey) -> Result<Vec<u8>, ObjectionError> {
        self.seal_with_rng(ticket, enclave, &mut hpke::rand_core::UnwrapErr(getrandom::SysRng))
    }

    pub(crate) fn seal_with_rng(
        &self,
        ticket: &TicketNumber,
        enclave: &EnclavePublicKey,
        rng: &mut impl hpke::rand_core::CryptoRng,
    ) -> Result<Vec<u8>, ObjectionError> {
        let body = self.body()?;
        let prefix = prefix(ticket);
        let (enc, ciphertext) =
            seal_single_shot(&enclave.0, INFO, &prefix, &body, rng).map_err(|_| SealError::EnclaveKey)?;
        let mut out = Vec::with_capacity(PREFIX_LEN + ENC_LEN + ciphertext.len());
        out.extend_from_slice(&prefix);
        out.extend_from_slice(&enc);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// Opens a sealed objection for `ticket` with the enclave key.
    pub fn open(sealed: &[u8], ticket: &TicketNumber, key: &EnclaveSecretKey) -> Result<Self, ObjectionError> {
        if sealed.len() < PREFIX_LEN + ENC_LEN + 16 || sealed.len() > MAX_SEALED_LEN {
            return Err(ObjectionError::Format);
        }
        let (prefix, rest) = sealed.split_at(PREFIX_LEN);
        if prefix != self::prefix(ticket).as_slice() {
            return Err(ObjectionError::Format);
        }
        let (enc, ciphertext) = rest.split_at(ENC_LEN);
        let body =
            open_single_shot(key.hpke_key(), INFO, prefix, enc, ciphertext).map_err(|_| ObjectionError::Decrypt)?;
        let len_bytes: [u8; 4] = body.get(..4).and_then(|b| b.try_into().ok()).ok_or(ObjectionError::Format)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let statement = body.get(4..4 + len).ok_or(ObjectionError::Format)?;
        let statement = std::str::from_utf8(statement).map_err(|_| ObjectionError::Format)?;
        let photo = &body[4 + len..];
        Ok(Self {
            statement: Zeroizing::new(statement.to_owned()),
            photo: (!photo.is_empty()).then(|| Zeroizing::new(photo.to_vec())),
        })
    }
}

fn prefix(ticket: &TicketNumber) -> [u8; PREFIX_LEN] {
    let mut p = [0u8; PREFIX_LEN];
    p[..4].copy_from_slice(MAGIC);
    p[4] = VERSION;
    let digits = ticket.digits().as_bytes();
    p[5..5 + digits.len().min(TICKET_LEN)].copy_from_slice(&digits[..digits.len().min(TICKET_LEN)]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazmat::Kem;
    use crate::hazmat::tests::{ReplayRng, hexv, load_json};
    use hpke::{Kem as _, Serializable as _};

    fn ticket() -> TicketNumber {
        TicketNumber::issue(42, 7).expect("valid ticket")
    }

    #[test]
    fn single_shot_seal_matches_the_rfc9180_base_mode_vector() {
        let vectors = load_json("vectors/hpke/rfc9180_x25519_sha256_chacha20poly1305.json");
        let v = vectors
            .as_array()
            .expect("suites")
            .iter()
            .find(|v| v["mode"].as_u64() == Some(0))
            .expect("a base-mode vector");
        let (_, pk_r) = Kem::derive_keypair(&hexv(&v["ikmR"]));
        let pk: [u8; 32] = pk_r.to_bytes().into();
        let first = &v["encryptions"][0];
        let (enc, ct) = seal_single_shot(
            &pk,
            &hexv(&v["info"]),
            &hexv(&first["aad"]),
            &hexv(&first["pt"]),
            &mut ReplayRng(hexv(&v["ikmE"])),
        )
        .expect("seals");
        assert_eq!(enc.to_vec(), hexv(&v["enc"]));
        assert_eq!(ct, hexv(&first["ct"]));
    }

    #[test]
    fn objection_round_trips_and_is_bound_to_its_ticket() {
        let key = EnclaveSecretKey::make_random();
        let objection = Objection::new("  I was loading goods, see the photo.  ", Some(vec![0xFF, 0xD8, 1, 2, 3]))
            .expect("valid statement");
        let sealed = objection.seal(&ticket(), &key.public_key()).expect("seals");
        assert!(!sealed.windows(7).any(|w| w == b"loading"), "the statement is not in the clear");
        let opened = Objection::open(&sealed, &ticket(), &key).expect("opens");
        assert_eq!(opened.statement.as_str(), "I was loading goods, see the photo.");
        assert_eq!(opened.photo.as_deref().map(Vec::as_slice), Some(&[0xFF, 0xD8, 1, 2, 3][..]));

        let other = TicketNumber::issue(42, 8).expect("valid ticket");
        assert_eq!(Objection::open(&sealed, &other, &key).err(), Some(ObjectionError::Format));
        let mut moved = sealed.clone();
        moved[5..17].copy_from_slice(other.digits().as_bytes());
        assert_eq!(Objection::open(&moved, &other, &key).err(), Some(ObjectionError::Decrypt));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(Objection::open(&flipped, &ticket(), &key).err(), Some(ObjectionError::Decrypt));
        let wrong_key = EnclaveSecretKey::make_random();
        assert_eq!(Objection::open(&sealed, &ticket(), &wrong_key).err(), Some(ObjectionError::Decrypt));
        assert_eq!(Objection::open(&sealed[..20], &ticket(), &key).err(), Some(ObjectionError::Format));
    }

    #[test]
    fn sealed_layout_is_pinned() {
        // A fixed enclave key and ephemeral key make the output deterministic; any change to
        // the layout, info string or body encoding changes these bytes.
        let key = EnclaveSecretKey::from_bytes(&[7u8; 32]).expect("key");
        let objection = Objection::new("Ich widerspreche.", None).expect("valid");
        let sealed =
            objection.seal_with_rng(&ticket(), &key.public_key(), &mut ReplayRng(vec![9u8; 32])).expect("seals");
        assert_eq!(&sealed[..5], b"FSOB\x01");
        assert_eq!(&sealed[5..17], ticket().digits().as_bytes());
        assert_eq!(sealed.len(), PREFIX_LEN + ENC_LEN + 4 + "Ich widerspreche.".len() + 16);
        assert_eq!(hex::encode(&sealed[PREFIX_LEN..]), PINNED);
        let opened = Objection::open(&sealed, &ticket(), &key).expect("opens");
        assert_eq!(opened.statement.as_str(), "Ich widerspreche.");
        assert!(opened.photo.is_none());
    }

    const PINNED: &str = "de8923a675d02180cdd7d0097ba404b9e1e2930d5665cba58d1765006361793ba9d1f0a690681edb5a5613a95bf4b91f548021e0224876ae8b94437e1ce73500bbd4affa78";

    #[test]
    fn statements_are_checked() {
        assert_eq!(Objection::new("too short", None).err(), Some(ObjectionError::Statement));
        assert_eq!(Objection::new(&"x".repeat(MAX_STATEMENT_CHARS + 1), None).err(), Some(ObjectionError::Statement));
        assert_eq!(Objection::new("a statement\u{0}with a NUL", None).err(), Some(ObjectionError::Statement));
        assert!(Objection::new("Zeile eins\nZeile zwei, äöü", None).is_ok());
    }
}
