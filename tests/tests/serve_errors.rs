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
