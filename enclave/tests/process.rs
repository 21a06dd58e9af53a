//! The enclave as a real process: its confinement checked from outside, and its protocol over
//! the real socket, including hostile frames.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldseal_core::demo::sealed_case;
use fieldseal_core::seal::SigningKey;
use fieldseal_core::wire::enclave::{ErrorCode, HealthReport, Request, Response, read_frame, write_frame};
use fieldseal_core::wire::envelope::Id16;

struct Running {
    child: Child,
    socket: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl Running {
    /// Kills the process and hands back its folder.
    fn stop(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dir.take().expect("folder")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: tempfile::TempDir) -> Running {
    let socket = dir.path().join("enclave.sock");
    let child = Command::new(env!("CARGO_BIN_EXE_fieldseal-enclave"))
        .arg("--socket")
        .arg(&socket)
        .arg("--key-dir")
        .arg(dir.path().join("keys"))
        .arg("--platform-dir")
        .arg(dir.path().join("platform"))
        .args(["--workers", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("enclave starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the enclave did not open its socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    Running { child, socket, dir: Some(dir) }
}

fn ask(socket: &Path, req: &Request) -> Response {
    let mut s = UnixStream::connect(socket).expect("connects");
    write_frame(&mut s, &req.to_payload()).expect("sends");
    Response::from_payload(&read_frame(&mut s).expect("reads").expect("an answer")).expect("valid")
}

fn health(socket: &Path) -> HealthReport {
    match ask(socket, &Request::Health) {
        Response::Health(h) => h,
        other => panic!("expected health, got {other:?}"),
    }
}

fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim_start_matches(':').trim().to_owned()))
        .unwrap_or_else(|| panic!("{field} missing from /proc/{pid}/status"))
}

#[test]
fn the_running_enclave_is_confined() {
    let e = start(tempfile::tempdir().expect("dir"));
    let pid = e.child.id();
    let h = health(&e.socket);
    assert!(h.sandbox.all_hold(), "self-check from inside: {:?}", h.sandbox);
    assert_eq!(status_field(pid, "Seccomp"), "2", "seccomp filter mode");
    let locked_kb: u64 = status_field(pid, "VmLck").trim_end_matches("kB").trim().parse().expect("number");
    assert!(locked_kb > 0, "the key's memory is locked");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).expect("core limit line");
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");
    let mode = std::fs::metadata(&e.socket).expect("socket").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only the owner may connect");
    // Beyond the standard streams it was given, no file stays open: only sockets.
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fds") {
        let fd = fd.expect("fd");
        if fd.file_name().to_str().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n <= 2) {
            continue;
        }
        let target = std::fs::read_link(fd.path()).expect("link");
        let t = target.to_string_lossy();
        assert!(
            t.starts_with("socket:") || t.starts_with("pipe:") || t == "/dev/null" || t.starts_with("/dev/pts"),
            "open file {t}"
        );
    }
}

#[test]
fn hostile_frames_get_an_error_and_the_enclave_keeps_serving() {
    let e = start(tempfile::tempdir().expect("dir"));
    // Garbage inside a well-framed payload: an error answer, the connection stays usable.
    let mut s = UnixStream::connect(&e.socket).expect("connects");
    for payload in [&b""[..], b"\x01", b"\x07\x01\x00", b"\x01\x02\x02\x00\x00\x00\x20"] {
        write_frame(&mut s, payload).expect("sends");
        let answer = Response::from_payload(&read_frame(&mut s).expect("reads").expect("answer")).expect("valid");
        assert!(matches!(answer, Response::Error(_)), "{payload:?} -> {answer:?}");
    }
    // An oversize length prefix: refused before anything is read, then the connection closes.
    let mut s = UnixStream::connect(&e.socket).expect("connects");
    s.write_all(&u32::MAX.to_be_bytes()).expect("sends");
    match Response::from_payload(&read_frame(&mut s).expect("reads").expect("answer")).expect("valid") {
        Response::Error(err) => assert_eq!(err.code, ErrorCode::TooLarge),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("closed");
    assert!(rest.is_empty());
    // A peer that sends half a frame and vanishes.
    let mut s = UnixStream::connect(&e.socket).expect("connects");
    s.write_all(&[0, 0, 1, 0, 1, 2]).expect("sends");
    drop(s);
    // Still alive and well.
    assert!(health(&e.socket).sandbox.all_hold());
}

#[test]
fn envelopes_open_through_the_socket_and_the_key_survives_a_restart() {
    let e = start(tempfile::tempdir().expect("dir"));
    let first = health(&e.socket);
    let policy = fieldseal_core::attestation::AttestationPolicy {
        roots: vec![fieldseal_core::attestation::PinnedRoot { platform: "simulated".into(), key: first.platform_key }],
        measurements: vec![measure()],
        accept_simulated: true,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let attested = first.attestation.verify(&policy, now).expect("the attestation pins this build");
    let device = SigningKey::make_random();
    let (sealed, notice) =
        sealed_case(&attested.public_key, &device, Id16::make_random(), 1, 1, [0; 32], "B-FS 1").expect("sealed");
    let req = Request::OpenIndex { device_key: device.verifying_key(), envelope: sealed.envelope.clone() };
    match ask(&e.socket, &req) {
        Response::Index(i) => assert_eq!(i.ticket_number, notice.ticket_number),
        other => panic!("expected an index, got {other:?}"),
    }
    // Restart on the same key folder: the same key, unsealed again; the old case still opens.
    let e = start(e.stop());
    let again = health(&e.socket);
    assert_eq!(again.attestation.verify(&policy, now).expect("accepted").public_key, attested.public_key);
    assert!(matches!(ask(&e.socket, &req), Response::Index(_)));
}

fn measure() -> [u8; 32] {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal-enclave")).arg("--measure").output().expect("runs");
    let hex = String::from_utf8(out.stdout).expect("utf-8");
    let bytes: Vec<u8> =
        (0..64).step_by(2).map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).expect("hex")).collect();
    bytes.try_into().expect("32 bytes")
}

