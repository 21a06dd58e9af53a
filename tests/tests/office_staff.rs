//! The back office's people, end to end on real processes: the authority's key signs the first
//! administrator (and nothing else gets one in), administrators add accounts in the office, and
//! TOTP codes count once. The clerks' day itself is `office.rs`.

use fieldseal_tests::office::{Authority, add_account, disable_account, set_up_admin};
use fieldseal_tests::{Backend, Server, TempDir, WebClient, csrf_of, files_under, now_ms};

const ADMIN: (&str, &str) = ("ada", "Lochkarten-Leserin-1843");

/// A server pinned to a new authority, with its first administrator signed in.
struct Office {
    data: TempDir,
    server: Server,
    url: String,
    admin: WebClient,
    _authority: Authority,
}

fn office(tag: &str) -> Office {
    let data = TempDir::new(tag);
    let authority = Authority::new();
    let server = Server::start_with(&data.0, &Backend::sqlite(), 0, &["--authority-key", &authority.public]);
    let url = server.zone_url();
    let admin = set_up_admin(&server, &authority, ADMIN.0, ADMIN.1);
    Office { data, server, url, admin, _authority: authority }
}

/// Tried as a rogue operator would, with the host's user and database: sign the first
/// administrator with a key of its own, reuse the authority's statement without its code or a
/// second time, add a clerk row of its own, or give its own row the administrator's sealed
/// record. None gets into the office; the host's tables hold no password hash or TOTP secret.
#[test]
fn only_the_authority_makes_the_first_admin_and_the_host_makes_no_clerk() {
    let backend = Backend::sqlite();
    let data = TempDir::new("office-authority");
    let authority = Authority::new();
    let server = Server::start_with(&data.0, &backend, 0, &["--authority-key", &authority.public]);
    let url = server.zone_url();
    let zone = fieldseal_tests::office::zone_key(&server);
    let setup = |statement: &str, code: &str| {
        let mut c = server.client();
        let (_, _, page) = c.get(&format!("{url}/office/setup"));
        assert!(page.contains(&authority.public) && page.contains(&zone), "the page shows both keys: {page}");
        let form = [
            ("csrf", csrf_of(&page)),
            ("statement", statement.to_owned()),
            ("code", code.to_owned()),
            ("password", ADMIN.1.to_owned()),
            ("password2", ADMIN.1.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, page) = c.post_page(&format!("{url}/office/setup"), &form);
        (status, page)
    };
    let rogue = Authority::new();
    let (forged, forged_code) = rogue.first_admin(&zone, "mallory");
    let (status, page) = setup(&forged, &forged_code);
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("not signed by the authority"), "{page}");
    let (statement, code) = authority.first_admin(&zone, ADMIN.0);
    let (status, page) = setup(&statement, "23456789ABCDEFGHJKMN");
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("setup code does not belong"), "{page}");
    let (status, page) = setup(&statement, &code);
    assert_eq!(status, 200, "{page}");
    let (status, page) = setup(&statement, &code);
    assert_eq!(status, 409, "a statement makes one account: {page}");

    // The host's own clerks: a row with bytes it made, and one with the admin's record.
    let db = fieldseal_tests::block_on(fieldseal_server::db::Db::open(None, &data.0)).expect("the host's database");
    let ada = fieldseal_tests::block_on(db.clerk_by_name(ADMIN.0)).expect("reads").expect("the admin's row");
    let sealed = ada.sealed.expect("a sealed record");
    let text = String::from_utf8_lossy(&sealed);
    assert!(!text.contains("argon2") && !text.contains("admin"), "the record is sealed: {text}");
    let actor = fieldseal_server::db::Actor::Admin;
    for (name, bytes) in [("mallory", vec![1u8; 120]), ("trudy", sealed.clone())] {
        let made = fieldseal_tests::block_on(db.insert_clerk(name, &bytes, actor, now_ms())).expect("inserted");
        assert!(made.is_some());
        let mut c = server.client();
        let (_, _, page) = c.get(&format!("{url}/office/login"));
        let form = [("csrf", csrf_of(&page)), ("username", name.to_owned()), ("password", ADMIN.1.to_owned())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(c.post(&format!("{url}/office/login"), &form).0, 401, "{name} does not get in");
    }
    let mut admin = server.client().clerk(&url, ADMIN.0, ADMIN.1);
    let (_, _, staff) = admin.get(&format!("{url}/office/staff"));
    assert_eq!(staff.matches("not made in this zone").count(), 2, "both shown for what they are: {staff}");
    let totp = add_account(&mut admin, &url, "kim", "clerk", "Dienstsiegel-blau-42", true).expect("a TOTP secret");
    let secret = fieldseal_office::auth::TotpSecret::from_base32(&totp).expect("base32");
    let files: Vec<_> = files_under(&data.0).into_iter().filter_map(|p| Some((std::fs::read(&p).ok()?, p))).collect();
    let record = &sealed[13..45];
    assert!(files.iter().any(|(f, _)| f.windows(record.len()).any(|w| w == record)), "the scan finds the record");
    for (bytes, path) in &files {
        for needle in [&b"$argon2id$"[..], secret.as_bytes(), ADMIN.1.as_bytes()] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a credential in {}", path.display());
        }
    }
}

