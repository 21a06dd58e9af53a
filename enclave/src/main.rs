//! `fieldseal-enclave`: the isolated worker. Starts, seals or unseals its key, confines itself,
//! proves the confinement from inside, and answers the enclave protocol on a Unix socket.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};

use fieldseal_core::seal::{hex_lower, sha256};
use fieldseal_enclave::handler::Enclave;
use fieldseal_enclave::platform::{Platform as _, SimulatedPlatform};
use fieldseal_enclave::{keys, sandbox, serve};

const USAGE: &str = "usage: fieldseal-enclave --socket PATH --key-dir DIR [--workers N] [--exit-with-parent]
       fieldseal-enclave --measure     (print this build's measurement and exit)
       fieldseal-enclave --pinning --key-dir DIR
                                       (print what an app must pin for this enclave, as JSON)

Runs the enclave on the SIMULATED attestation platform: its root secret is a file in --key-dir.";

struct Args {
    socket: PathBuf,
    key_dir: PathBuf,
    workers: usize,
    exit_with_parent: bool,
}

enum Mode {
    Serve(Args),
    Measure,
    Pinning(PathBuf),
}

fn parse_args() -> Result<Mode, String> {
    let mut socket = None;
    let mut key_dir = None;
    let mut workers = 4;
    let mut exit_with_parent = false;
    let mut pinning = false;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--socket") => socket = args.next().map(PathBuf::from),
            Some("--key-dir") => key_dir = args.next().map(PathBuf::from),
            Some("--workers") => {
                workers = args
                    .next()
                    .and_then(|v| v.to_str().and_then(|s| s.parse().ok()))
                    .filter(|n| (1..=64).contains(n))
                    .ok_or("--workers needs a number from 1 to 64")?;
            }
            Some("--exit-with-parent") => exit_with_parent = true,
            Some("--measure") => return Ok(Mode::Measure),
            Some("--pinning") => pinning = true,
            Some("--help" | "-h") => return Err(String::new()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if pinning {
        return Ok(Mode::Pinning(key_dir.ok_or("--pinning needs the enclave's --key-dir DIR")?));
    }
    Ok(Mode::Serve(Args {
        socket: socket.ok_or("--socket PATH is required")?,
        key_dir: key_dir.ok_or("--key-dir DIR is required")?,
        workers,
        exit_with_parent,
    }))
}

fn measurement() -> Result<[u8; 32], String> {
    let exe = std::fs::read("/proc/self/exe").map_err(|e| format!("cannot read own executable to measure it: {e}"))?;
    Ok(sha256(&exe))
}

/// The values an officer app pins (platform, platform key, measurement of this build), as
/// JSON. Reads the platform root the enclave made on its first start; never creates one.
fn pinning(key_dir: &std::path::Path) -> Result<(), String> {
    let root = key_dir.join(fieldseal_enclave::platform::SIMULATED_ROOT_FILE);
    if !root.is_file() {
        return Err(format!("{} does not exist: start the enclave (or `fieldseal serve`) once first", root.display()));
    }
    let measurement = measurement()?;
    let platform = SimulatedPlatform::load_or_create(key_dir, measurement).map_err(|e| e.to_string())?;
    println!(
        "{{\"platform\":\"{}\",\"platform_key\":\"{}\",\"measurement\":\"{}\"}}",
        platform.name(),
        hex_lower(&platform.root_key().0),
        hex_lower(&measurement)
    );
    Ok(())
}

fn run(args: Args) -> Result<(), String> {
    sandbox::harden_process(args.exit_with_parent).map_err(|e| e.to_string())?;
    let measurement = measurement()?;
    std::fs::create_dir_all(&args.key_dir)
        .map_err(|e| format!("cannot create the key folder {}: {e}", args.key_dir.display()))?;
    let platform = SimulatedPlatform::load_or_create(&args.key_dir, measurement).map_err(|e| e.to_string())?;
    let (key, created) = keys::load_or_create(&args.key_dir, &platform.sealing_key()).map_err(|e| e.to_string())?;
    let key_locked = sandbox::lock_in_memory(&*key);
    let public = key.public_key();

    // A stale socket from a previous run is replaced; anything else at that path is not touched.
    if let Ok(meta) = std::fs::symlink_metadata(&args.socket) {
        use std::os::unix::fs::FileTypeExt as _;
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket; choose another --socket path", args.socket.display()));
        }
        std::fs::remove_file(&args.socket).map_err(|e| format!("cannot replace {}: {e}", args.socket.display()))?;
    }
    let listener =
        UnixListener::bind(&args.socket).map_err(|e| format!("cannot listen on {}: {e}", args.socket.display()))?;
    std::fs::set_permissions(&args.socket, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", args.socket.display()))?;

    let core_off = sandbox::core_dumps_disabled();
    let enclave = Arc::new(Enclave::new(key, platform));
    let start = Arc::new(Barrier::new(args.workers + 1));
    let workers = serve::spawn_workers(Arc::clone(&enclave), &listener, args.workers, Arc::clone(&start))
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    drop(listener);

    sandbox::install_seccomp().map_err(|e| e.to_string())?;
    let report = sandbox::self_check(core_off, key_locked);
    if !report.all_hold() {
        return Err(format!("refusing to serve: the sandbox self-check failed: {report:?}"));
    }
    enclave.set_sandbox(report);
    eprintln!(
        "fieldseal-enclave ready on {} | platform SIMULATED | measurement {} | key {} ({}) | {} workers | sandbox verified",
        args.socket.display(),
        hex_lower(&measurement),
        hex_lower(&public.0),
        if created { "new, sealed to the platform" } else { "unsealed" },
        args.workers,
    );
    start.wait();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

fn main() -> ExitCode {
    let mode = match parse_args() {
        Ok(m) => m,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("error: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match mode {
        Mode::Measure => measurement().map(|m| println!("{}", hex_lower(&m))),
        Mode::Pinning(dir) => pinning(&dir),
        Mode::Serve(args) => run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldseal-enclave: {e}");
            ExitCode::FAILURE
        }
    }
}
