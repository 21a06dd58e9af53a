//! The authority (the data controller, e.g. the police administration) and what it signs.
//! Its Ed25519 key is made and kept offline (`fieldseal authority new-key`); the zone pins its
//! public key at first start. Today it signs one kind of statement: the first administrator of
//! the back office, bound to one zone's key and to a one-time setup code that only the
//! authority and the new administrator know (the statement carries its SHA-256). The operator
//! relays the statement but can neither make one nor use one without the code.
//!
//! A statement travels as one line: `base64url(JSON) "." base64url(signature)`; the signature
//! is over [`STATEMENT_CONTEXT`] and the JSON bytes exactly as sent.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::seal::{EnclavePublicKey, SigningKey, VerifyingKey, sha256};
use crate::ticket::{normalise_typed_code, random_code};

/// Domain separation of the authority's signatures.
pub const STATEMENT_CONTEXT: &[u8] = b"fieldseal authority statement v1";
/// Characters of a setup code (30-letter alphabet: about 98 bits).
pub const SETUP_CODE_LEN: usize = 20;
/// Longest statement line accepted.
pub const MAX_STATEMENT: usize = 2048;

/// The authority's statement that makes the first administrator of one zone's back office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstAdmin {
    /// Always `first_admin`.
    pub kind: String,
    /// The zone this statement is for (its HPKE public key, hex).
    #[serde(with = "crate::wire::hex_array")]
    pub zone_key: [u8; 32],
    /// The administrator's sign-in name.
    pub username: String,
    /// SHA-256 of the one-time setup code, hex.
    #[serde(with = "crate::wire::hex_array")]
    pub setup_code_sha256: [u8; 32],
    /// When the authority signed it, Unix milliseconds.
    pub issued_at_ms: i64,
}

/// Why a statement is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not a statement line.
    #[error("this is not an authority statement (expected two base64url parts joined by a dot)")]
    Format,
    /// The signature is not the pinned authority's.
    #[error("the statement is not signed by the authority this zone is pinned to")]
    Signature,
    /// Signed, but for something else.
    #[error("the statement is not for this: {0}")]
    Wrong(&'static str),
}

/// A fresh one-time setup code, shown once to the authority's officer.
pub fn make_setup_code() -> Zeroizing<String> {
    random_code(SETUP_CODE_LEN)
}

/// SHA-256 of a setup code as typed (spaces, dashes and case do not matter).
pub fn setup_code_hash(code: &str) -> [u8; 32] {
    sha256(normalise_typed_code(code).as_bytes())
}

/// Signs `statement` with the authority's key: the line to hand over.
pub fn sign_first_admin(key: &SigningKey, statement: &FirstAdmin) -> String {
    let json = serde_json::to_vec(statement).expect("a statement serialises");
    let signature = key.sign(STATEMENT_CONTEXT, &[&json]);
    format!("{}.{}", B64.encode(&json), B64.encode(signature))
}

/// Checks a statement line against the pinned `authority` key and the zone's own `zone` key.
pub fn verify_first_admin(
    line: &str,
    authority: &VerifyingKey,
    zone: &EnclavePublicKey,
) -> Result<FirstAdmin, StatementError> {
    let line = line.trim();
    if line.len() > MAX_STATEMENT {
        return Err(StatementError::Format);
    }
    let (json, signature) = line.split_once('.').ok_or(StatementError::Format)?;
    let json = B64.decode(json).map_err(|_| StatementError::Format)?;
    let signature: [u8; 64] =
        B64.decode(signature).ok().and_then(|s| s.try_into().ok()).ok_or(StatementError::Format)?;
    if !authority.verify(STATEMENT_CONTEXT, &[&json], &signature) {
        return Err(StatementError::Signature);
    }
    let statement: FirstAdmin = serde_json::from_slice(&json).map_err(|_| StatementError::Format)?;
    if statement.kind != "first_admin" {
        return Err(StatementError::Wrong("it is not a first-administrator statement"));
    }
    if statement.zone_key != zone.0 {
        return Err(StatementError::Wrong("it names another zone's key"));
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::EnclaveSecretKey;

    fn statement(zone: EnclavePublicKey, code: &str) -> FirstAdmin {
        FirstAdmin {
            kind: "first_admin".into(),
            zone_key: zone.0,
            username: "ada".into(),
            setup_code_sha256: setup_code_hash(code),
            issued_at_ms: 1_795_000_000_000,
        }
    }

    #[test]
    fn a_statement_verifies_for_its_authority_and_zone_only() {
        let authority = SigningKey::from_seed(&[3; 32]);
        let zone = EnclaveSecretKey::from_bytes(&[4; 32]).expect("key").public_key();
        let code = make_setup_code();
        assert_eq!(code.len(), SETUP_CODE_LEN);
        let line = sign_first_admin(&authority, &statement(zone, &code));
        let got = verify_first_admin(&line, &authority.verifying_key(), &zone).expect("verifies");
        assert_eq!(got.username, "ada");
        let typed = format!(" {}-{} ", &code[..10], code[10..].to_lowercase());
        assert_eq!(setup_code_hash(&typed), got.setup_code_sha256, "dashes, spaces and case do not matter");

        // Tried as a rogue operator would: its own key, another zone, a changed name.
        let rogue = SigningKey::from_seed(&[5; 32]);
        let forged = sign_first_admin(&rogue, &statement(zone, "OPERATOR-KNOWS-THIS"));
        assert_eq!(verify_first_admin(&forged, &authority.verifying_key(), &zone), Err(StatementError::Signature));
        let other_zone = EnclaveSecretKey::from_bytes(&[6; 32]).expect("key").public_key();
        assert!(matches!(
            verify_first_admin(&line, &authority.verifying_key(), &other_zone),
            Err(StatementError::Wrong(_))
        ));
        let (json, sig) = line.split_once('.').expect("two parts");
        let mut edited = String::from_utf8(B64.decode(json).expect("b64")).expect("utf8");
        edited = edited.replace("\"ada\"", "\"eve\"");
        let edited = format!("{}.{sig}", B64.encode(edited));
        assert_eq!(verify_first_admin(&edited, &authority.verifying_key(), &zone), Err(StatementError::Signature));
        for bad in ["", "abc", "a.b.c", &line[..line.len() - 3], &"x".repeat(MAX_STATEMENT + 1)] {
            assert!(verify_first_admin(bad, &authority.verifying_key(), &zone).is_err(), "{bad}");
        }
    }
}