#[test]
fn totp_is_required_and_a_code_counts_once() {
    let Office { data: _data, server, url, mut admin, _authority } = office("office-totp");
    let secret = add_account(&mut admin, &url, "kim", "clerk", "Dienstsiegel-blau-42", true).expect("a TOTP secret");
    let secret = fieldseal_office::auth::TotpSecret::from_base32(&secret).expect("base32");
    let login = |c: &mut WebClient, code: &str| {
        let (_, _, page) = c.get(&format!("{url}/office/login"));
        let form = [
            ("csrf", csrf_of(&page)),
            ("username", "kim".into()),
            ("password", "Dienstsiegel-blau-42".into()),
            ("code", code.into()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.post(&format!("{url}/office/login"), &form).0
    };
    let mut c = server.client();
    assert_eq!(login(&mut c, ""), 401, "the password alone is not enough");
    assert_eq!(login(&mut c, "000000"), 401);
    let now = u64::try_from(now_ms() / 1000).expect("after 1970");
    let code = format!("{:06}", fieldseal_office::auth::totp_at(secret.as_bytes(), now, 6));
    assert_eq!(login(&mut c, &code), 303);
    let mut other = server.client();
    assert_eq!(login(&mut other, &code), 401, "the same code does not sign in twice");
}

/// Tried as a rogue operator would: an administrator disables a clerk who is signed in; the
/// host then puts the administrator's (genuine, active) record under the clerk's id, hoping
/// the clerk's open session goes on. The zone sees the name changed under the session and ends
/// it, as it ends a disabled clerk's.
#[test]
fn a_disabled_clerk_is_not_kept_alive_by_another_accounts_record() {
    let Office { data, server, url, mut admin, _authority } = office("office-swap");
    add_account(&mut admin, &url, "tom", "clerk", "Aktenordner-gruen-7", false);
    let mut tom = server.client().clerk(&url, "tom", "Aktenordner-gruen-7");
    let (status, _) = disable_account(&mut admin, &url, "tom");
    assert_eq!(status, 200);

    let db = fieldseal_tests::block_on(fieldseal_server::db::Db::open(None, &data.0)).expect("the host's database");
    let ada = fieldseal_tests::block_on(db.clerk_by_name(ADMIN.0)).expect("reads").expect("ada").sealed;
    let sqlite = format!("sqlite://{}", data.0.join("server.sqlite3").display());
    fieldseal_tests::block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::AnyConnection::connect(&sqlite).await.expect("the host's SQLite file");
        sqlx::query("UPDATE clerks SET username = 'ada-moved' WHERE username = 'ada'")
            .execute(&mut conn)
            .await
            .expect("moved");
        sqlx::query("UPDATE clerks SET username = 'ada', sealed = $1 WHERE username = 'tom'")
            .bind(ada)
            .execute(&mut conn)
            .await
            .expect("swapped");
    });
    let (status, location, _) = tom.get(&format!("{url}/office/"));
    assert_eq!((status, location.as_str()), (303, "/office/login"), "tom's session ended");
}
