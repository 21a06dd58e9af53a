//! `fieldseal-enclave`: the isolated worker. Starts, seals or unseals its key, confines itself,
//! proves the confinement from inside, and answers the enclave protocol on a Unix socket.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};

use fieldseal_core::seal::{VerifyingKey, hex_lower, sha256};
use fieldseal_enclave::handler::Enclave;
use fieldseal_enclave::host_link::HostLink;
use fieldseal_enclave::platform::{Platform as _, SimulatedPlatform};
use fieldseal_enclave::{keys, platform, sandbox, serve};

const USAGE: &str = "usage: fieldseal-enclave --socket PATH --key-dir DIR [--platform-dir DIR] [--workers N]
                         [--exit-with-parent] [--web-socket PATH [--tls-name NAME]...]
                         [--store-socket PATH] [--group-sockets] [--authority-key HEX]
       fieldseal-enclave --measure     (print this build's measurement and exit)
       fieldseal-enclave --pinning [--platform-dir DIR]
                                       (print what an app must pin for this enclave, as JSON)

Runs the enclave on the SIMULATED attestation platform: its root secret is a file of the
machine's, in --platform-dir (default $FIELDSEAL_PLATFORM_DIR, else
$XDG_STATE_HOME/fieldseal-platform, else ~/.local/state/fieldseal-platform), never in the
data folder; --key-dir holds only keys sealed under it. A root that an earlier version left in
--key-dir is moved to the platform folder at start.
With --group-sockets the sockets are mode 0660 instead of 0600, for a host that runs as another
user in the zone's group (run the zone as its own user with the host's group as its group; see
docs/design.md, \"Two users\").
With --web-socket it also serves HTTPS over that socket (the host relays the browsers' bytes):
TLS ends inside, with a key made here; --tls-name names the certificate's host names or
addresses (default: localhost, 127.0.0.1, ::1). With --store-socket as well it serves the
citizen portal and the back office: the host dials that socket and answers what the pages need
of its storage.
--authority-key pins the authority's (the data controller's) public key at the first start; it
signs the back office's first administrator. A pinned key is kept sealed in --key-dir and is
never replaced: a later start may name the same key or none.";

/// Threads of the web side's runtime (TLS and pages), all started before the sandbox closes.
const WEB_THREADS: usize = 2;
/// Most threads for the pages' blocking work (photo processing, opening a case, provider
/// calls), so photos decoded at once stay bounded. They start when first needed: the sandbox
/// lets the process make threads (never processes).
const BLOCKING_THREADS: usize = 4;

struct Args {
    socket: PathBuf,
    key_dir: PathBuf,
    platform_dir: PathBuf,
    workers: usize,
    exit_with_parent: bool,
    web_socket: Option<PathBuf>,
    tls_names: Vec<String>,
    store_socket: Option<PathBuf>,
    /// Sockets open to the zone's group (the host's user), not only to the zone's own user.
    group_sockets: bool,
    /// The authority's public key to pin at first start.
    authority_key: Option<VerifyingKey>,
}

enum Mode {
    Serve(Args),
    Measure,
    /// The platform folder.
    Pinning(PathBuf),
}

