//! `fieldseal admin`: one-time officer enrolment codes and the device list.

use fieldseal_core::seal::sha256;

use fieldseal_office::auth::{self, Role, TotpSecret};

use crate::db::{Actor, ClerkRow, Db, DbError, DeviceRow};
use crate::relay::now_ms;

/// Characters of an enrolment code: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
const ALPHABET: &[u8] = b"34679ACDEFGHJKMNPQRTUVWXY";
/// Length of an enrolment code (16 characters of 25: 74 bits).
pub const CODE_LEN: usize = 16;

/// Upper case, without spaces and hyphens: how codes are compared.
pub fn normalise_code(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && *c != '-').map(|c| c.to_ascii_uppercase()).collect()
}

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
    db.insert_code(&sha256(normalise_code(&code).as_bytes()), label, now, now + i64::from(hours) * 3_600_000).await?;
    tracing::info!(%label, hours, "enrolment code issued");
    Ok(code)
}

/// The enrolled devices.
pub async fn devices(db: &Db) -> Result<Vec<DeviceRow>, DbError> {
    db.devices().await
}

/// Why a clerk account was not created.
#[derive(Debug, thiserror::Error)]
pub enum ClerkError {
    /// The name breaks the rules.
    #[error("the user name must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'")]
    Name,
    /// The name is taken.
    #[error("a clerk named {0:?} exists already; choose another name")]
    Taken(String),
    /// Password rules or hashing.
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Checks a clerk's sign-in name: lower-case letters, digits, `.`, `_`, `-`.
pub fn check_username(name: &str) -> Result<(), ClerkError> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err(ClerkError::Name) }
}

/// A new clerk account: the id, and the TOTP secret when TOTP was asked for (shown once).
pub struct NewClerk {
    /// The id stamped on the clerk's actions.
    pub id: i64,
    /// The secret for the authenticator app, if TOTP is on.
    pub totp: Option<TotpSecret>,
}

/// Creates a clerk account (Argon2id password hash; optional TOTP), audited.
pub async fn add_clerk(
    db: &Db,
    username: &str,
    role: Role,
    password: &str,
    totp: bool,
) -> Result<NewClerk, ClerkError> {
    check_username(username)?;
    auth::check_password_rules(password)?;
    let hash = auth::hash_password(password)?;
    let secret = totp.then(TotpSecret::generate);
    let id = db
        .insert_clerk(username, role, &hash, secret.as_ref().map(|s| s.as_bytes().as_slice()), Actor::Admin, now_ms())
        .await?
        .ok_or_else(|| ClerkError::Taken(username.to_owned()))?;
    tracing::info!(clerk = id, role = role.as_str(), totp, "clerk account created");
    Ok(NewClerk { id, totp: secret })
}

/// Disables a clerk account (audited); `false` when no active clerk has that name.
pub async fn disable_clerk(db: &Db, username: &str) -> Result<bool, DbError> {
    db.disable_clerk(username, Actor::Admin, now_ms()).await
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
        assert_eq!(normalise_code(&a.to_lowercase().replace('-', " ")), a.replace('-', ""));
        assert!(normalise_code(&a).bytes().all(|b| ALPHABET.contains(&b)));
    }

    #[test]
    fn clerk_names_are_plain() {
        for ok in ["anna", "m.mueller", "clerk_07", "a-b"] {
            assert!(check_username(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "Anna", "anna mueller", "anna@x", "ännä", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
    }
}
