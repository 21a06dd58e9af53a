//! The notice left on the windshield: its text, the EPC QR bank-transfer payload (EPC069-12),
//! and the signed portal link that lets a citizen check a notice is genuine before paying.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::seal::{SigningKey, VerifyingKey};
use crate::ticket::{AccessCode, TicketNumber};

const NOTICE_SIGNATURE_CONTEXT: &[u8] = b"fieldseal/notice/v1\0";
/// Largest EPC QR payload (QR version 13, error correction M).
pub const EPC_MAX_BYTES: usize = 331;

/// Who is paid and where citizens go: set by the authority, delivered at enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayeeConfig {
    /// Account holder name as the bank knows it (1–70 characters).
    pub name: String,
    /// IBAN of the authority's account.
    pub iban: String,
    /// BIC (optional inside the EEA; empty for none).
    pub bic: String,
    /// Base address of the citizen portal, e.g. `https://bussgeld.example.de`.
    pub portal_base_url: String,
    /// Days from the observation date to the payment deadline.
    pub due_days: u16,
}

impl PayeeConfig {
    /// Checks the configuration once, so every notice built from it is valid.
    pub fn validate(&self) -> Result<(), EpcError> {
        let probe = EpcTransfer {
            bic: self.bic.clone(),
            name: self.name.clone(),
            iban: self.iban.clone(),
            amount_cents: Some(100),
            purpose: String::new(),
            structured_reference: String::new(),
            remittance: "probe".into(),
            information: String::new(),
        };
        probe.to_payload()?;
        let base = self.portal_base_url.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains(['?', '#', ' ']) {
            return Err(EpcError::Field {
                field: "portal_base_url",
                reason: "must be an http(s) address without query",
            });
        }
        if self.due_days == 0 || self.due_days > 365 {
            return Err(EpcError::Field { field: "due_days", reason: "must be 1 to 365" });
        }
        Ok(())
    }
}

/// One line of the notice's offence list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeOffence {
    /// Tatbestandsnummer.
    pub code: String,
    /// German text.
    pub title_de: String,
    /// English text.
    pub title_en: String,
    /// Amount in cents.
    pub amount_cents: u64,
}

/// Everything printed on the windshield notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The ticket number (also the transfer reference).
    pub ticket_number: TicketNumber,
    /// The citizen's access code for the portal.
    pub access_code: AccessCode,
    /// The offences.
    pub offences: Vec<NoticeOffence>,
    /// Total to pay in cents.
    pub total_cents: u64,
    /// Payment deadline (inclusive).
    #[serde(with = "iso_date")]
    pub due_date: time::Date,
    /// Portal link with ticket number and device signature (for the notice's QR code).
    pub portal_url: String,
    /// EPC QR payload for a SEPA credit transfer.
    pub epc_payload: String,
    /// Payee name and IBAN for manual transfers.
    pub payee_name: String,
    /// IBAN.
    pub iban: String,
}

/// Parses `YYYY-MM-DD` naming a real calendar day.
pub fn parse_iso_date(s: &str) -> Option<time::Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit())).and_then(|p| p.parse::<u16>().ok())
    };
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    time::Date::from_calendar_date(i32::from(num(0..4)?), month, u8::try_from(num(8..10)?).ok()?).ok()
}

/// Serde form of a date: `YYYY-MM-DD` (`#[serde(with = "iso_date")]`).
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }
    /// Reads `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_iso_date(&s).ok_or_else(|| D::Error::custom("not a YYYY-MM-DD date"))
    }

    /// The same for an optional date (`null` for none).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer, de::Error};

        /// Writes `YYYY-MM-DD` or `null`.
        pub fn serialize<S: Serializer>(d: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&d.to_string()),
                None => s.serialize_none(),
            }
        }
        /// Reads `YYYY-MM-DD` or `null`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<time::Date>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => {
                    super::super::parse_iso_date(&s).map(Some).ok_or_else(|| D::Error::custom("not a YYYY-MM-DD date"))
                }
                None => Ok(None),
            }
        }
    }
}

/// Formats cents as `25,00` (German) or `25.00` (English).
pub fn format_amount(cents: u64, decimal: char) -> String {
    format!("{}{decimal}{:02}", cents / 100, cents % 100)
}

