//! The README's first command, run as a real process: `fieldseal demo`.

use std::process::Command;

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    std::env::temp_dir().join(format!("fieldseal-demo-{tag}-{}-{nanos}", std::process::id()))
}

#[test]
fn demo_seals_tickets_and_the_canary_plate_stays_out_of_the_files() {
    let data = temp_dir("canary");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--tickets", "3", "--plate", "B-QZ 4711", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "demo failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("[   3/3] sealed ticket 0001-0000-"), "progress shown: {stdout}");
    assert!(stdout.contains("Outbox: 3 sealed case(s), 6 photo blob(s), hash chain verified"), "{stdout}");
    assert!(stdout.contains("Canary: plate \"B-QZ 4711\" in the device files in clear: no"), "{stdout}");
    assert!(stdout.contains("SIMULATED"), "the simulated enclave key is named as such");

    // Our own look at the files, independent of the demo's.
    let mut all = Vec::new();
    for e in std::fs::read_dir(&data).expect("data folder") {
        all.extend(std::fs::read(e.expect("entry").path()).unwrap_or_default());
    }
    for needle in [&b"QZ 4711"[..], b"BQZ4711", b"QZ-4711"] {
        assert!(!all.windows(needle.len()).any(|w| w == needle), "{} found", String::from_utf8_lossy(needle));
    }

    // Running again continues the same device: numbers go on, nothing is lost.
    let again = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--tickets", "1", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("Outbox: 4 sealed case(s)"), "{stdout}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn demo_refuses_an_impossible_plate_and_an_unusable_data_folder() {
    let data = temp_dir("bad");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal"))
        .args(["demo", "--tickets", "1", "--plate", "!!!", "--data"])
        .arg(&data)
        .output()
        .expect("demo runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the sample case was refused") && stderr.contains("plate"), "{stderr}");
    let _ = std::fs::remove_dir_all(&data);

    let file = temp_dir("file");
    std::fs::write(&file, b"not a folder").expect("writes");
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal")).args(["demo", "--data"]).arg(&file).output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot use the data folder") && stderr.contains("--data"), "{stderr}");
    let _ = std::fs::remove_file(&file);
}
