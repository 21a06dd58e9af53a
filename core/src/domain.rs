//! What an officer records about a case: vehicle, place, time, notes — validated, and never printed.
//!
//! Every type here that holds personal data has a redacting `Debug` and no `Display`, so a
//! plate, a place or a note cannot reach a log line or a panic message by accident.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Longest officer note, in characters.
pub const MAX_NOTES_CHARS: usize = 2000;
/// Longest address text, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;
/// Longest make or colour text, in characters.
pub const MAX_VEHICLE_TEXT_CHARS: usize = 40;
/// Worst GPS accuracy accepted, in metres.
pub const MAX_ACCURACY_M: f64 = 5000.0;
/// Earliest observation time accepted (2020-01-01T00:00:00Z), in Unix milliseconds.
pub const EARLIEST_OBSERVATION_MS: i64 = 1_577_836_800_000;

/// A validation failure, naming the field and the rule. Never includes the rejected value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// The plate is empty after removing spaces and separators.
    #[error("the plate is empty")]
    EmptyPlate,
    /// The plate cannot exist in the given country.
    #[error("the plate is not possible: {reason}")]
    ImpossiblePlate { reason: &'static str },
    /// Not an ISO 3166-1 alpha-2 code.
    #[error("the nationality must be a two-letter country code such as DE")]
    InvalidNationality,
    /// No offence chosen.
    #[error("choose at least one offence")]
    NoOffence,
    /// More offences than a case may carry.
    #[error("a case may carry at most {max} offences")]
    TooManyOffences { max: usize },
    /// Not in the loaded catalogue.
    #[error("offence code {code} is not in the catalogue")]
    UnknownOffence { code: String },
    /// Listed twice.
    #[error("offence code {code} is listed twice")]
    DuplicateOffence { code: String },
    /// An offence needs photo evidence and there is none.
    #[error("offence {code} needs at least one photo")]
    MissingPhoto { code: String },
    /// More photos than a case may carry.
    #[error("a case may carry at most {max} photos")]
    TooManyPhotos { max: usize },
    /// Latitude or longitude outside the globe, or not a number.
    #[error("{field} is out of range")]
    CoordinatesOutOfRange { field: &'static str },
    /// Accuracy negative, not a number, or too coarse to place a car.
    #[error("the GPS accuracy must be between 0 and {MAX_ACCURACY_M} m")]
    AccuracyOutOfRange,
    /// Empty or too long address.
    #[error("the address must have 1 to {MAX_ADDRESS_CHARS} characters")]
    AddressInvalid,
    /// Make or colour too long or with control characters.
    #[error("{field} must have at most {MAX_VEHICLE_TEXT_CHARS} printable characters")]
    VehicleTextInvalid { field: &'static str },
    /// Notes too long.
    #[error("notes may have at most {max} characters (got {got})")]
    NotesTooLong { max: usize, got: usize },
    /// Control characters in a text field.
    #[error("{field} contains control characters")]
    ControlCharacters { field: &'static str },
    /// Observation time before 2020, or the clock offset implausible.
    #[error("the observation time is implausible: {reason}")]
    ImplausibleTime { reason: &'static str },
}

/// A number plate, normalised: upper case, runs of spaces, hyphens and dots folded to one space.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Normalises and checks a plate typed by an officer, for a vehicle of `nationality`.
    pub fn parse(raw: &str, nationality: &Nationality) -> Result<Self, CaptureError> {
        let mut display = String::with_capacity(raw.len());
        let mut pending_sep = false;
        for c in raw.chars() {
            if c.is_whitespace() || matches!(c, '-' | '.' | '·' | '_') {
                pending_sep = !display.is_empty();
                continue;
            }
            if !c.is_alphanumeric() {
                return Err(CaptureError::ImpossiblePlate {
                    reason: "only letters, digits and separators are allowed",
                });
            }
            if pending_sep {
                display.push(' ');
                pending_sep = false;
            }
            display.extend(c.to_uppercase());
        }
        let compact: Vec<char> = display.chars().filter(|c| *c != ' ').collect();
        if compact.is_empty() {
            return Err(CaptureError::EmptyPlate);
        }
        if compact.len() > 12 {
            return Err(CaptureError::ImpossiblePlate { reason: "longer than any plate" });
        }
        if nationality.0 == "DE" {
            check_german(&compact)?;
        } else if compact.len() < 2 {
            return Err(CaptureError::ImpossiblePlate { reason: "shorter than any plate" });
        }
        Ok(Self(display))
    }

    /// The plate as shown (upper case, single spaces).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plate without separators, for matching.
    pub fn compact(&self) -> String {
        self.0.chars().filter(|c| *c != ' ').collect()
    }
}

/// German plates: district (1–3 letters) + 1–2 letters + 1–4 digits (no leading zero) + optional E or H.
fn check_german(c: &[char]) -> Result<(), CaptureError> {
    let letters = c.iter().take_while(|ch| ch.is_alphabetic()).count();
    let rest = &c[letters..];
    let digits = rest.iter().take_while(|ch| ch.is_ascii_digit()).count();
    let suffix = &rest[digits..];
    let err = |reason| Err(CaptureError::ImpossiblePlate { reason });
    if !(2..=5).contains(&letters) {
        return err("a German plate has 2 to 5 letters before the digits");
    }
    if !c[..letters].iter().all(|ch| ch.is_ascii_uppercase() || matches!(ch, 'Ä' | 'Ö' | 'Ü')) {
        return err("a German plate uses the letters A-Z, Ä, Ö, Ü");
    }
    if digits == 0 {
        return err("a German plate has 1 to 4 digits");
    }
    if rest[0] == '0' {
        return err("the number on a German plate does not start with 0");
    }
    match suffix {
        [] => {}
        ['E' | 'H'] => {}
        _ => return err("only E or H may follow the digits of a German plate"),
    }
    if digits > 4 || letters + digits > 8 {
        return err("a German plate has at most 8 characters and 4 digits");
    }
    Ok(())
}

impl TryFrom<String> for Plate {
    type Error = CaptureError;
    fn try_from(s: String) -> Result<Self, CaptureError> {
        // Records carry the normalised form; re-check it loosely (nationality is checked apart).
        Plate::parse(&s, &Nationality("XX".into()))
    }
}
impl From<Plate> for String {
    fn from(p: Plate) -> String {
        p.0
    }
}
impl fmt::Debug for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Plate(<redacted>)")
    }
}

/// ISO 3166-1 alpha-2 country of registration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nationality(String);

impl Nationality {
    /// Checks and upper-cases a two-letter code.
    pub fn parse(raw: &str) -> Result<Self, CaptureError> {
        let up = raw.trim().to_ascii_uppercase();
        if up.len() == 2 && up.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(up))
        } else {
            Err(CaptureError::InvalidNationality)
        }
    }
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Nationality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nationality(<redacted>)")
    }
}