impl Notice {
    /// The bilingual text for the printed notice.
    pub fn text(&self) -> String {
        let mut t = String::new();
        let due_de =
            format!("{:02}.{:02}.{}", self.due_date.day(), u8::from(self.due_date.month()), self.due_date.year());
        let _ = writeln!(t, "VERWARNUNG MIT VERWARNUNGSGELD / PARKING NOTICE");
        let _ = writeln!(t, "Ticket-Nr. / Ticket no.: {}", self.ticket_number.grouped());
        for o in &self.offences {
            let _ = writeln!(t, "Tatbestand {} ({} EUR): {}", o.code, format_amount(o.amount_cents, ','), o.title_de);
            let _ = writeln!(t, "  Offence {}: {}", o.code, o.title_en);
        }
        let _ = writeln!(t, "Betrag / Amount: {} EUR", format_amount(self.total_cents, ','));
        let _ = writeln!(t, "Zahlbar bis / Pay by: {due_de} ({})", self.due_date);
        let _ = writeln!(t, "Fall ansehen, bezahlen, widersprechen / View, pay or object: {}", self.portal_url);
        let _ = writeln!(t, "Zugangscode / Access code: {}", self.access_code.grouped());
        let _ = writeln!(t, "Überweisung / Bank transfer: {}, IBAN {}", self.payee_name, group_iban(&self.iban));
        let _ = writeln!(t, "Verwendungszweck / Reference: {}", self.ticket_number.grouped());
        t
    }
}

fn group_iban(iban: &str) -> String {
    iban.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

/// What the notice signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeClaim<'a> {
    /// The ticket number.
    pub ticket_number: &'a TicketNumber,
    /// The total to pay.
    pub total_cents: u64,
    /// The deadline.
    pub due_date: time::Date,
    /// The IBAN the money must go to.
    pub iban: &'a str,
}

impl NoticeClaim<'_> {
    fn message(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(64);
        m.extend_from_slice(self.ticket_number.digits().as_bytes());
        m.push(0);
        m.extend_from_slice(&self.total_cents.to_be_bytes());
        m.extend_from_slice(self.due_date.to_string().as_bytes());
        m.push(0);
        m.extend_from_slice(self.iban.as_bytes());
        m
    }

    /// The device signs the claim (64 bytes, Ed25519).
    pub fn sign(&self, device: &SigningKey) -> [u8; 64] {
        device.sign(NOTICE_SIGNATURE_CONTEXT, &[&self.message()])
    }

    /// The portal checks the claim against what it knows of the case.
    pub fn verify(&self, device: &VerifyingKey, signature: &[u8; 64]) -> bool {
        device.verify(NOTICE_SIGNATURE_CONTEXT, &[&self.message()], signature)
    }
}

/// The portal link printed as the notice's QR code: `{base}/n/{ticket}?s={signature}`.
/// It never carries the access code.
pub fn portal_link(base: &str, ticket: &TicketNumber, signature: &[u8; 64]) -> String {
    format!("{}/n/{}?s={}", base.trim_end_matches('/'), ticket.digits(), URL_SAFE_NO_PAD.encode(signature))
}

/// Reads the ticket number and signature back out of a portal link's path and query.
pub fn parse_portal_link(path_and_query: &str) -> Result<(TicketNumber, [u8; 64]), EpcError> {
    let bad = EpcError::Field { field: "portal link", reason: "not a fieldseal notice link" };
    let after = path_and_query.rsplit_once("/n/").map(|(_, a)| a).ok_or(bad.clone())?;
    let (ticket, query) = after.split_once("?s=").ok_or(bad.clone())?;
    let ticket = TicketNumber::parse(ticket).map_err(|_| bad.clone())?;
    let sig = URL_SAFE_NO_PAD.decode(query.split('&').next().unwrap_or_default()).map_err(|_| bad.clone())?;
    let sig: [u8; 64] = sig.try_into().map_err(|_| bad)?;
    Ok((ticket, sig))
}

/// A SEPA credit transfer as carried in an EPC QR code.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EpcTransfer {
    /// BIC of the beneficiary's bank (may be empty in version 002).
    pub bic: String,
    /// Beneficiary name (1–70).
    pub name: String,
    /// Beneficiary IBAN.
    pub iban: String,
    /// Amount in euro cents (absent: the payer enters it).
    pub amount_cents: Option<u64>,
    /// ISO 20022 purpose code (0–4 characters).
    pub purpose: String,
    /// ISO 11649 structured creditor reference (exclusive with `remittance`).
    pub structured_reference: String,
    /// Unstructured remittance text (exclusive with `structured_reference`).
    pub remittance: String,
    /// Beneficiary-to-originator information (0–70).
    pub information: String,
}