#[test]
fn pinning_prints_what_the_running_enclave_attests_with() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = dir.path().join("platform");
    let pinning = |platform: &Path| {
        Command::new(env!("CARGO_BIN_EXE_fieldseal-enclave"))
            .arg("--pinning")
            .arg("--platform-dir")
            .arg(platform)
            .output()
            .expect("runs")
    };
    // Before the first start there is nothing to pin, and it says so without making a root.
    let before = pinning(&platform);
    assert!(!before.status.success());
    assert!(String::from_utf8_lossy(&before.stderr).contains("start the enclave"), "{before:?}");
    assert!(!platform.exists());

    let e = start(dir);
    let h = health(&e.socket);
    let out = pinning(&platform);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["platform"], "simulated");
    assert_eq!(json["platform_key"], fieldseal_core::seal::hex_lower(&h.platform_key.0));
    assert_eq!(json["measurement"], fieldseal_core::seal::hex_lower(&measure()));
}

/// Everything in `dir` and below, as (path, bytes).
fn files_in(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("readable")));
        }
    }
    out
}

/// Tried as a rogue operator with a backup would: the key folder copied to another machine (a
/// platform with its own root) opens nothing, and the zone says why; the root itself is in no
/// file of the key folder.
#[test]
fn a_copy_of_the_key_folder_opens_nothing_on_another_platform() {
    let e = start(tempfile::tempdir().expect("dir"));
    let pinned_key = health(&e.socket).platform_key;
    let dir = e.stop();
    let root = std::fs::read(dir.path().join("platform").join(fieldseal_enclave::platform::SIMULATED_ROOT_FILE))
        .expect("the platform folder holds the root");
    let key_files = files_in(&dir.path().join("keys"));
    assert!(!key_files.is_empty(), "the sealed key is there");
    // The search finds what is there: the root is in the platform folder's file.
    assert!(files_in(&dir.path().join("platform")).iter().any(|(_, b)| b.windows(32).any(|w| w == root.as_slice())));
    for (path, bytes) in &key_files {
        assert!(!bytes.windows(32).any(|w| w == root.as_slice()), "{} holds the platform root", path.display());
    }

    let elsewhere = tempfile::tempdir().expect("dir");
    std::fs::create_dir(elsewhere.path().join("keys")).expect("folder");
    for (path, bytes) in &key_files {
        std::fs::write(elsewhere.path().join("keys").join(path.file_name().expect("name")), bytes).expect("copied");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_fieldseal-enclave"))
        .arg("--socket")
        .arg(elsewhere.path().join("enclave.sock"))
        .arg("--key-dir")
        .arg(elsewhere.path().join("keys"))
        .arg("--platform-dir")
        .arg(elsewhere.path().join("platform"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the copy must not start: {stderr}");
    assert!(stderr.contains("does not open on this platform"), "says why: {stderr}");
    assert!(!elsewhere.path().join("enclave.sock").exists(), "no socket was opened");
    for (path, bytes) in &key_files {
        let copy = elsewhere.path().join("keys").join(path.file_name().expect("name"));
        assert_eq!(&std::fs::read(copy).expect("still there"), bytes, "the refused start changed nothing");
    }

    // Back on its own platform the same folder starts with the same root.
    let e = start(dir);
    assert_eq!(health(&e.socket).platform_key.0, pinned_key.0);
}
