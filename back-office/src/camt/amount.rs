//! Amounts: exact decimal text into integer minor units of the currency.

use super::*;

/// An amount with its currency, for messages (`12.50 EUR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    /// Minor units (wide enough for any sum of `i64` amounts).
    pub minor_units: i128,
    /// The currency.
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places = minor_units(&self.currency);
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        let scale = 10u128.pow(places);
        if places == 0 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            write!(f, "{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.currency, width = places as usize)
        }
    }
}

/// Decimal places of a currency's minor unit (ISO 4217): 0 for BIF, CLP, DJF, GNF, ISK, JPY,
/// KMF, KRW, PYG, RWF, UGX, UYI, VND, VUV, XAF, XOF, XPF; 3 for BHD, IQD, JOD, KWD, LYD, OMR,
/// TND; 4 for CLF and UYW; 2 for every other code. `amount_cents` fields count these units.
pub fn minor_units(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Parses an amount's text (surrounding XML whitespace allowed) into minor units of `currency`.
pub(crate) fn parse_amount(text: &str, currency: &str) -> Result<i64, AmountError> {
    let t = text.trim_matches(XML_WS);
    if t.is_empty() {
        return Err(AmountError::Empty);
    }
    if t.contains(',') {
        return Err(AmountError::Comma);
    }
    if t.starts_with(['+', '-']) {
        return Err(AmountError::Sign);
    }
    if t.contains(['e', 'E']) {
        return Err(AmountError::Exponent);
    }
    let (int, frac) = match t.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (t, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || (t.contains('.') && !digits(frac)) {
        return Err(AmountError::Syntax);
    }
    let places = minor_units(currency);
    if frac.len() > places as usize {
        return Err(AmountError::TooManyDecimals { currency: currency.to_owned(), max: places });
    }
    let padding = std::iter::repeat_n(b'0', places as usize - frac.len());
    let mut value: i64 = 0;
    for b in int.bytes().chain(frac.bytes()).chain(padding) {
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(b - b'0'))).ok_or(AmountError::Overflow)?;
    }
    Ok(value)
}
