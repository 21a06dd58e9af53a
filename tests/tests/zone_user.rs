//! The sealed zone under a system user of its own, the host under another, as a deployment runs
//! them (docs/design.md, "Two users"): tried as a rogue operator with the host's user would, the
//! zone's platform root, its sealed keys and its process are closed; a shift still syncs through
//! both. Needs root and the users `fieldseal` and `fieldseal-zone` (`bash scripts/zone-users.sh`,
//! which the test command runs).

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot, SIMULATED_PLATFORM};
use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_enclave::platform::{Platform as _, SIMULATED_ROOT_FILE, SimulatedPlatform};
use fieldseal_tests::{Phone, Server, TempDir, WebClient, bin, zone};

/// A system account, from /etc/passwd.
struct Account {
    uid: u32,
    gid: u32,
}

fn account(name: &str) -> Account {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd.lines().find(|l| l.split(':').next() == Some(name)).unwrap_or_else(|| {
        panic!("the system user {name} is missing: run `bash scripts/zone-users.sh` as root (the test command does)")
    });
    let fields: Vec<&str> = line.split(':').collect();
    Account { uid: fields[2].parse().expect("uid"), gid: fields[3].parse().expect("gid") }
}

/// The real user id of process `pid` (first field of the `Uid:` line).
fn uid_of(pid: u32) -> u32 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid line");
    line.split_whitespace().nth(1).expect("real uid").parse().expect("number")
}

/// A folder owned by `uid:gid` with `mode`.
fn owned_dir(path: &Path, uid: u32, gid: u32, mode: u32) -> PathBuf {
    std::fs::create_dir_all(path).expect("folder");
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.to_path_buf()
}

/// Runs `program args` as `who`; returns (success, stderr).
fn run_as(who: &Account, program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).uid(who.uid).gid(who.gid).output().expect("runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

struct Zone(Child);

impl Drop for Zone {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_host_user_cannot_open_what_the_zone_holds_and_a_shift_still_syncs() {
    assert_eq!(uid_of(std::process::id()), 0, "this test starts processes as two system users: run it as root");
    let (host, zone) = (account("fieldseal"), account("fieldseal-zone"));
    assert_ne!(host.uid, zone.uid);

    let top = TempDir::new("two-users");
    std::fs::set_permissions(&top.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // Both users must run the binaries wherever the checkout is (it may sit under /root).
    let bins = owned_dir(&top.0.join("bin"), 0, 0, 0o755);
    for name in ["fieldseal", "fieldseal-enclave"] {
        std::fs::copy(bin(name), bins.join(name)).expect("copied");
        std::fs::set_permissions(bins.join(name), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // The zone's folders belong to the zone; its sockets' folder lets the host's group in.
    let platform = owned_dir(&top.0.join("zone-platform"), zone.uid, zone.gid, 0o700);
    let keys = owned_dir(&top.0.join("zone-keys"), zone.uid, zone.gid, 0o700);
    let run = owned_dir(&top.0.join("zone-run"), zone.uid, host.gid, 0o750);
    let data = owned_dir(&top.0.join("data"), host.uid, host.gid, 0o700);

    let socket = run.join("enclave.sock");
    let zone_process = Zone(
        Command::new(bins.join("fieldseal-enclave"))
            .arg("--socket")
            .arg(&socket)
            .arg("--web-socket")
            .arg(run.join("enclave.web.sock"))
            .arg("--store-socket")
            .arg(run.join("enclave.store.sock"))
            .arg("--key-dir")
            .arg(&keys)
            .arg("--platform-dir")
            .arg(&platform)
            .arg("--group-sockets")
            .uid(zone.uid)
            .gid(host.gid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the zone starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run.join("enclave.store.sock").exists() {
        assert!(Instant::now() < deadline, "the zone did not open its sockets");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut serve = Command::new(bins.join("fieldseal"));
    serve
        .args(["serve", "--port", "0", "--web-port", "0", "--data"])
        .arg(&data)
        .arg("--enclave-socket")
        .arg(&socket)
        .env_remove("DATABASE_URL")
        .uid(host.uid)
        .gid(host.gid);
    let server = Server::spawn(serve);
    assert_eq!(uid_of(server.pid()), host.uid, "the host runs as its own user");
    assert_eq!(uid_of(zone_process.0.id()), zone.uid, "the zone runs as its own user");

    // A shift through both: enrol with a code the host's admin command issues, capture, sync.
    let code = Command::new(bins.join("fieldseal"))
        .args(["admin", "--data"])
        .arg(&data)
        .args(["issue-code", "--label", "two users"])
        .env_remove("DATABASE_URL")
        .uid(host.uid)
        .gid(host.gid)
        .output()
        .expect("admin runs");
    assert!(code.status.success(), "{}", String::from_utf8_lossy(&code.stderr));
    let code = String::from_utf8(code.stdout).expect("utf-8");
    // The app's pins. Root reads the simulated root here: that is the simulation's honest limit.
    let measurement = fieldseal_core::seal::sha256(&std::fs::read(bins.join("fieldseal-enclave")).expect("binary"));
    let platform_key = SimulatedPlatform::load_or_create(&platform, measurement).expect("root reads it").root_key();
    let policy = AttestationPolicy {
        roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: platform_key }],
        measurements: vec![measurement],
        accept_simulated: true,
    };
    let mut phone = Phone::enrolled_with(&server, code.trim(), &policy);
    const CANARY: &str = "B-ZU 4711";
    let notices = phone.capture(2, CANARY);
    let report =
        sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    assert_eq!((report.synced, report.unsynced), (2, 0));

    // The citizen, over the TLS that ends in the zone (pinned to the key its attestation names):
    // the zone asks the host's store line, across the two users, for the sealed case and opens it.
    let citizen = WebClient::pinned(zone::attested_tls_key(&server.url, &policy));
    let mut citizen = citizen.sign_in(&server.zone_url(), &notices[0]);
    let (status, _, case) = citizen.get(&format!("{}/case", server.zone_url()));
    assert_eq!(status, 200);
    assert!(case.replace([' ', '-'], "").contains("BZU4711"), "the citizen sees their own plate");

    // The rogue operator, as the host's user: the platform root, the key folder, the zone's
    // memory map. Each is first shown to be there (root reads it), then refused to the host.
    let root_file = platform.join(SIMULATED_ROOT_FILE);
    assert_eq!(std::fs::read(&root_file).expect("root reads the root").len(), 32);
    let key_file = keys.join("enclave-key.sealed");
    assert!(key_file.is_file(), "the zone sealed its key in its own folder");
    let zone_maps = format!("/proc/{}/maps", zone_process.0.id());
    let host_maps = format!("/proc/{}/maps", server.pid());
    for (what, args) in [
        ("read the platform root", vec![root_file.to_str().expect("utf-8")]),
        ("read the sealed key", vec![key_file.to_str().expect("utf-8")]),
        ("read the zone's memory map", vec![zone_maps.as_str()]),
    ] {
        let (ok, stderr) = run_as(&host, "cat", &args);
        assert!(!ok && stderr.contains("Permission denied"), "the host's user could {what}: {stderr}");
    }
    let (ok, stderr) = run_as(&host, "ls", &[platform.to_str().expect("utf-8")]);
    assert!(!ok && stderr.contains("Permission denied"), "the host's user listed the platform folder: {stderr}");
    // The control: the same user reads its own process's map, so the refusals above are real.
    let (ok, stderr) = run_as(&host, "cat", &[host_maps.as_str()]);
    assert!(ok, "the host's user reads its own process: {stderr}");
}
