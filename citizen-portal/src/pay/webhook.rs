//! The webhook signature: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." || body)>`.
//!
//! The same scheme the large card providers use: the timestamp is inside the MAC, so an old
//! webhook cannot be replayed with a fresh timestamp, and a header may carry several `v1=`
//! entries while a secret is being rotated (one per secret). The sandbox signs, the adapter
//! verifies, both through this module.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::WebhookError;

type HmacSha256 = Hmac<Sha256>;

/// Longest signature header accepted (a few rotated signatures fit easily).
const MAX_HEADER_LEN: usize = 1024;
/// Most `v1=` entries looked at.
const MAX_SIGNATURES: usize = 8;
/// Bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// The header value for `body` sent at unix time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body).finalize().into_bytes()))
}

/// Checks `header` against `body` and the clock: a `v1` signature made with `secret` over this
/// timestamp and body, and the timestamp at most `tolerance_s` seconds from `now_s` either way.
///
/// The signature is checked first, so [`WebhookError::Stale`] means "genuine, but old or early".
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_s: i64, tolerance_s: i64) -> Result<(), WebhookError> {
    let parsed = parse(header)?;
    let expected = mac(secret, parsed.t, body);
    // Each candidate is compared in constant time; how many there are is public anyway.
    let matched = parsed.signatures.iter().any(|tag| expected.clone().verify_slice(tag).is_ok());
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    let age_s = now_s.saturating_sub(parsed.t);
    if age_s.unsigned_abs() > tolerance_s.unsigned_abs() {
        return Err(WebhookError::Stale { age_s });
    }
    Ok(())
}