impl TryFrom<String> for Nationality {
    type Error = CaptureError;
    fn try_from(s: String) -> Result<Self, CaptureError> {
        Self::parse(&s)
    }
}
impl From<Nationality> for String {
    fn from(n: Nationality) -> String {
        n.0
    }
}

/// The vehicle as observed. Deserialising runs the same checks as [`Vehicle::new`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "VehicleFields")]
pub struct Vehicle {
    /// Normalised plate.
    pub plate: Plate,
    /// Country of registration.
    pub nationality: Nationality,
    /// Make as seen, e.g. "VW" (optional, free text).
    pub make: String,
    /// Colour as seen (optional, free text).
    pub colour: String,
}

impl Vehicle {
    /// Validates officer input into a vehicle.
    pub fn new(plate: &str, nationality: &str, make: &str, colour: &str) -> Result<Self, CaptureError> {
        let nationality = Nationality::parse(nationality)?;
        let plate = Plate::parse(plate, &nationality)?;
        Ok(Self { plate, nationality, make: short_text(make, "make")?, colour: short_text(colour, "colour")? })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VehicleFields {
    plate: String,
    nationality: String,
    make: String,
    colour: String,
}

impl TryFrom<VehicleFields> for Vehicle {
    type Error = CaptureError;
    fn try_from(f: VehicleFields) -> Result<Self, CaptureError> {
        Self::new(&f.plate, &f.nationality, &f.make, &f.colour)
    }
}

fn short_text(s: &str, field: &'static str) -> Result<String, CaptureError> {
    let t = s.trim();
    if t.chars().count() > MAX_VEHICLE_TEXT_CHARS || t.chars().any(char::is_control) {
        return Err(CaptureError::VehicleTextInvalid { field });
    }
    Ok(t.to_owned())
}

impl Drop for Vehicle {
    fn drop(&mut self) {
        self.plate.0.zeroize();
        self.make.zeroize();
        self.colour.zeroize();
    }
}

impl fmt::Debug for Vehicle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vehicle(<redacted>)")
    }
}

