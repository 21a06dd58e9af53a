//! `fieldseal authority`: what the authority (the data controller, not the operator) runs on
//! its own offline machine. `new-key` makes its Ed25519 key; `first-admin` signs the statement
//! that makes the back office's first administrator in one zone, with a one-time setup code.
//! Nothing here talks to a server: the statement and code are handed over by people.

use std::io::Write as _;
use std::path::Path;

use fieldseal_core::authority::{FirstAdmin, make_setup_code, setup_code_hash, sign_first_admin};
use fieldseal_core::seal::{SigningKey, decode_hex, hex_lower};

use crate::relay::now_ms;

/// Makes a new authority key at `out` (mode 0600, never over an existing file) and returns its
/// public key, hex: the operator starts the zone once with `--authority-key` and this.
pub fn new_key(out: &Path) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = SigningKey::make_random();
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(out).map_err(|e| {
        format!("cannot make {}: {e} (an existing key is never overwritten; choose another file)", out.display())
    })?;
    file.write_all(format!("{}\n", hex_lower(key.to_seed().as_ref())).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(hex_lower(&key.verifying_key().0))
}

fn load(path: &Path) -> Result<SigningKey, String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the authority key {}: {e}", path.display()))?,
    );
    let seed: [u8; 32] = decode_hex(text.trim())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("{} is not an authority key (64 hex digits)", path.display()))?;
    Ok(SigningKey::from_seed(&seed))
}

/// Signs the first administrator `username` of the zone whose public key is `zone_key_hex`:
/// the statement line and the one-time setup code, to be handed to that person.
pub fn first_admin(key: &Path, zone_key_hex: &str, username: &str) -> Result<(String, String), String> {
    let zone_key: [u8; 32] = decode_hex(zone_key_hex.trim())
        .and_then(|b| b.try_into().ok())
        .ok_or("--zone-key needs the zone's public key: 64 hex digits (the office's setup page shows it)")?;
    fieldseal_office::web::accounts::check_username(username).map_err(str::to_owned)?;
    let key = load(key)?;
    let code = make_setup_code();
    let statement = FirstAdmin {
        kind: "first_admin".into(),
        zone_key,
        username: username.to_owned(),
        setup_code_sha256: setup_code_hash(&code),
        issued_at_ms: now_ms(),
    };
    Ok((sign_first_admin(&key, &statement), code.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_signs_statements_the_zone_accepts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("authority.key");
        let public = new_key(&path).expect("made");
        assert!(new_key(&path).is_err(), "never overwritten");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).expect("file").permissions().mode() & 0o777, 0o600);
        let zone = fieldseal_core::seal::EnclaveSecretKey::make_random().public_key();
        let (line, code) = first_admin(&path, &hex_lower(&zone.0), "ada").expect("signed");
        let authority =
            fieldseal_core::seal::VerifyingKey(decode_hex(&public).and_then(|b| b.try_into().ok()).expect("hex"));
        let st = fieldseal_core::authority::verify_first_admin(&line, &authority, &zone).expect("verifies");
        assert_eq!((st.username.as_str(), st.setup_code_sha256), ("ada", setup_code_hash(&code)));
        assert!(first_admin(&path, "abc", "ada").is_err());
        assert!(first_admin(&path, &hex_lower(&zone.0), "Ada Lovelace").is_err());
    }
}
