//! The back office's people, as a deployment gets them: the authority makes its key and signs
//! the first administrator's statement (`fieldseal authority`), the administrator sets up with
//! it at `/office/setup` over the zone's TLS, then adds the other accounts at `/office/staff`.

use std::path::PathBuf;
use std::process::Command;

use crate::{Server, TempDir, WebClient, bin, csrf_of, policy_for};

/// An authority with its key in a temp folder (its own offline machine, in real life).
pub struct Authority {
    _dir: TempDir,
    /// The key file.
    pub key_file: PathBuf,
    /// Its public key, hex, for `fieldseal serve --authority-key`.
    pub public: String,
}

fn run(cmd: &mut Command) -> Vec<String> {
    let out = cmd.output().expect("fieldseal runs");
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

impl Authority {
    /// A new authority key, made with `fieldseal authority new-key`.
    pub fn new() -> Self {
        let dir = TempDir::new("authority");
        let key_file = dir.0.join("authority.key");
        let lines = run(Command::new(bin("fieldseal")).args(["authority", "new-key", "--out"]).arg(&key_file));
        let public = lines.first().expect("the public key").trim().to_owned();
        assert_eq!(public.len(), 64, "{public}");
        Self { _dir: dir, key_file, public }
    }

    /// The statement and setup code for `username` as first administrator of the zone whose
    /// key is `zone_key` (hex), from `fieldseal authority first-admin`.
    pub fn first_admin(&self, zone_key: &str, username: &str) -> (String, String) {
        let lines = run(Command::new(bin("fieldseal"))
            .args(["authority", "first-admin", "--key"])
            .arg(&self.key_file)
            .args(["--zone-key", zone_key, "--username", username]));
        match lines.as_slice() {
            [statement, code] => (statement.clone(), code.clone()),
            other => panic!("expected a statement and a code, got {other:?}"),
        }
    }
}

impl Default for Authority {
    fn default() -> Self {
        Self::new()
    }
}

/// The zone's public key, hex, from its attestation verified against the test policy.
pub fn zone_key(server: &Server) -> String {
    fieldseal_core::seal::hex_lower(&crate::zone::attested(&server.url, &policy_for()).public_key.0)
}

/// Sets `username` up as the first administrator with the authority's statement; returns the
/// administrator's client, signed in.
pub fn set_up_admin(server: &Server, authority: &Authority, username: &str, password: &str) -> WebClient {
    let url = server.zone_url();
    let (statement, code) = authority.first_admin(&zone_key(server), username);
    let mut c = server.client();
    let (_, _, page) = c.get(&format!("{url}/office/setup"));
    let (status, _, page) = c.post_page(
        &format!("{url}/office/setup"),
        &[
            ("csrf", &csrf_of(&page)),
            ("statement", &statement),
            ("code", &code),
            ("password", password),
            ("password2", password),
        ],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("was created"), "{page}");
    c.clerk(&url, username, password)
}

/// Disables `username` as the signed-in administrator `admin` at `/office/staff`: the answer's
/// status and page.
pub fn disable_account(admin: &mut WebClient, url: &str, username: &str) -> (u16, String) {
    let (_, _, staff) = admin.get(&format!("{url}/office/staff"));
    let row = staff.split(&format!("data-clerk=\"{username}\"")).nth(1).expect("the account's row");
    let id = row.split("/office/staff/").nth(1).and_then(|r| r.split('/').next()).expect("an id").to_owned();
    let (status, _, page) = admin.post_page(&format!("{url}/office/staff/{id}/disable"), &[("csrf", &csrf_of(&staff))]);
    (status, page)
}

/// Adds an account as the signed-in administrator `admin`; the TOTP secret (base32) when asked.
pub fn add_account(
    admin: &mut WebClient,
    url: &str,
    username: &str,
    role: &str,
    password: &str,
    totp: bool,
) -> Option<String> {
    let (_, _, page) = admin.get(&format!("{url}/office/staff"));
    let mut form = vec![
        ("csrf", csrf_of(&page)),
        ("username", username.to_owned()),
        ("role", role.to_owned()),
        ("password", password.to_owned()),
    ];
    if totp {
        form.push(("totp", "on".to_owned()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, page) = admin.post_page(&format!("{url}/office/staff"), &form);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("{username} can sign in now")), "{page}");
    page.split("id=\"totp-secret\">").nth(1).and_then(|rest| rest.split('<').next()).map(str::to_owned)
}
