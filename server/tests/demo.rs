//! The README's first command, run as a real process: `fieldseal demo` starts the enclave and
//! the server, enrols a device, captures offline and syncs. Needs `fieldseal-enclave` built
//! beside `fieldseal` (`cargo build --workspace --bins`, which the README test command runs).

use std::process::Command;

fn all_files(dir: &std::path::Path, out: &mut Vec<u8>) {
    for e in std::fs::read_dir(dir).expect("folder").filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else {
            out.extend(std::fs::read(&p).unwrap_or_default());
        }
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    std::env::temp_dir().join(format!("fieldseal-demo-{tag}-{}-{nanos}", std::process::id()))
}

#[test]
fn demo_seals_tickets_and_the_canary_plate_stays_out_of_the_files() {
    let data = temp_dir("canary");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--exit", "--port", "0", "--tickets", "3", "--plate", "B-QZ 4711", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[   3/3] ticket 0001-0000-"), "progress shown: {stdout}");
    assert!(stdout.contains("server: 1 device(s), 3 envelope(s), 6 photo blob(s), 3 indexed case(s)"), "{stdout}");
    assert!(
        stdout.contains("Canary: plate \"B-QZ 4711\" in the server's files (database, blobs, keys): nowhere"),
        "{stdout}"
    );
    assert!(stdout.contains("SIMULATED"), "the simulated platform is named as such");
    assert!(stdout.lines().any(|l| l == "synced 3/3"), "{stdout}");

    // Our own look at every file of device and server, independent of the demo's.
    let mut all = Vec::new();
    all_files(&data, &mut all);
    for needle in [&b"QZ 4711"[..], b"BQZ4711", b"QZ-4711"] {
        assert!(!all.windows(needle.len()).any(|w| w == needle), "{} found", String::from_utf8_lossy(needle));
    }

    // Running again continues the same device: numbers go on, nothing is lost.
    let again = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--exit", "--port", "0", "--tickets", "1", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("enrolled already") && stdout.contains("ticket 0001-0000-004"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "synced 4/4"), "{stdout}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn demo_refuses_an_impossible_plate_and_an_unusable_data_folder() {
    let data = temp_dir("bad");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--exit", "--port", "0", "--tickets", "1", "--plate", "!!!", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the sample case was refused") && stderr.contains("plate"), "{stderr}");
    let _ = std::fs::remove_dir_all(&data);

    let file = temp_dir("file");
    std::fs::write(&file, b"not a folder").expect("writes");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--exit", "--port", "0", "--data"])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot use the data folder") && stderr.contains("--data"), "{stderr}");
    let _ = std::fs::remove_file(&file);
}