fn parse_args() -> Result<Mode, String> {
    let mut socket = None;
    let mut key_dir = None;
    let mut platform_dir = None;
    let mut workers = 4;
    let mut exit_with_parent = false;
    let mut pinning = false;
    let mut web_socket = None;
    let mut tls_names = Vec::new();
    let mut group_sockets = false;
    let mut store_socket = None;
    let mut authority_key = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--socket") => socket = args.next().map(PathBuf::from),
            Some("--key-dir") => key_dir = args.next().map(PathBuf::from),
            Some("--platform-dir") => {
                platform_dir = Some(args.next().map(PathBuf::from).ok_or("--platform-dir needs a folder")?)
            }
            Some("--workers") => {
                workers = args
                    .next()
                    .and_then(|v| v.to_str().and_then(|s| s.parse().ok()))
                    .filter(|n| (1..=64).contains(n))
                    .ok_or("--workers needs a number from 1 to 64")?;
            }
            Some("--exit-with-parent") => exit_with_parent = true,
            Some("--web-socket") => web_socket = args.next().map(PathBuf::from),
            Some("--tls-name") => {
                tls_names.push(args.next().and_then(|v| v.into_string().ok()).ok_or("--tls-name needs a host name")?)
            }
            Some("--group-sockets") => group_sockets = true,
            Some("--store-socket") => {
                store_socket = Some(args.next().map(PathBuf::from).ok_or("--store-socket needs a path")?)
            }
            Some("--authority-key") => {
                let hex = args.next().and_then(|v| v.into_string().ok()).unwrap_or_default();
                let key: [u8; 32] = fieldseal_core::seal::decode_hex(hex.trim())
                    .and_then(|b| b.try_into().ok())
                    .ok_or("--authority-key needs the authority's public key: 64 hex digits (fieldseal authority new-key prints it)")?;
                authority_key = Some(VerifyingKey(key));
            }
            Some("--measure") => return Ok(Mode::Measure),
            Some("--pinning") => pinning = true,
            Some("--help" | "-h") => return Err(String::new()),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let platform_dir = match platform_dir {
        Some(dir) => dir,
        None => platform::default_platform_dir()?,
    };
    if pinning {
        return Ok(Mode::Pinning(platform_dir));
    }
    Ok(Mode::Serve(Args {
        socket: socket.ok_or("--socket PATH is required")?,
        key_dir: key_dir.ok_or("--key-dir DIR is required")?,
        platform_dir,
        workers,
        exit_with_parent,
        tls_names: if tls_names.is_empty() {
            ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec()
        } else {
            tls_names
        },
        web_socket,
        store_socket,
        group_sockets,
        authority_key,
    }))
}

fn measurement() -> Result<[u8; 32], String> {
    let exe = std::fs::read("/proc/self/exe").map_err(|e| format!("cannot read own executable to measure it: {e}"))?;
    Ok(sha256(&exe))
}

