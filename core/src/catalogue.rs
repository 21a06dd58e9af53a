//! The offence catalogue: versioned, signed by an issuer key, refused by devices when unsigned or tampered.
//!
//! The signature covers the exact JSON bytes of the body (no canonicalisation needed): the
//! issuer signs `"fieldseal/catalogue/v1\0" || body`, the device verifies before it parses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::seal::{SigningKey, VerifyingKey};

const SIGNATURE_CONTEXT: &[u8] = b"fieldseal/catalogue/v1\0";
/// The German federal catalogue of parking and stopping offences shipped with fieldseal.
const GERMAN_DEFAULT: &str = include_str!("../catalogue/de-bkat.json");
/// Largest catalogue body a device accepts.
pub const MAX_CATALOGUE_BYTES: usize = 1 << 20;

/// One offence as the federal catalogue lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offence {
    /// Tatbestandsnummer (6 digits).
    pub code: String,
    /// Catalogue text in German.
    pub title_de: String,
    /// Catalogue text in English.
    pub title_en: String,
    /// Provisions cited by the catalogue.
    pub legal_basis: String,
    /// Standard fine in euro cents.
    pub amount_cents: u64,
    /// Whether a case with this offence must carry at least one photo.
    pub photo_required: bool,
}

/// The catalogue body as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueBody {
    /// Stable id of the catalogue family, e.g. `de-bkat`.
    pub catalogue_id: String,
    /// Version of this issue of the catalogue.
    pub version: String,
    /// ISO 3166-1 country the catalogue applies in.
    pub jurisdiction: String,
    /// ISO 4217 currency of the amounts.
    pub currency: String,
    /// The offences, unique by code.
    pub offences: Vec<Offence>,
}

impl CatalogueBody {
    /// The German parking and stopping catalogue (BKat, as in force since 9 Nov 2021).
    pub fn german_default() -> Self {
        serde_json::from_str(GERMAN_DEFAULT).expect("the bundled catalogue is valid JSON (tested)")
    }

    /// Signs the body with the issuer key.
    pub fn sign(&self, issuer: &SigningKey) -> SignedCatalogue {
        let body = serde_json::to_string(self).expect("a catalogue body always serialises");
        let signature = issuer.sign(SIGNATURE_CONTEXT, &[body.as_bytes()]);
        SignedCatalogue { body, signature: crate::seal::hex_lower(&signature) }
    }
}

/// A catalogue as it travels: the exact body bytes and the issuer's signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCatalogue {
    /// The JSON body exactly as signed.
    pub body: String,
    /// Ed25519 signature, 128 hex characters.
    pub signature: String,
}

/// Why a device refused a catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No signature, or not 64 bytes of hex.
    #[error("the catalogue is not signed")]
    Unsigned,
    /// The signature does not verify with the pinned issuer key.
    #[error("the catalogue signature does not verify with the pinned issuer key: tampered or from another issuer")]
    BadSignature,
    /// Over [`MAX_CATALOGUE_BYTES`].
    #[error("the catalogue is larger than {MAX_CATALOGUE_BYTES} bytes")]
    TooLarge,
    /// Signed, but not a valid catalogue.
    #[error("the catalogue is malformed: {0}")]
    Malformed(String),
    /// An update from another catalogue family than the one enrolled with.
    #[error("the offered catalogue {offered} is not an issue of {have}")]
    OtherFamily {
        /// The enrolled family.
        have: String,
        /// The offered family.
        offered: String,
    },
    /// An update older than the catalogue held (a rollback).
    #[error("the offered catalogue version {offered} is older than version {have} held")]
    Older {
        /// The version held.
        have: String,
        /// The version offered.
        offered: String,
    },
}

/// Orders catalogue versions such as `2021-11-09.1`: runs of digits compare as numbers, the
/// rest as text, so `.10` comes after `.9`.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(v: &str) -> Vec<(u64, &str)> {
        v.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(|p| (p.parse::<u64>().unwrap_or(u64::MAX), p))
            .collect()
    }
    parts(a).cmp(&parts(b))
}

impl SignedCatalogue {
    /// Verifies the issuer signature, then parses and checks the body.
    pub fn verify(&self, issuer: &VerifyingKey) -> Result<Catalogue, CatalogueError> {
        if self.body.len() > MAX_CATALOGUE_BYTES {
            return Err(CatalogueError::TooLarge);
        }
        let sig: [u8; 64] =
            crate::seal::decode_hex(&self.signature).and_then(|v| v.try_into().ok()).ok_or(CatalogueError::Unsigned)?;
        if !issuer.verify(SIGNATURE_CONTEXT, &[self.body.as_bytes()], &sig) {
            return Err(CatalogueError::BadSignature);
        }
        let body: CatalogueBody =
            serde_json::from_str(&self.body).map_err(|e| CatalogueError::Malformed(e.to_string()))?;
        Catalogue::from_body(body)
    }
}

/// A verified catalogue, indexed by code. Only [`SignedCatalogue::verify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    body: CatalogueBody,
    by_code: BTreeMap<String, usize>,
}

impl Catalogue {
    fn from_body(body: CatalogueBody) -> Result<Self, CatalogueError> {
        let bad = |m: String| Err(CatalogueError::Malformed(m));
        if body.offences.is_empty() {
            return bad("no offences".into());
        }
        let mut by_code = BTreeMap::new();
        for (i, o) in body.offences.iter().enumerate() {
            if o.code.is_empty() || o.code.len() > 16 || !o.code.chars().all(|c| c.is_ascii_alphanumeric()) {
                return bad(format!("offence {i} has an invalid code"));
            }
            if o.amount_cents == 0 || o.amount_cents > 100_000_000 {
                return bad(format!("offence {} has an impossible amount", o.code));
            }
            if o.title_de.trim().is_empty() || o.title_en.trim().is_empty() {
                return bad(format!("offence {} has no title", o.code));
            }
            if by_code.insert(o.code.clone(), i).is_some() {
                return bad(format!("offence code {} appears twice", o.code));
            }
        }
        Ok(Self { body, by_code })
    }