/// Where the offence was observed, recorded once and deliberately. Deserialising runs the
/// same checks as [`Place::new`].
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlaceFields")]
pub struct Place {
    /// WGS 84 latitude in degrees.
    pub lat: f64,
    /// WGS 84 longitude in degrees.
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f64,
    /// Address text as the officer confirmed it.
    pub address: String,
}

impl Place {
    /// Validates a place.
    pub fn new(lat: f64, lon: f64, accuracy_m: f64, address: &str) -> Result<Self, CaptureError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(CaptureError::CoordinatesOutOfRange { field: "latitude" });
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(CaptureError::CoordinatesOutOfRange { field: "longitude" });
        }
        if !accuracy_m.is_finite() || !(0.0..=MAX_ACCURACY_M).contains(&accuracy_m) {
            return Err(CaptureError::AccuracyOutOfRange);
        }
        let address = address.trim();
        let n = address.chars().count();
        if n == 0 || n > MAX_ADDRESS_CHARS {
            return Err(CaptureError::AddressInvalid);
        }
        if address.chars().any(char::is_control) {
            return Err(CaptureError::ControlCharacters { field: "address" });
        }
        Ok(Self { lat, lon, accuracy_m, address: address.to_owned() })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceFields {
    lat: f64,
    lon: f64,
    accuracy_m: f64,
    address: String,
}

impl TryFrom<PlaceFields> for Place {
    type Error = CaptureError;
    fn try_from(f: PlaceFields) -> Result<Self, CaptureError> {
        Self::new(f.lat, f.lon, f.accuracy_m, &f.address)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.address.zeroize();
        self.lat = 0.0;
        self.lon = 0.0;
    }
}

impl fmt::Debug for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Place(<redacted>)")
    }
}

/// Latest observation time accepted (2100-01-01T00:00:00Z), in Unix milliseconds.
pub const LATEST_OBSERVATION_MS: i64 = 4_102_444_800_000;

/// When the offence was observed: the device clock plus the last known offset to server time.
/// Only [`ObservedAt::new`] makes one (deserialising goes through it too), so every value is in range.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ObservedAtFields")]
pub struct ObservedAt {
    device_unix_ms: i64,
    server_offset_ms: i64,
    utc_offset_minutes: i16,
}

/// The wire form of [`ObservedAt`], checked on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObservedAtFields {
    device_unix_ms: i64,
    server_offset_ms: i64,
    utc_offset_minutes: i16,
}

impl TryFrom<ObservedAtFields> for ObservedAt {
    type Error = CaptureError;
    fn try_from(f: ObservedAtFields) -> Result<Self, CaptureError> {
        Self::new(f.device_unix_ms, f.server_offset_ms, f.utc_offset_minutes)
    }
}

