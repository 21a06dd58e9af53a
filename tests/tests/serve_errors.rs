//! `fieldseal serve` and `fieldseal admin` as an operator meets them: clear errors that say
//! what to do for a busy port, an unusable data folder and an enclave that does not answer.

use std::process::Command;

use fieldseal_tests::{Backend, Server, TempDir, bin};

fn serve(args: &[&str], data: &std::path::Path) -> (bool, String) {
    let out = Command::new(bin("fieldseal"))
        .arg("serve")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_busy_port_is_named_with_what_to_do() {
    let data = TempDir::new("busy");
    let first = Server::start(&data.0, &Backend::sqlite());
    let port = first.url.rsplit(':').next().expect("port").to_owned();
    let other = TempDir::new("busy2");
    let (ok, err) = serve(&["--port", &port], &other.0);
    assert!(!ok);
    assert!(err.contains(&format!("port {port}")) && err.contains("already in use") && err.contains("--port"), "{err}");
}

#[test]
fn an_unusable_data_folder_is_named_with_what_to_do() {
    let dir = TempDir::new("file");
    let file = dir.0.join("not-a-folder");
    std::fs::write(&file, b"x").expect("writes");
    let (ok, err) = serve(&["--port", "0"], &file);
    assert!(!ok);
    assert!(err.contains("data folder") && err.contains("--data"), "{err}");
}

#[test]
fn an_enclave_that_does_not_answer_is_named() {
    let data = TempDir::new("noenclave");
    let socket = data.0.join("nobody.sock");
    let (ok, err) = serve(&["--port", "0", "--enclave-socket", socket.to_str().expect("utf-8")], &data.0);
    assert!(!ok);
    assert!(err.contains("does not answer") && err.contains("nobody.sock"), "{err}");
}

#[test]
fn admin_lists_enrolled_devices_and_codes_work_once() {
    let data = TempDir::new("admin");
    let backend = Backend::sqlite();
    let server = Server::start(&data.0, &backend);
    let code = fieldseal_tests::issue_code(&data.0, &backend);
    assert_eq!(code.len(), 19, "16 characters in groups of four: {code}");
    let dir = TempDir::new("phone");
    let mut store = fieldseal_core::store::DeviceStore::open(
        &dir.0.join("d.sqlite3"),
        fieldseal_core::store::StorageKey::make_random(),
    )
    .expect("opens");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let policy = fieldseal_tests::policy_for();
    let wrong = fieldseal_core::sync::enrol(&mut store, &server.transport(), "AAAA-BBBB-CCCC-DDDD", &policy, now);
    let msg = wrong.expect_err("a wrong code is refused").to_string();
    assert!(msg.contains("unknown, used or expired") && msg.contains("administrator"), "{msg}");
    assert!(store.identity().is_none(), "nothing stored after a refusal");
    let id = fieldseal_core::sync::enrol(&mut store, &server.transport(), &code.to_lowercase(), &policy, now)
        .expect("the code works, typed in lower case");
    let out = Command::new(bin("fieldseal"))
        .args(["admin", "--data"])
        .arg(&data.0)
        .arg("devices")
        .env_remove("DATABASE_URL")
        .output()
        .expect("runs");
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains(&id.device_id.to_hex()) && list.contains("e2e test device"), "{list}");
}

/// 404, 405 and 413 answer a person with a page in their language and a way back (portal to
/// the start page, office to its overview); the device API keeps its own answers.
#[test]
fn error_pages_speak_the_visitors_language_and_lead_back() {
    let data = TempDir::new("error-pages");
    let server = Server::start(&data.0, &Backend::sqlite());
    let agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent();
    let spki = fieldseal_tests::zone::attested_tls_key(&server.url, &fieldseal_tests::policy_for());
    // The portal's and the office's pages are the zone's (over its TLS); the device API the host's.
    let ask = |method: &str, path: &str, lang: &str, body: Option<Vec<u8>>| {
        if !path.starts_with("/v1") {
            let form = [("accept-language", lang), ("content-type", "application/x-www-form-urlencoded")];
            let a =
                fieldseal_tests::zone::request(&server.web_addr, spki, method, path, &form, &body.unwrap_or_default())
                    .expect("the zone answers");
            return (a.status, a.header("content-type"), a.text());
        }
        let url = format!("{}{path}", server.url);
        let mut res = match (method, body) {
            ("GET", _) => agent.get(&url).header("accept-language", lang).call(),
            (_, body) => agent
                .post(&url)
                .header("accept-language", lang)
                .header("content-type", "application/x-www-form-urlencoded")
                .send(body.unwrap_or_default()),
        }
        .expect("answers");
        let content_type = fieldseal_tests::header(&res, "content-type");
        (res.status().as_u16(), content_type, res.body_mut().read_to_string().unwrap_or_default())
    };
    // (method, path, Accept-Language, body, status, title, way back)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<Vec<u8>>, u16, &'a str, &'a str);
    let cases: [Case; 4] = [
        ("GET", "/keine/seite", "de-DE,de;q=0.9", None, 404, "Seite nicht gefunden", "href=\"/\""),
        ("GET", "/office/no-such-page", "en-GB,en;q=0.8", None, 404, "Page not found", "href=\"/office/\""),
        ("GET", "/login", "de", None, 405, "Nicht möglich", "Zur Startseite"),
        ("POST", "/office/cases", "de", Some(Vec::new()), 405, "Nicht möglich", "href=\"/office/\""),
    ];
    for (method, path, lang, body, status, title, back) in cases {
        let (got, content_type, page) = ask(method, path, lang, body);
        assert_eq!(got, status, "{method} {path}: {page}");
        assert!(content_type.starts_with("text/html"), "{method} {path}: {content_type}");
        assert!(page.contains(title) && page.contains(back), "{method} {path}: {page}");
    }
    // A form over the limit (sent whole, as a browser would, before the answer is read).
    let (status, _, page) = ask("POST", "/login", "en", Some(vec![b'a'; 20 * 1024]));
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("Too large") && page.contains("href=\"/\""), "{page}");

    // The device API keeps its own (non-page) answers.
    let (status, content_type, _) = ask("GET", "/v1/no-such-thing", "de", None);
    assert_eq!(status, 404);
    assert!(!content_type.starts_with("text/html"), "{content_type}");
}
