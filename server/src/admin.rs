//! `fieldseal admin`: one-time officer enrolment codes and the device list.

use fieldseal_core::seal::sha256;
use fieldseal_core::ticket::normalise_typed_code;

use crate::db::{ClerkRow, Db, DbError, DeviceRow};
use crate::relay::now_ms;

/// Characters of an enrolment code: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
const ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";
/// Length of an enrolment code (16 characters of 25: 74 bits).
pub const CODE_LEN: usize = 16;

fn make_code() -> String {
    let bytes = fieldseal_core::seal::make_random_key();
    // 32 random bytes, each reduced without bias by rejection.
    let mut out = String::with_capacity(CODE_LEN + 3);
    let mut pool = bytes.iter().copied().filter(|b| usize::from(*b) < 250);
    while out.chars().filter(|c| *c != '-').count() < CODE_LEN {
        let b = match pool.next() {
            Some(b) => b,
            None => return make_code(),
        };
        if out.len() % 5 == 4 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
    }
    out
}

/// Issues a one-time code valid for `hours`, labelled (e.g. "unit 4, device 2"). Returns the
/// code to hand to the officer; only its hash is stored.
pub async fn issue_code(db: &Db, label: &str, hours: u32) -> Result<String, DbError> {
    let code = make_code();
    let now = now_ms();
    db.insert_code(&sha256(normalise_typed_code(&code).as_bytes()), label, now, now + i64::from(hours) * 3_600_000)
        .await?;
    tracing::info!(%label, hours, "enrolment code issued");
    Ok(code)
}

/// The enrolled devices.
pub async fn devices(db: &Db) -> Result<Vec<DeviceRow>, DbError> {
    db.devices().await
}

/// Every clerk account.
pub async fn clerks(db: &Db) -> Result<Vec<ClerkRow>, DbError> {
    db.clerks().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_grouped_and_normalise_from_what_people_type() {
        let a = make_code();
        assert_eq!(a.len(), CODE_LEN + 3, "{a}");
        assert_eq!(a.matches('-').count(), 3);
        assert_ne!(a, make_code());
        assert_eq!(normalise_typed_code(&a.to_lowercase().replace('-', " ")), a.replace('-', ""));
        assert!(normalise_typed_code(&a).bytes().all(|b| ALPHABET.contains(&b)));
    }
}
