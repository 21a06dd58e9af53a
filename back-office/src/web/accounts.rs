//! Clerk accounts belong to the zone. Each account's record — role, Argon2id password hash,
//! TOTP secret, disabled — is a vault item for `clerk:{username}` that only this zone can make
//! or open ([`fieldseal_core::vault`]); the host keeps it with the name and the last TOTP step.
//! The first administrator is made from the authority's signed statement and a one-time setup
//! code ([`fieldseal_core::authority`]); every other account by an administrator in the office.
//! No host command makes a clerk, resets a password or grants a role.

use fieldseal_core::vault::VaultKey;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::auth::{Role, TotpSecret};
use crate::store::ClerkRow;

/// What only the zone reads of an account.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ClerkSecret {
    /// Role, as the zone granted it.
    #[zeroize(skip)]
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// TOTP secret, when TOTP is on.
    pub totp_secret: Option<Vec<u8>>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
}

/// An account as the office uses it: the host's row with the zone's record opened.
#[derive(Clone)]
pub struct Account {
    /// Id (stamped on every action).
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// The last TOTP step accepted.
    pub totp_last_step: Option<i64>,
    /// The opened record.
    pub secret: ClerkSecret,
}

impl std::ops::Deref for Account {
    type Target = ClerkSecret;
    fn deref(&self) -> &ClerkSecret {
        &self.secret
    }
}

/// The vault context of an account's record.
fn context(username: &str) -> String {
    format!("clerk:{username}")
}

/// Seals `secret` as the record of `username`.
pub fn seal(vault: &VaultKey, username: &str, secret: &ClerkSecret) -> Vec<u8> {
    let json = zeroize::Zeroizing::new(serde_json::to_vec(secret).expect("a clerk record serialises"));
    vault.seal(&context(username), &json)
}

/// Opens a host row; `None` when it has no record (made by the operator before clerks
/// belonged to the zone) or its record does not open for this zone and name (forged, moved
/// to another name, or changed).
pub fn open(vault: &VaultKey, row: ClerkRow) -> Option<Account> {
    let sealed = row.sealed.as_deref()?;
    let json = vault.open(&context(&row.username), sealed).ok()?;
    let secret: ClerkSecret = serde_json::from_slice(&json).ok()?;
    Some(Account { id: row.id, username: row.username, totp_last_step: row.totp_last_step, secret })
}

/// A new account's record: the password hashed, a TOTP secret made when asked for.
pub fn new_secret(
    role: Role,
    password: &str,
    totp: bool,
) -> Result<(ClerkSecret, Option<TotpSecret>), crate::auth::AuthError> {
    crate::auth::check_password_rules(password)?;
    let password_hash = crate::auth::hash_password(password)?;
    let totp = totp.then(TotpSecret::generate);
    let secret =
        ClerkSecret { role, password_hash, totp_secret: totp.as_ref().map(|t| t.as_bytes().to_vec()), disabled: false };
    Ok((secret, totp))
}

/// Why [`check_username`] refuses a name, in German.
pub const USERNAME_RULE_DE: &str = "der Benutzername muss 3 bis 64 Zeichen aus a-z, 0-9, '.', '_' oder '-' haben";

/// Checks a clerk's sign-in name: 3 to 64 of lower-case letters, digits, `.`, `_`, `-`.
pub fn check_username(name: &str) -> Result<(), &'static str> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok { Ok(()) } else { Err("the user name must be 3 to 64 characters of a-z, 0-9, '.', '_' or '-'") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldseal_core::seal::EnclaveSecretKey;

    fn vault(b: u8) -> VaultKey {
        VaultKey::derive(&EnclaveSecretKey::from_bytes(&[b; 32]).expect("key"))
    }

    fn row(id: i64, username: &str, sealed: Option<Vec<u8>>) -> ClerkRow {
        ClerkRow { id, username: username.into(), sealed, totp_last_step: None }
    }

    /// Tried as a rogue operator would with the host's database: a record it made itself,
    /// another zone's, an admin's record moved onto its own account's name, an operator-made
    /// row without a record, a changed byte. None opens; the genuine one does.
    #[test]
    fn only_records_this_zone_made_for_this_name_open() {
        let zone = vault(1);
        let (secret, totp) = new_secret(Role::Admin, "Stempelkissen-2026!", true).expect("made");
        let totp = totp.expect("a TOTP secret");
        let sealed = seal(&zone, "ada", &secret);
        let opened = open(&zone, row(1, "ada", Some(sealed.clone()))).expect("opens");
        assert_eq!(opened.role, Role::Admin);
        assert!(crate::auth::verify_password(&opened.password_hash, "Stempelkissen-2026!"));
        assert_eq!(opened.totp_secret.as_deref(), Some(totp.as_bytes().as_slice()));
        assert!(!opened.disabled);
        let json = String::from_utf8_lossy(&sealed).into_owned();
        assert!(!json.contains("argon2") && !json.contains("admin"), "sealed, not readable: {json}");

        let forged_json = serde_json::to_vec(&secret).expect("json");
        let forged = [vec![1u8], vec![0; 12], forged_json].concat();
        assert!(open(&zone, row(2, "eve", Some(forged))).is_none(), "made by the host");
        assert!(open(&zone, row(2, "eve", Some(seal(&vault(2), "eve", &secret)))).is_none(), "another zone's");
        assert!(open(&zone, row(2, "eve", Some(sealed.clone()))).is_none(), "ada's record on eve's name");
        assert!(open(&zone, row(2, "eve", None)).is_none(), "made by the operator");
        let mut changed = sealed;
        changed[20] ^= 1;
        assert!(open(&zone, row(1, "ada", Some(changed))).is_none(), "changed");
    }

    #[test]
    fn names_and_passwords_follow_the_rules() {
        assert!(check_username("anna.meier").is_ok());
        for bad in ["an", "Anna", "anna meier", "änna", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(new_secret(Role::Clerk, "short", false).is_err());
    }
}