    /// Looks an offence up by its code.
    pub fn get(&self, code: &str) -> Option<&Offence> {
        self.by_code.get(code).map(|i| &self.body.offences[*i])
    }
    /// All offences in catalogue order.
    pub fn offences(&self) -> &[Offence] {
        &self.body.offences
    }
    /// Catalogue family id.
    pub fn id(&self) -> &str {
        &self.body.catalogue_id
    }
    /// Catalogue version.
    pub fn version(&self) -> &str {
        &self.body.version
    }
    /// Currency of the amounts.
    pub fn currency(&self) -> &str {
        &self.body.currency
    }

    /// Whether `offered` may replace this catalogue: the same family and a newer version
    /// (`Ok(true)`), the same version (`Ok(false)`), or refused.
    pub fn accepts_update(&self, offered: &Catalogue) -> Result<bool, CatalogueError> {
        if offered.id() != self.id() {
            return Err(CatalogueError::OtherFamily { have: self.id().into(), offered: offered.id().into() });
        }
        match compare_versions(offered.version(), self.version()) {
            std::cmp::Ordering::Greater => Ok(true),
            std::cmp::Ordering::Equal => Ok(false),
            std::cmp::Ordering::Less => {
                Err(CatalogueError::Older { have: self.version().into(), offered: offered.version().into() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed() -> (SigningKey, SignedCatalogue) {
        let issuer = SigningKey::make_random();
        let signed = CatalogueBody::german_default().sign(&issuer);
        (issuer, signed)
    }

    #[test]
    fn bundled_german_catalogue_is_realistic() {
        let (issuer, signed) = signed();
        let cat = signed.verify(&issuer.verifying_key()).expect("verifies");
        assert!(cat.offences().len() >= 20, "at least 20 offences");
        assert_eq!(cat.currency(), "EUR");
        for o in cat.offences() {
            assert!(o.code.len() == 6 && o.code.chars().all(|c| c.is_ascii_digit()), "TBNR {}", o.code);
            assert!(o.amount_cents >= 1000 && o.amount_cents <= 10000, "{}: {}", o.code, o.amount_cents);
        }
        let halteverbot = cat.get("141312").expect("absolute no-stopping zone parking is listed");
        assert_eq!(halteverbot.amount_cents, 2500);
        assert!(cat.offences().iter().any(|o| !o.photo_required));
    }

    #[test]
    fn tampered_catalogue_is_refused() {
        let (issuer, mut signed) = signed();
        signed.body = signed.body.replacen("2500", "2501", 1);
        assert_eq!(signed.verify(&issuer.verifying_key()), Err(CatalogueError::BadSignature));
    }

    #[test]
    fn unsigned_catalogue_is_refused() {
        let (issuer, mut signed) = signed();
        signed.signature.clear();
        assert_eq!(signed.verify(&issuer.verifying_key()), Err(CatalogueError::Unsigned));
        signed.signature = "zz".repeat(64);
        assert_eq!(signed.verify(&issuer.verifying_key()), Err(CatalogueError::Unsigned));
    }

    #[test]
    fn catalogue_from_another_issuer_is_refused() {
        let (_, signed) = signed();
        let other = SigningKey::make_random();
        assert_eq!(signed.verify(&other.verifying_key()), Err(CatalogueError::BadSignature));
    }

    #[test]
    fn signed_but_invalid_catalogue_is_refused() {
        let issuer = SigningKey::make_random();
        let mut body = CatalogueBody::german_default();
        let dup = body.offences[0].clone();
        body.offences.push(dup);
        let err = body.sign(&issuer).verify(&issuer.verifying_key()).expect_err("duplicate code");
        assert!(matches!(err, CatalogueError::Malformed(m) if m.contains("twice")));
    }

    #[test]
    fn versions_order_numerically_and_updates_never_roll_back() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("2021-11-09.10", "2021-11-09.9"), Greater);
        assert_eq!(compare_versions("2021-11-09.1", "2021-11-09.1"), Equal);
        assert_eq!(compare_versions("2021-11-09", "2021-11-09.1"), Less);
        assert_eq!(compare_versions("2024-01-01.1", "2021-11-09.3"), Greater);

        let issuer = SigningKey::make_random();
        let issue = |id: &str, version: &str| {
            let mut body = CatalogueBody::german_default();
            body.catalogue_id = id.into();
            body.version = version.into();
            body.sign(&issuer).verify(&issuer.verifying_key()).expect("verifies")
        };
        let held = issue("de-bkat", "2021-11-09.2");
        assert_eq!(held.accepts_update(&issue("de-bkat", "2021-11-09.10")), Ok(true));
        assert_eq!(held.accepts_update(&issue("de-bkat", "2021-11-09.2")), Ok(false));
        assert!(matches!(held.accepts_update(&issue("de-bkat", "2021-11-09.1")), Err(CatalogueError::Older { .. })));
        assert!(matches!(
            held.accepts_update(&issue("at-stvo", "2030-01-01.1")),
            Err(CatalogueError::OtherFamily { .. })
        ));
    }

    #[test]
    fn catalogue_wire_form_is_stable() {
        let body = CatalogueBody::german_default();
        insta::assert_json_snapshot!("catalogue_first_offence", body.offences[0]);
    }
}