impl ObservedAt {
    /// Validates a time: device clock (Unix ms), server-minus-device offset (ms), local UTC offset (minutes).
    pub fn new(device_unix_ms: i64, server_offset_ms: i64, utc_offset_minutes: i16) -> Result<Self, CaptureError> {
        const YEAR_MS: u64 = 366 * 24 * 3600 * 1000;
        if server_offset_ms.unsigned_abs() > YEAR_MS {
            return Err(CaptureError::ImplausibleTime { reason: "the clock offset to the server is over a year" });
        }
        if utc_offset_minutes.unsigned_abs() > 14 * 60 {
            return Err(CaptureError::ImplausibleTime { reason: "the UTC offset is beyond ±14 h" });
        }
        let corrected = device_unix_ms.saturating_add(server_offset_ms);
        if corrected < EARLIEST_OBSERVATION_MS {
            return Err(CaptureError::ImplausibleTime { reason: "before 2020" });
        }
        if corrected > LATEST_OBSERVATION_MS {
            return Err(CaptureError::ImplausibleTime { reason: "after 2099" });
        }
        Ok(Self { device_unix_ms, server_offset_ms, utc_offset_minutes })
    }

    /// Device clock, Unix milliseconds.
    pub fn device_unix_ms(&self) -> i64 {
        self.device_unix_ms
    }
    /// Server time minus device time at the last sync, in ms (0 if never synced).
    pub fn server_offset_ms(&self) -> i64 {
        self.server_offset_ms
    }
    /// The device's local UTC offset at that moment, in minutes (e.g. 60 for CET).
    pub fn utc_offset_minutes(&self) -> i16 {
        self.utc_offset_minutes
    }

    /// Best estimate of true time: device clock corrected by the server offset.
    pub fn corrected_unix_ms(&self) -> i64 {
        self.device_unix_ms.saturating_add(self.server_offset_ms)
    }

    /// The corrected time in the device's local offset.
    pub fn local(&self) -> time::OffsetDateTime {
        let utc = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.corrected_unix_ms()) * 1_000_000)
            .expect("ObservedAt::new keeps times within 2020..2100");
        let off = time::UtcOffset::from_whole_seconds(i32::from(self.utc_offset_minutes) * 60)
            .expect("ObservedAt::new keeps offsets within ±14 h");
        utc.to_offset(off)
    }
}

impl fmt::Debug for ObservedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObservedAt(<redacted>)")
    }
}

