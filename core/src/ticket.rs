//! Ticket numbers (unique offline, with a check digit) and citizen access codes.
//!
//! A ticket number is 12 digits: a 4-digit device prefix assigned at enrolment, a 7-digit
//! per-device counter and a Damm check digit. Damm's quasigroup detects every single wrong
//! digit and every swap of two neighbouring digits. Digits only, so it survives any bank's
//! remittance field; printed as `1234-5678-9012`.
//!
//! An access code is 12 characters from a 30-symbol alphabet without 0/O, 1/I/L and U
//! (log2(30^12) ≈ 58.9 bits), printed as `ABCD-EFGH-JKMN`.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Highest device prefix.
pub const MAX_DEVICE_PREFIX: u16 = 9999;
/// Highest per-device counter.
pub const MAX_COUNTER: u32 = 9_999_999;

/// The Damm operation table (totally anti-symmetric quasigroup of order 10).
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm(digits: impl Iterator<Item = u8>) -> u8 {
    digits.fold(0, |interim, d| DAMM[usize::from(interim)][usize::from(d)])
}

/// Why a ticket number or access code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Wrong number of digits or a non-digit.
    #[error("a ticket number has 12 digits, e.g. 1234-5678-9012")]
    Malformed,
    /// The check digit does not match: a typo.
    #[error("the ticket number's check digit does not match: please check it for a typo")]
    CheckDigit,
    /// The prefix or counter is outside its range.
    #[error("the ticket number range is exhausted or invalid")]
    OutOfRange,
    /// Wrong length or a character outside the alphabet.
    #[error("an access code has 12 letters and digits, e.g. ABCD-EFGH-JKMN")]
    AccessCodeMalformed,
}

/// A ticket number: 12 digits, the last a Damm check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketNumber(String);

impl TicketNumber {
    /// Issues the number for `counter` on the device with `prefix`.
    pub fn issue(prefix: u16, counter: u32) -> Result<Self, TicketError> {
        if prefix > MAX_DEVICE_PREFIX || counter == 0 || counter > MAX_COUNTER {
            return Err(TicketError::OutOfRange);
        }
        let body = format!("{prefix:04}{counter:07}");
        let check = damm(body.bytes().map(|b| b - b'0'));
        Ok(Self(format!("{body}{check}")))
    }

    /// Parses a typed or printed number, ignoring spaces, hyphens, dots and slashes.
    pub fn parse(raw: &str) -> Result<Self, TicketError> {
        let mut digits = String::with_capacity(12);
        for c in raw.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !(c.is_whitespace() || matches!(c, '-' | '.' | '/')) {
                return Err(TicketError::Malformed);
            }
            if digits.len() > 12 {
                return Err(TicketError::Malformed);
            }
        }
        if digits.len() != 12 {
            return Err(TicketError::Malformed);
        }
        if damm(digits.bytes().map(|b| b - b'0')) != 0 {
            return Err(TicketError::CheckDigit);
        }
        if &digits[4..11] == "0000000" {
            return Err(TicketError::OutOfRange);
        }
        Ok(Self(digits))
    }

    /// The 12 digits.
    pub fn digits(&self) -> &str {
        &self.0
    }
    /// Printed form `1234-5678-9012`.
    pub fn grouped(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }
    /// The issuing device's prefix.
    pub fn device_prefix(&self) -> u16 {
        self.0[0..4].parse().expect("validated digits")
    }
    /// The per-device counter.
    pub fn counter(&self) -> u32 {
        self.0[4..11].parse().expect("validated digits")
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}
impl TryFrom<String> for TicketNumber {
    type Error = TicketError;
    fn try_from(s: String) -> Result<Self, TicketError> {
        Self::parse(&s)
    }
}
impl From<TicketNumber> for String {
    fn from(t: TicketNumber) -> String {
        t.0
    }
}

/// The access code alphabet: digits 2–9 and A–Z without I, L, O, U.
pub const ACCESS_CODE_ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in an access code.
pub const ACCESS_CODE_LEN: usize = 12;

/// The citizen's access code: the only credential to a case. Zeroized, never printed by
/// `Debug`, compared in constant time.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct AccessCode(Zeroizing<String>);

impl PartialEq for AccessCode {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}
impl Eq for AccessCode {}

impl Serialize for AccessCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// `len` random characters, uniform over [`ACCESS_CODE_ALPHABET`] (access and setup codes).
pub(crate) fn random_code(len: usize) -> Zeroizing<String> {
    Zeroizing::new(
        (0..len).map(|_| char::from(ACCESS_CODE_ALPHABET[crate::hazmat::random_below(30) as usize])).collect(),
    )
}

/// A code as people type it, as it is compared: upper case, without spaces and hyphens
/// (enrolment and setup codes).
pub fn normalise_typed_code(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect()
}

impl AccessCode {
    /// A fresh random code (`make_*`: random), uniform over the alphabet.
    pub fn make_random() -> Self {
        Self(random_code(ACCESS_CODE_LEN))
    }