/// HMAC-SHA256 keyed with `secret`, fed with `"<t>." || body`.
fn mac(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// A parsed header: one timestamp, one or more `v1` tags. Other schemes (`v0=`…) are ignored.
struct Parsed {
    t: i64,
    signatures: Vec<[u8; TAG_LEN]>,
}

fn parse(header: &str) -> Result<Parsed, WebhookError> {
    if header.len() > MAX_HEADER_LEN {
        return Err(WebhookError::Malformed);
    }
    let mut t = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item.trim().split_once('=').ok_or(WebhookError::Malformed)?;
        match key {
            "t" => {
                if t.is_some() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(WebhookError::Malformed);
                }
                t = Some(value.parse::<i64>().map_err(|_| WebhookError::Malformed)?);
            }
            "v1" => {
                let mut tag = [0u8; TAG_LEN];
                hex::decode_to_slice(value, &mut tag).map_err(|_| WebhookError::Malformed)?;
                if signatures.len() == MAX_SIGNATURES {
                    return Err(WebhookError::Malformed);
                }
                signatures.push(tag);
            }
            _ => {}
        }
    }
    match t {
        Some(t) if !signatures.is_empty() => Ok(Parsed { t, signatures }),
        _ => Err(WebhookError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed independently with Python's hmac module, e.g.
    // python3 -c 'import hmac,hashlib; print(hmac.new(SECRET, b"1700000000." + BODY, hashlib.sha256).hexdigest())'
    const SECRET: &[u8] = b"whsec_fieldseal_test_0123456789";
    const ROTATED_SECRET: &[u8] = b"whsec_rotated_secret_abcdefghij";
    const BODY: &[u8] = br#"{"id":"evt_0001","type":"checkout.session.completed"}"#;
    const T: i64 = 1_700_000_000;
    const KAT_V1: &str = "166172185dc57730a297387aea26c007b68510a1b2f89a9703a1e23369697c5d";
    const KAT_V1_ROTATED: &str = "7d45d01049796e94a1408267887c50a4bc0f240b576e5a3b18d2569a9e1c2339";
    const KAT_V1_EMPTY_BODY: &str = "fa739550f188870682c9b61f2db8064a5b11c737a6f19276055798776e03b3aa";

    #[test]
    fn hmac_sha256_matches_rfc4231_test_case_2() {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sign_matches_known_answers() {
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={KAT_V1}"));
        assert_eq!(sign(ROTATED_SECRET, T, BODY), format!("t={T},v1={KAT_V1_ROTATED}"));
        assert_eq!(sign(SECRET, T, b""), format!("t={T},v1={KAT_V1_EMPTY_BODY}"));
    }

    #[test]
    fn genuine_header_verifies() {
        assert_eq!(verify(SECRET, &format!("t={T},v1={KAT_V1}"), BODY, T, 300), Ok(()));
        assert_eq!(verify(SECRET, &sign(SECRET, T, BODY), BODY, T + 300, 300), Ok(()));
        assert_eq!(verify(SECRET, &sign(SECRET, T, BODY), BODY, T - 300, 300), Ok(()));
    }

    #[test]
    fn any_of_several_v1_entries_verifies_during_rotation() {
        let both = format!("t={T},v1={KAT_V1_ROTATED},v1={KAT_V1}");
        assert_eq!(verify(SECRET, &both, BODY, T, 300), Ok(()));
        assert_eq!(verify(ROTATED_SECRET, &both, BODY, T, 300), Ok(()));
        assert_eq!(verify(b"another_secret_entirely", &both, BODY, T, 300), Err(WebhookError::BadSignature));
    }

    #[test]
    fn other_schemes_and_spaces_are_tolerated() {
        let header = format!("t={T}, v0=abc, v1={}", KAT_V1.to_uppercase());
        assert_eq!(verify(SECRET, &header, BODY, T, 300), Ok(()));
    }

    #[test]
    fn tampered_body_is_rejected() {
        let header = sign(SECRET, T, BODY);
        let mut body = BODY.to_vec();
        for i in 0..body.len() {
            body[i] ^= 0x01;
            assert_eq!(verify(SECRET, &header, &body, T, 300), Err(WebhookError::BadSignature), "byte {i}");
            body[i] ^= 0x01;
        }
        assert_eq!(verify(SECRET, &header, &[BODY, b" "].concat(), T, 300), Err(WebhookError::BadSignature));
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let mut tag = KAT_V1.to_owned().into_bytes();
        tag[0] = if tag[0] == b'0' { b'1' } else { b'0' };
        let header = format!("t={T},v1={}", String::from_utf8(tag).expect("hex"));
        assert_eq!(verify(SECRET, &header, BODY, T, 300), Err(WebhookError::BadSignature));
    }

    #[test]
    fn wrong_secret_is_rejected() {
        assert_eq!(verify(ROTATED_SECRET, &sign(SECRET, T, BODY), BODY, T, 300), Err(WebhookError::BadSignature));
    }

    #[test]
    fn moved_timestamp_is_rejected() {
        // Replaying an old body with a fresh timestamp breaks the signature.
        let header = format!("t={},v1={KAT_V1}", T + 1000);
        assert_eq!(verify(SECRET, &header, BODY, T + 1000, 300), Err(WebhookError::BadSignature));
    }

    #[test]
    fn stale_and_future_timestamps_are_rejected() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T + 301, 300), Err(WebhookError::Stale { age_s: 301 }));
        assert_eq!(verify(SECRET, &header, BODY, T - 301, 300), Err(WebhookError::Stale { age_s: -301 }));
        assert_eq!(verify(SECRET, &header, BODY, i64::MAX, 300), Err(WebhookError::Stale { age_s: i64::MAX - T }));
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let v1 = format!("v1={KAT_V1}");
        let cases = [
            String::new(),
            "garbage".to_owned(),
            format!("t={T}"),
            v1.clone(),
            format!("t=,{v1}"),
            format!("t=-5,{v1}"),
            format!("t=+5,{v1}"),
            format!("t=1e9,{v1}"),
            format!("t=99999999999999999999,{v1}"),
            format!("t={T},t={T},{v1}"),
            format!("t={T},v1="),
            format!("t={T},v1=zz{}", &KAT_V1[2..]),
            format!("t={T},v1={}", &KAT_V1[..62]),
            format!("t={T},v1={KAT_V1}00"),
            format!("t={T},{v1},"),
            format!("t={T};{v1}"),
            format!("t={T},{}", [v1.as_str(); 9].join(",")),
            format!("t={T},{v1},v0={}", "a".repeat(MAX_HEADER_LEN)),
        ];
        for header in cases {
            assert_eq!(verify(SECRET, &header, BODY, T, 300), Err(WebhookError::Malformed), "{header:?}");
        }
    }
}