/// Validates officer notes.
pub fn check_notes(notes: &str) -> Result<String, CaptureError> {
    let n = notes.chars().count();
    if n > MAX_NOTES_CHARS {
        return Err(CaptureError::NotesTooLong { max: MAX_NOTES_CHARS, got: n });
    }
    if notes.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(CaptureError::ControlCharacters { field: "notes" });
    }
    Ok(notes.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de() -> Nationality {
        Nationality::parse("de").expect("valid")
    }

    #[test]
    fn german_plates_are_normalised() {
        for (raw, want) in [
            ("b-ab 1234", "B AB 1234"),
            ("  M - XY 99 ", "M XY 99"),
            ("LÖ-AB 123", "LÖ AB 123"),
            ("HH-AB 123E", "HH AB 123E"),
            ("k.x.1", "K X 1"),
        ] {
            assert_eq!(Plate::parse(raw, &de()).expect(raw).as_str(), want);
        }
        assert_eq!(Plate::parse("B-AB 1234", &de()).expect("valid").compact(), "BAB1234");
    }

    #[test]
    fn impossible_german_plates_are_refused() {
        assert_eq!(Plate::parse(" - ", &de()), Err(CaptureError::EmptyPlate));
        for raw in ["1234", "B 0123", "ABCDEF 1", "B AB 12345", "B-AB", "B AB 12X", "B AB 1!", "BAB 1234 H E", "Ω 12"]
        {
            assert!(matches!(Plate::parse(raw, &de()), Err(CaptureError::ImpossiblePlate { .. })), "{raw}");
        }
    }

    #[test]
    fn foreign_plates_are_loosely_checked() {
        let fr = Nationality::parse("FR").expect("valid");
        assert_eq!(Plate::parse("ab-123-cd", &fr).expect("valid").as_str(), "AB 123 CD");
        assert!(Plate::parse("A", &fr).is_err());
        assert!(Plate::parse("ABCDEFGHIJKLMN", &fr).is_err());
    }

    #[test]
    fn personal_data_is_redacted_in_debug() {
        let v = Vehicle::new("B-CANARY 1", "DE", "VW", "rot").err();
        assert!(v.is_some(), "CANARY has too many letters for a German plate");
        let v = Vehicle::new("B-CA 1", "DE", "VW", "rot").expect("valid");
        let p = Place::new(52.5, 13.4, 5.0, "Unter den Linden 1, Berlin").expect("valid");
        let out = format!("{v:?} {p:?} {:?}", v.plate);
        assert!(!out.contains("CA 1") && !out.contains("Linden") && !out.contains("52.5"), "{out}");
    }

    #[test]
    fn errors_never_echo_the_rejected_value() {
        let e = Plate::parse("SECRET-XYZ-9999999", &de()).expect_err("invalid");
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn places_are_range_checked() {
        assert!(Place::new(52.0, 13.0, 3.0, "Hauptstr. 1").is_ok());
        assert_eq!(Place::new(90.1, 0.0, 1.0, "x"), Err(CaptureError::CoordinatesOutOfRange { field: "latitude" }));
        assert_eq!(Place::new(0.0, -180.5, 1.0, "x"), Err(CaptureError::CoordinatesOutOfRange { field: "longitude" }));
        assert_eq!(Place::new(f64::NAN, 0.0, 1.0, "x"), Err(CaptureError::CoordinatesOutOfRange { field: "latitude" }));
        assert_eq!(Place::new(0.0, 0.0, -1.0, "x"), Err(CaptureError::AccuracyOutOfRange));
        assert_eq!(Place::new(0.0, 0.0, 1.0, "  "), Err(CaptureError::AddressInvalid));
        assert_eq!(Place::new(0.0, 0.0, 1.0, "a\u{7}b"), Err(CaptureError::ControlCharacters { field: "address" }));
    }

    #[test]
    fn notes_are_limited() {
        assert_eq!(check_notes(" ok\nline two ").expect("valid"), "ok\nline two");
        let long = "ä".repeat(MAX_NOTES_CHARS + 1);
        assert_eq!(
            check_notes(&long),
            Err(CaptureError::NotesTooLong { max: MAX_NOTES_CHARS, got: MAX_NOTES_CHARS + 1 })
        );
    }

    #[test]
    fn observation_times_are_plausible() {
        let t = ObservedAt::new(1_790_000_000_000, -1500, 60).expect("valid");
        assert_eq!(t.corrected_unix_ms(), 1_789_999_998_500);
        assert_eq!(t.local().offset().whole_minutes(), 60);
        assert!(ObservedAt::new(1_000, 0, 0).is_err());
        assert!(ObservedAt::new(1_790_000_000_000, 0, 15 * 60).is_err());
        // Extremes that once overflowed or panicked later are refused cleanly.
        assert!(ObservedAt::new(i64::MAX, 0, 0).is_err());
        assert!(ObservedAt::new(i64::MIN, i64::MIN, i16::MIN).is_err());
        assert!(ObservedAt::new(1_790_000_000_000, i64::MIN, 0).is_err());
        assert!(ObservedAt::new(1_790_000_000_000, 0, i16::MIN).is_err());
        let json = r#"{"device_unix_ms":1790000000000,"server_offset_ms":0,"utc_offset_minutes":-32768}"#;
        assert!(serde_json::from_str::<ObservedAt>(json).is_err(), "deserialising validates too");
    }
}