/// The values an officer app pins (platform, platform key, measurement of this build), as
/// JSON. Reads the platform root the enclave made on its first start; never creates one.
fn pinning(platform_dir: &std::path::Path) -> Result<(), String> {
    let root = platform_dir.join(platform::SIMULATED_ROOT_FILE);
    if !root.is_file() {
        return Err(format!("{} does not exist: start the enclave (or `fieldseal serve`) once first", root.display()));
    }
    let measurement = measurement()?;
    let platform = SimulatedPlatform::load_or_create(platform_dir, measurement).map_err(|e| e.to_string())?;
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
    // The pages' log lines (events, never case data) go to stderr, which the host passes on.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let measurement = measurement()?;
    std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
        .create(&args.key_dir)
        .map_err(|e| format!("cannot create the key folder {}: {e}", args.key_dir.display()))?;
    if let Some(old) =
        platform::adopt_root_from_key_dir(&args.key_dir, &args.platform_dir).map_err(|e| e.to_string())?
    {
        eprintln!(
            "fieldseal-enclave: moved the simulated platform root from {} to {}: copies of the data folder no longer carry it",
            old.display(),
            args.platform_dir.display()
        );
    }
    let platform = SimulatedPlatform::load_or_create(&args.platform_dir, measurement).map_err(|e| e.to_string())?;
    let (key, created) = keys::load_or_create(&args.key_dir, &platform.sealing_key()).map_err(|e| match e {
        keys::KeyFileError::Unseal(_) => format!(
            "{e}. This machine's platform root is in {}: if that folder was made new or replaced, restore the one that \
             sealed the key; a demo or test data folder can instead be deleted to start over",
            args.platform_dir.display()
        ),
        other => other.to_string(),
    })?;
    let authority =
        keys::pin_authority(&args.key_dir, &platform.sealing_key(), args.authority_key).map_err(|e| e.to_string())?;
    let key_locked = sandbox::lock_in_memory(&*key);
    let public = key.public_key();

    let listener = listen(&args.socket, args.group_sockets)?;
    let tls = match &args.web_socket {
        Some(path) => {
            let (identity, _) =
                fieldseal_enclave::tls::load_or_create(&args.key_dir, &platform.sealing_key(), &args.tls_names)
                    .map_err(|e| e.to_string())?;
            let store = match &args.store_socket {
                Some(store) => Some(listen(store, args.group_sockets)?),
                None => None,
            };
            Some((listen(path, args.group_sockets)?, identity, store))
        }
        None if args.store_socket.is_some() => return Err("--store-socket needs --web-socket".into()),
        None => None,
    };

    let core_off = sandbox::core_dumps_disabled();
    let enclave = Arc::new(Enclave::new(key, platform));
    // The web side's threads and its socket registration exist before the sandbox closes.
    let web = match tls {
        Some((listener, identity, store)) => {
            enclave.set_tls_spki(identity.spki_sha256);
            // Each thread must have finished starting (glibc registers it with the kernel)
            // before the filter closes: count them in, as the socket workers do with a barrier.
            let started = Arc::new((std::sync::Mutex::new(0usize), std::sync::Condvar::new()));
            let counter = Arc::clone(&started);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(WEB_THREADS)
                .max_blocking_threads(BLOCKING_THREADS)
                .thread_name("zone-web")
                .on_thread_start(move || {
                    let (count, ready) = &*counter;
                    *count.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                    ready.notify_all();
                })
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| format!("cannot start the web runtime: {e}"))?;
            let (count, ready) = &*started;
            let guard = count.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            drop(ready.wait_while(guard, |n| *n < WEB_THREADS).unwrap_or_else(std::sync::PoisonError::into_inner));
            let _inside = runtime.enter();
            let listener = tokio_listener(listener, "web")?;
            let store = store.map(|s| tokio_listener(s, "store")).transpose()?;
            drop(_inside);
            Some((runtime, listener, identity, store))
        }
        None => None,
    };
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
    let web_line = match web.as_ref() {
        Some((_, _, identity, store)) => format!(
            " | TLS key sha256 {}{}",
            hex_lower(&identity.spki_sha256),
            if store.is_some() { " | citizen portal and back office" } else { "" }
        ),
        None => String::new(),
    };
    // Kept alive for the life of the process: dropping the runtime would stop the pages.
    let _web_runtime = web.map(|(runtime, listener, identity, store)| {
        let enclave = Arc::clone(&enclave);
        runtime.spawn(async move {
            let app = match store {
                Some(store) => {
                    let link = HostLink::new();
                    tokio::spawn(Arc::clone(&link).accept(store));
                    let settings = fieldseal_enclave::portal::settings(&link).await;
                    let office = fieldseal_enclave::office::router(
                        Arc::clone(&enclave),
                        Arc::clone(&link),
                        &settings,
                        authority,
                    );
                    let portal = fieldseal_enclave::portal::router(Arc::clone(&enclave), link, settings);
                    fieldseal_enclave::pages::with_portal(Arc::clone(&enclave), portal.merge(office))
                }
                None => fieldseal_enclave::pages::router(enclave),
            };
            fieldseal_enclave::web::serve(listener, identity.config, app).await;
        });
        runtime
    });
    eprintln!(
        "fieldseal-enclave ready on {} | platform SIMULATED | measurement {} | key {} ({}) | {} workers{} | authority {} | sandbox verified",
        args.socket.display(),
        hex_lower(&measurement),
        hex_lower(&public.0),
        if created { "new, sealed to the platform" } else { "unsealed" },
        args.workers,
        web_line,
        authority.map_or_else(|| "none pinned".to_owned(), |k| hex_lower(&k.0)),
    );
    start.wait();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}

/// A listener made ready for the web runtime (call inside it).
fn tokio_listener(listener: UnixListener, what: &str) -> Result<tokio::net::UnixListener, String> {
    listener.set_nonblocking(true).map_err(|e| format!("cannot use the {what} socket: {e}"))?;
    tokio::net::UnixListener::from_std(listener).map_err(|e| format!("cannot use the {what} socket: {e}"))
}

/// Listens on a Unix socket at `path`, readable by this user only. A stale socket from a
/// previous run is replaced; anything else at that path is not touched.
fn listen(path: &std::path::Path, group: bool) -> Result<UnixListener, String> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt as _;
        if !meta.file_type().is_socket() {
            return Err(format!("{} exists and is not a socket; choose another socket path", path.display()));
        }
        std::fs::remove_file(path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(if group { 0o660 } else { 0o600 }))
        .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
    Ok(listener)
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