/// A rule of EPC069-12 (or an IBAN or reference check) that a payload breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcError {
    /// A field breaks a rule.
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: &'static str },
    /// Over 331 bytes.
    #[error("the EPC payload is {0} bytes; at most {EPC_MAX_BYTES} fit the QR code")]
    TooLong(usize),
}

fn field(field: &'static str, reason: &'static str) -> EpcError {
    EpcError::Field { field, reason }
}

/// ISO 7064 MOD 97-10 over an alphanumeric string (letters count as 10..35).
fn mod97(s: &str) -> Option<u32> {
    let mut r: u32 = 0;
    for c in s.chars() {
        let v = c.to_digit(36)?;
        r = if v < 10 { (r * 10 + v) % 97 } else { (r * 100 + v) % 97 };
    }
    Some(r)
}

/// Checks an IBAN's shape and MOD 97 check digits.
pub fn check_iban(iban: &str) -> Result<(), EpcError> {
    let ok_shape = iban.is_ascii()
        && (15..=34).contains(&iban.len())
        && iban[..2].chars().all(|c| c.is_ascii_uppercase())
        && iban[2..4].chars().all(|c| c.is_ascii_digit())
        && iban[4..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok_shape {
        return Err(field("IBAN", "must be 15 to 34 upper-case letters and digits, country code first"));
    }
    if iban.starts_with("DE") && iban.len() != 22 {
        return Err(field("IBAN", "a German IBAN has 22 characters"));
    }
    let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
    if mod97(&rearranged) != Some(1) {
        return Err(field("IBAN", "check digits do not match"));
    }
    Ok(())
}

fn check_bic(bic: &str) -> Result<(), EpcError> {
    let ok = bic.is_ascii()
        && (bic.len() == 8 || bic.len() == 11)
        && bic[..6].chars().all(|c| c.is_ascii_uppercase())
        && bic[6..].chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok { Ok(()) } else { Err(field("BIC", "must be 8 or 11 characters (ISO 9362)")) }
}

fn check_len(value: &str, name: &'static str, min: usize, max: usize) -> Result<(), EpcError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(field(name, "length out of range"));
    }
    if value.chars().any(char::is_control) {
        return Err(field(name, "control characters are not allowed"));
    }
    Ok(())
}

impl EpcTransfer {
    fn check(&self, version: &str) -> Result<(), EpcError> {
        if version == "001" || !self.bic.is_empty() {
            check_bic(&self.bic)?;
        }
        check_len(&self.name, "name", 1, 70)?;
        check_iban(&self.iban)?;
        if let Some(c) = self.amount_cents
            && !(1..=99_999_999_999).contains(&c)
        {
            return Err(field("amount", "must be EUR 0.01 to 999999999.99"));
        }
        check_len(&self.purpose, "purpose", 0, 4)?;
        if !self.purpose.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(field("purpose", "must be an ISO 20022 purpose code"));
        }
        check_len(&self.structured_reference, "structured reference", 0, 35)?;
        check_len(&self.remittance, "remittance", 0, 140)?;
        check_len(&self.information, "information", 0, 70)?;
        if !self.structured_reference.is_empty() && !self.remittance.is_empty() {
            return Err(field("remittance", "structured reference and unstructured text are exclusive"));
        }
        let r = &self.structured_reference;
        if r.starts_with("RF") && !((5..=25).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric())) {
            return Err(field(
                "structured reference",
                "an ISO 11649 reference is RF, 2 check digits and up to 21 letters or digits",
            ));
        }
        if r.starts_with("RF") && mod97(&format!("{}{}", &r[4.min(r.len())..], &r[..4.min(r.len())])) != Some(1) {
            return Err(field("structured reference", "ISO 11649 check digits do not match"));
        }
        Ok(())
    }

    /// The payload: version 002, UTF-8, SCT, LF separated, no trailing empty elements.
    pub fn to_payload(&self) -> Result<String, EpcError> {
        self.check("002")?;
        let amount = self.amount_cents.map(|c| format!("EUR{}", format_amount(c, '.'))).unwrap_or_default();
        let mut lines = vec![
            "BCD",
            "002",
            "1",
            "SCT",
            &self.bic,
            &self.name,
            &self.iban,
            &amount,
            &self.purpose,
            &self.structured_reference,
            &self.remittance,
            &self.information,
        ];
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let payload = lines.join("\n");
        if payload.len() > EPC_MAX_BYTES {
            return Err(EpcError::TooLong(payload.len()));
        }
        Ok(payload)
    }

    /// Parses and checks a payload against EPC069-12 (versions 001 and 002).
    pub fn from_payload(payload: &str) -> Result<Self, EpcError> {
        if payload.len() > EPC_MAX_BYTES {
            return Err(EpcError::TooLong(payload.len()));
        }
        if payload.ends_with('\n') {
            return Err(field("payload", "nothing may follow the last element"));
        }
        let lines: Vec<&str> = payload.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
        if lines.len() < 7 || lines.len() > 12 {
            return Err(field("payload", "must have 7 to 12 elements"));
        }
        if lines[0] != "BCD" {
            return Err(field("service tag", "must be BCD"));
        }
        let version = lines[1];
        if version != "001" && version != "002" {
            return Err(field("version", "must be 001 or 002"));
        }
        if !matches!(lines[2], "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8") {
            return Err(field("character set", "must be 1 to 8"));
        }
        if lines[3] != "SCT" {
            return Err(field("identification", "must be SCT"));
        }
        let get = |i: usize| lines.get(i).copied().unwrap_or("").to_owned();
        let amount = get(7);
        let amount_cents = if amount.is_empty() { None } else { Some(parse_epc_amount(&amount)?) };
        let t = Self {
            bic: get(4),
            name: get(5),
            iban: get(6),
            amount_cents,
            purpose: get(8),
            structured_reference: get(9),
            remittance: get(10),
            information: get(11),
        };
        t.check(version)?;
        Ok(t)
    }
}

