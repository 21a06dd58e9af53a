//! The sealed case record: what only the enclave can read, checked strictly when opened.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::domain::{ObservedAt, Place, Vehicle, check_notes};
use crate::ticket::{AccessCode, TicketNumber};
use crate::wire::envelope::{EnvelopeHeader, MAX_PHOTOS};

/// Version of the record layout inside the envelope.
pub const RECORD_FORMAT: u16 = 1;
/// Most offences on one case.
pub const MAX_OFFENCES: usize = 5;

/// One offence as charged (amount copied from the catalogue at capture time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargedOffence {
    /// Tatbestandsnummer.
    pub code: String,
    /// Amount in cents.
    pub amount_cents: u64,
}

/// What the record says of each photo (the pixels travel in separate blobs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoMeta {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Hex SHA-256 of the photo as captured (before the pipeline).
    pub sha256_original: String,
    /// Hex SHA-256 of the sealed JPEG (after the pipeline).
    pub sha256_processed: String,
}

/// The full case as sealed to the enclave.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRecord {
    /// [`RECORD_FORMAT`].
    pub format: u16,
    /// Ticket number.
    pub ticket_number: TicketNumber,
    /// The citizen's access code.
    pub access_code: AccessCode,
    /// Catalogue family the offences come from.
    pub catalogue_id: String,
    /// Catalogue version.
    pub catalogue_version: String,
    /// Offences charged.
    pub offences: Vec<ChargedOffence>,
    /// Sum of the amounts.
    pub total_cents: u64,
    /// Payment deadline, `YYYY-MM-DD`.
    pub due_date: String,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// The place.
    pub place: Place,
    /// The time.
    pub observed_at: ObservedAt,
    /// Officer notes.
    pub notes: String,
    /// Photo metadata, index order.
    pub photos: Vec<PhotoMeta>,
}

impl Drop for CaseRecord {
    fn drop(&mut self) {
        // Vehicle, place and access code zeroize themselves.
        zeroize::Zeroize::zeroize(&mut self.notes);
    }
}

impl fmt::Debug for CaseRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaseRecord")
            .field("ticket_number", &self.ticket_number)
            .field("offences", &self.offences)
            .field("total_cents", &self.total_cents)
            .field("personal_data", &"<redacted>")
            .finish()
    }
}

/// Why opened record bytes are not an acceptable case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Not the expected JSON shape (the serde message names fields, never values).
    #[error("the record is malformed")]
    Malformed,
    /// A newer record format.
    #[error("record format {0} is not supported by this build")]
    UnsupportedFormat(u16),
    /// A rule across fields is broken.
    #[error("the record is invalid: {0}")]
    Invalid(&'static str),
}