    /// Parses what a citizen typed: case-insensitive, spaces and hyphens ignored.
    pub fn parse(raw: &str) -> Result<Self, TicketError> {
        let mut code = Zeroizing::new(String::with_capacity(ACCESS_CODE_LEN));
        for c in raw.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let up = c.to_ascii_uppercase();
            if !up.is_ascii() || !ACCESS_CODE_ALPHABET.contains(&(up as u8)) || code.len() >= ACCESS_CODE_LEN {
                return Err(TicketError::AccessCodeMalformed);
            }
            code.push(up);
        }
        if code.len() != ACCESS_CODE_LEN {
            return Err(TicketError::AccessCodeMalformed);
        }
        Ok(Self(code))
    }

    /// Printed form `ABCD-EFGH-JKMN`.
    pub fn grouped(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }

    /// The 12 characters.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Bits of entropy of a random code.
    pub fn entropy_bits() -> f64 {
        (ACCESS_CODE_LEN as f64) * (ACCESS_CODE_ALPHABET.len() as f64).log2()
    }
}

impl fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(<secret>)")
    }
}
impl TryFrom<String> for AccessCode {
    type Error = TicketError;
    fn try_from(s: String) -> Result<Self, TicketError> {
        Self::parse(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn damm_matches_the_published_example() {
        // Damm's worked example: 572 has check digit 4.
        assert_eq!(damm([5, 7, 2].into_iter()), 4);
        assert_eq!(damm([5, 7, 2, 4].into_iter()), 0);
    }

    #[test]
    fn issued_numbers_parse_back_in_any_printed_form() {
        let t = TicketNumber::issue(42, 127).expect("in range");
        assert_eq!(t.digits().len(), 12);
        assert_eq!((t.device_prefix(), t.counter()), (42, 127));
        for form in [
            t.digits().to_owned(),
            t.grouped(),
            t.grouped().replace('-', " "),
            format!(" {} ", t.grouped().replace('-', "/")),
        ] {
            assert_eq!(TicketNumber::parse(&form).expect(&form), t);
        }
    }

    #[test]
    fn every_single_digit_error_and_neighbour_swap_is_caught() {
        for (prefix, counter) in [(0, 1), (42, 127), (9999, 9_999_999), (1234, 5_678_901)] {
            let t = TicketNumber::issue(prefix, counter).expect("in range");
            let d: Vec<u8> = t.digits().bytes().collect();
            for i in 0..12 {
                for wrong in b'0'..=b'9' {
                    if wrong == d[i] {
                        continue;
                    }
                    let mut bad = d.clone();
                    bad[i] = wrong;
                    let s = String::from_utf8(bad).expect("ascii");
                    assert_eq!(TicketNumber::parse(&s), Err(TicketError::CheckDigit), "{s}");
                }
                if i < 11 && d[i] != d[i + 1] {
                    let mut bad = d.clone();
                    bad.swap(i, i + 1);
                    let s = String::from_utf8(bad).expect("ascii");
                    assert_eq!(TicketNumber::parse(&s), Err(TicketError::CheckDigit), "{s}");
                }
            }
        }
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for s in ["", "12345", "1234-5678-901a", "1234567890123", "１２３４５６７８９０１２"] {
            assert_eq!(TicketNumber::parse(s), Err(TicketError::Malformed), "{s}");
        }
        assert_eq!(TicketNumber::issue(10_000, 1), Err(TicketError::OutOfRange));
        let zero = format!("00420000000{}", damm("00420000000".bytes().map(|b| b - b'0')));
        assert_eq!(TicketNumber::parse(&zero), Err(TicketError::OutOfRange), "counter 0 is never issued");
        assert_eq!(TicketNumber::issue(1, 0), Err(TicketError::OutOfRange));
        assert_eq!(TicketNumber::issue(1, MAX_COUNTER + 1), Err(TicketError::OutOfRange));
    }

    #[test]
    fn access_codes_have_enough_entropy_and_no_ambiguous_symbols() {
        assert!(AccessCode::entropy_bits() >= 50.0);
        for bad in b"01ILOU" {
            assert!(!ACCESS_CODE_ALPHABET.contains(bad));
        }
        let c = AccessCode::make_random();
        assert_eq!(AccessCode::parse(&c.grouped().to_lowercase()).expect("parses"), c);
        assert_eq!(format!("{c:?}"), "AccessCode(<secret>)");
        assert_eq!(AccessCode::parse("ABCD-EFGH-JKM0"), Err(TicketError::AccessCodeMalformed));
        assert_eq!(AccessCode::parse("ABCD-EFGH-JKM"), Err(TicketError::AccessCodeMalformed));
    }

    #[test]
    fn random_codes_use_the_whole_alphabet_evenly() {
        let mut counts = [0u32; 30];
        for _ in 0..1000 {
            for b in AccessCode::make_random().expose().bytes() {
                counts[ACCESS_CODE_ALPHABET.iter().position(|a| *a == b).expect("in alphabet")] += 1;
            }
        }
        // 12,000 symbols, 400 expected each; a broken generator lands far outside.
        assert!(counts.iter().all(|c| (250..=550).contains(c)), "{counts:?}");
    }

    proptest! {
        #[test]
        fn any_issued_number_round_trips(prefix in 0u16..=MAX_DEVICE_PREFIX, counter in 1u32..=MAX_COUNTER) {
            let t = TicketNumber::issue(prefix, counter).expect("in range");
            prop_assert_eq!(TicketNumber::parse(&t.grouped()).expect("parses"), t);
        }
    }
}