fn parse_epc_amount(s: &str) -> Result<u64, EpcError> {
    let bad = || field("amount", "must be EUR followed by an amount with at most 2 decimals");
    let num = s.strip_prefix("EUR").ok_or_else(bad)?;
    let (whole, frac) = num.split_once('.').unwrap_or((num, ""));
    if whole.is_empty()
        || whole.len() > 9
        || frac.len() > 2
        || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazmat::tests::testdata_dir;

    pub(crate) fn payee() -> PayeeConfig {
        PayeeConfig {
            name: "Stadtkasse Musterstadt".into(),
            iban: "DE71110220330123456789".into(),
            bic: "BHBLDEHHXXX".into(),
            portal_base_url: "https://bussgeld.musterstadt.example/".into(),
            due_days: 7,
        }
    }

    fn reference_examples() -> Vec<String> {
        let text =
            std::fs::read_to_string(testdata_dir().join("samples/epcqr/examples.txt")).expect("examples present");
        let mut out = Vec::new();
        let mut current: Option<Vec<&str>> = None;
        for line in text.lines() {
            if line.starts_with("-----BEGIN EPC") {
                current = Some(Vec::new());
            } else if line.starts_with("-----END EPC") {
                out.push(current.take().expect("begin before end").join("\n"));
            } else if let Some(c) = current.as_mut() {
                c.push(line);
            }
        }
        out
    }

    #[test]
    fn reference_examples_pass_our_checker() {
        let examples = reference_examples();
        assert_eq!(examples.len(), 4);
        let parsed: Vec<EpcTransfer> =
            examples.iter().map(|e| EpcTransfer::from_payload(e).unwrap_or_else(|err| panic!("{err}: {e}"))).collect();
        assert_eq!(parsed[0].name, "Red Cross of Belgium");
        assert_eq!(parsed[0].amount_cents, Some(100));
        assert_eq!(parsed[0].remittance, "Urgency fund");
        assert_eq!(parsed[0].information, "Sample EPC QR code");
        assert_eq!(parsed[2].amount_cents, Some(1305));
        assert_eq!(parsed[3].amount_cents, Some(1230));
        assert_eq!(parsed[3].structured_reference, "RF18539007547034");
        // Re-emitting example 3 (already version 002, UTF-8) gives the same bytes.
        assert_eq!(parsed[2].to_payload().expect("valid"), examples[2]);
    }

    #[test]
    fn our_payload_follows_the_rules() {
        let t = TicketNumber::issue(42, 1).expect("valid");
        let p = payee();
        let transfer = EpcTransfer {
            bic: p.bic.clone(),
            name: p.name.clone(),
            iban: p.iban.clone(),
            amount_cents: Some(2500),
            remittance: t.grouped(),
            ..Default::default()
        };
        let payload = transfer.to_payload().expect("valid");
        assert_eq!(
            payload,
            format!(
                "BCD\n002\n1\nSCT\nBHBLDEHHXXX\nStadtkasse Musterstadt\nDE71110220330123456789\nEUR25.00\n\n\n{}",
                t.grouped()
            )
        );
        assert!(payload.len() <= EPC_MAX_BYTES && !payload.ends_with('\n'));
        assert_eq!(EpcTransfer::from_payload(&payload).expect("parses back"), transfer);
    }

    #[test]
    fn rule_breaking_payloads_are_refused() {
        let good = reference_examples()[0].clone();
        let cases = [
            good.replace("BCD", "BCX"),
            good.replace("\n001\n", "\n003\n"),
            good.replace("BPOTBEB1", ""), // version 001 needs a BIC
            good.replace("BE72000000001616", "BE73000000001616"),
            good.replace("EUR1", "EUR0"),
            good.replace("EUR1", "EUR1.234"),
            good.replace("EUR1", "USD1"),
            good.replace("Red Cross of Belgium", &"x".repeat(71)),
            good.replace("CHAR\n\n", "CHAR\nRF18539007547034\n"),
            format!("{good}\n"),
            good.replace("Urgency fund", &"u".repeat(141)),
        ];
        for (i, bad) in cases.iter().enumerate() {
            assert!(EpcTransfer::from_payload(bad).is_err(), "case {i} was accepted: {bad:?}");
        }
        let long = EpcTransfer {
            name: "n".repeat(70),
            iban: "DE71110220330123456789".into(),
            remittance: "r".repeat(140),
            information: String::new(),
            bic: "BHBLDEHHXXX".into(),
            amount_cents: Some(99_999_999_999),
            purpose: "GOVT".into(),
            ..Default::default()
        };
        assert!(long.to_payload().is_ok(), "long fields that fit 331 bytes together are fine");
        // Found by fuzzing: multi-byte characters where ASCII codes belong must be refused, not panic.
        for bad in [
            "BCD\n002\n1\nSCT\nBHBLDĳ7?X\nName\nDE71110220330123456789",
            "BCD\n002\n1\nSCT\n\nName\nDE71ĳ10220330123456789",
            "BCD\n002\n1\nSCT\n\nName\nDE71110220330123456789\nEUR1\n\nRFĳ1",
        ] {
            assert!(EpcTransfer::from_payload(bad).is_err(), "{bad:?}");
        }
        let too_long = EpcTransfer { information: "i".repeat(70), ..long };
        assert!(matches!(too_long.to_payload(), Err(EpcError::TooLong(353))), "but not past 331 bytes");
    }

    #[test]
    fn notice_link_signature_detects_fake_notices() {
        let device = SigningKey::make_random();
        let t = TicketNumber::issue(7, 99).expect("valid");
        let due = time::macros::date!(2026 - 12 - 01);
        let claim = NoticeClaim { ticket_number: &t, total_cents: 2500, due_date: due, iban: "DE71110220330123456789" };
        let sig = claim.sign(&device);
        let link = portal_link("https://portal.example/", &t, &sig);
        assert!(link.starts_with("https://portal.example/n/000700000999") || link.contains("/n/"));
        assert!(link.len() < 140, "compact enough for a small QR code: {link}");
        let (t2, sig2) = parse_portal_link(&link).expect("parses");
        assert_eq!(t2, t);
        assert!(claim.verify(&device.verifying_key(), &sig2));
        // A fraudster's IBAN, another amount, or another device: not genuine.
        let fake_iban = NoticeClaim { iban: "DE33100205000001194700", ..claim.clone() };
        assert!(!fake_iban.verify(&device.verifying_key(), &sig2));
        let other_amount = NoticeClaim { total_cents: 2600, ..claim.clone() };
        assert!(!other_amount.verify(&device.verifying_key(), &sig2));
        assert!(!claim.verify(&SigningKey::make_random().verifying_key(), &sig2));
        assert!(parse_portal_link("/n/000700000999?s=short").is_err());
    }

    #[test]
    fn payee_config_is_validated() {
        assert!(payee().validate().is_ok());
        let mut p = payee();
        p.iban = "DE00110220330123456789".into();
        assert!(p.validate().is_err());
        let mut p = payee();
        p.portal_base_url = "ftp://x".into();
        assert!(p.validate().is_err());
        let mut p = payee();
        p.due_days = 0;
        assert!(p.validate().is_err());
    }
}