impl CaseRecord {
    /// Serialises for sealing; the buffer is zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(serde_json::to_vec(self).expect("a case record always serialises"))
    }

    /// Parses and checks record bytes, and that they fit the envelope header they came in.
    pub fn from_bytes(bytes: &[u8], header: &EnvelopeHeader) -> Result<Self, RecordError> {
        let r: Self = serde_json::from_slice(bytes).map_err(|_| RecordError::Malformed)?;
        if r.format != RECORD_FORMAT {
            return Err(RecordError::UnsupportedFormat(r.format));
        }
        r.check()?;
        if r.photos.len() != header.photos.len() {
            return Err(RecordError::Invalid("photo count differs from the envelope header"));
        }
        if u64::from(r.ticket_number.counter()) != header.sequence {
            return Err(RecordError::Invalid("ticket number does not match the envelope sequence"));
        }
        Ok(r)
    }

    fn check(&self) -> Result<(), RecordError> {
        if self.offences.is_empty() || self.offences.len() > MAX_OFFENCES {
            return Err(RecordError::Invalid("offence count out of range"));
        }
        for (i, o) in self.offences.iter().enumerate() {
            if self.offences[..i].iter().any(|p| p.code == o.code) {
                return Err(RecordError::Invalid("an offence is charged twice"));
            }
        }
        let sum = self.offences.iter().try_fold(0u64, |acc, o| acc.checked_add(o.amount_cents));
        if sum != Some(self.total_cents) || self.total_cents == 0 {
            return Err(RecordError::Invalid("total does not equal the sum of the offences"));
        }
        if crate::notice::parse_iso_date(&self.due_date).is_none() {
            return Err(RecordError::Invalid("due date is not YYYY-MM-DD"));
        }
        check_notes(&self.notes).map_err(|_| RecordError::Invalid("notes too long"))?;
        if self.photos.len() > usize::from(MAX_PHOTOS) {
            return Err(RecordError::Invalid("too many photos"));
        }
        let is_hash = |h: &str| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit());
        if !self.photos.iter().all(|p| is_hash(&p.sha256_original) && is_hash(&p.sha256_processed)) {
            return Err(RecordError::Invalid("photo hash is not SHA-256 hex"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::envelope::{Id16, PhotoEntry};

    fn record() -> CaseRecord {
        CaseRecord {
            format: RECORD_FORMAT,
            ticket_number: TicketNumber::issue(42, 7).expect("valid"),
            access_code: AccessCode::parse("ABCD-EFGH-JKMN").expect("valid"),
            catalogue_id: "de-bkat".into(),
            catalogue_version: "2021-11-09.1".into(),
            offences: vec![ChargedOffence { code: "141312".into(), amount_cents: 2500 }],
            total_cents: 2500,
            due_date: "2026-11-30".into(),
            vehicle: Vehicle::new("B-QZ 4711", "DE", "VW", "rot").expect("valid"),
            place: Place::new(52.520008, 13.404954, 4.5, "Unter den Linden 1, 10117 Berlin").expect("valid"),
            observed_at: ObservedAt::new(1_795_000_000_000, -1200, 60).expect("valid"),
            notes: "Fahrer nicht angetroffen".into(),
            photos: vec![PhotoMeta {
                width: 2048,
                height: 1536,
                sha256_original: "ab".repeat(32),
                sha256_processed: "cd".repeat(32),
            }],
        }
    }

    fn header(photos: usize) -> EnvelopeHeader {
        EnvelopeHeader {
            envelope_id: Id16([1; 16]),
            device_id: Id16([2; 16]),
            sequence: 7,
            prev_hash: [1; 32],
            enc: [0; 32],
            record_len: 16,
            photos: vec![PhotoEntry { sealed_len: 100, sha256: [0; 32] }; photos],
        }
    }

    #[test]
    fn record_format_v1_is_pinned() {
        let bytes = record().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        // Sorted keys: the same snapshot whether or not another crate in the build turns on
        // serde_json's `preserve_order` (thirtyfour, in the test crate, does).
        insta::with_settings!({ sort_maps => true }, {
            insta::assert_json_snapshot!("case_record_v1", value);
        });
        assert_eq!(CaseRecord::from_bytes(&bytes, &header(1)).expect("parses back"), record());
    }

    #[test]
    fn strict_parsing_refuses_what_a_device_should_never_send() {
        let good = serde_json::to_value(record()).expect("json");
        let mutate = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            CaseRecord::from_bytes(&serde_json::to_vec(&v).expect("json"), &header(1))
        };
        assert_eq!(mutate(&|v| v["extra"] = 1.into()), Err(RecordError::Malformed));
        assert_eq!(mutate(&|v| v["format"] = 2.into()), Err(RecordError::UnsupportedFormat(2)));
        assert!(matches!(mutate(&|v| v["total_cents"] = 1.into()), Err(RecordError::Invalid(_))));
        assert!(matches!(mutate(&|v| v["offences"] = serde_json::json!([])), Err(RecordError::Invalid(_))));
        assert!(matches!(mutate(&|v| v["due_date"] = "2026-02-30".into()), Err(RecordError::Invalid(_))));
        assert_eq!(mutate(&|v| v["place"]["lat"] = 91.0.into()), Err(RecordError::Malformed));
        assert_eq!(mutate(&|v| v["vehicle"]["make"] = "x".repeat(41).into()), Err(RecordError::Malformed));
        assert_eq!(mutate(&|v| v["observed_at"]["utc_offset_minutes"] = (-32768).into()), Err(RecordError::Malformed));
        assert!(matches!(
            mutate(&|v| v["offences"] =
                serde_json::json!([{"code":"141312","amount_cents":2500},{"code":"141312","amount_cents":2500}])),
            Err(RecordError::Invalid(_))
        ));
        // The ticket's counter is the envelope's sequence number.
        assert!(matches!(
            mutate(&|v| v["ticket_number"] = TicketNumber::issue(42, 8).expect("valid").digits().into()),
            Err(RecordError::Invalid(_))
        ));
        assert_eq!(mutate(&|v| v["vehicle"]["plate"] = "".into()), Err(RecordError::Malformed));
        assert_eq!(mutate(&|v| v["ticket_number"] = "004200000071".into()), Err(RecordError::Malformed));
        assert!(matches!(mutate(&|v| v["photos"][0]["sha256_original"] = "zz".into()), Err(RecordError::Invalid(_))));
        assert!(matches!(
            CaseRecord::from_bytes(&record().to_bytes(), &header(2)),
            Err(RecordError::Invalid("photo count differs from the envelope header"))
        ));
        assert_eq!(CaseRecord::from_bytes(b"\xff\x00", &header(0)), Err(RecordError::Malformed));
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let out = format!("{:?}", record());
        for secret in ["QZ", "Linden", "52.52", "Fahrer", "ABCD"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
    }
}
