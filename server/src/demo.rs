//! `fieldseal demo`: the whole flow on one machine. Starts the enclave and the server on an
//! embedded SQLite in the data folder, enrols a simulated officer device with a one-time code,
//! captures realistic tickets offline with generated street photos, syncs them, and shows what
//! each side holds.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot, SIMULATED_PLATFORM};
use fieldseal_core::demo::{demo_draft, street_photo};
use fieldseal_core::seal::sha256;
use fieldseal_core::store::{DeviceStore, StorageKey, StoreError};
use fieldseal_core::sync::{self, HttpTransport, SyncEvent, SyncOptions};

use crate::serve::{self, ServeError, ServeOptions};

/// Options of `fieldseal demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Data folder.
    pub data: PathBuf,
    /// Tickets to capture.
    pub tickets: u32,
    /// Plate used for every case.
    pub plate: Option<String>,
    /// Exit when done instead of serving.
    pub exit: bool,
    /// Server port.
    pub port: u16,
    /// PostgreSQL instead of the SQLite file.
    pub database_url: Option<String>,
}

/// What can stop the demo, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The data folder cannot be used.
    #[error("cannot use the data folder {path}: {source}; choose another with --data DIR")]
    DataFolder { path: PathBuf, source: std::io::Error },
    /// The keystore stand-in is damaged.
    #[error("the key file {0} is damaged; delete the data folder to start afresh")]
    KeyFile(PathBuf),
    /// Enclave or server did not start.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// The device store failed.
    #[error("device store: {0}")]
    Store(#[from] StoreError),
    /// Enrolment or sync failed.
    #[error("sync: {0}")]
    Sync(#[from] sync::SyncError),
    /// The sample case was refused (for example an impossible --plate).
    #[error("the sample case was refused: {0}")]
    Draft(#[from] fieldseal_core::demo::DemoError),
    /// Something did not hold that must.
    #[error("check failed: {0}")]
    Check(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::DataFolder { path: path.to_path_buf(), source }
}

/// The platform keystore's storage key, SIMULATED by a file (a phone keeps it in its keystore).
fn simulated_keystore_key(path: &Path) -> Result<StorageKey, DemoError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map(StorageKey::from_bytes).map_err(|_| DemoError::KeyFile(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = fieldseal_core::seal::make_random_key();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(io_err(path))?;
            f.write_all(key.as_ref()).map_err(io_err(path))?;
            f.sync_all().map_err(io_err(path))?;
            Ok(StorageKey::from_bytes(*key))
        }
        Err(e) => Err(io_err(path)(e)),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Runs the demo, printing progress and a summary.
pub fn run(opts: &DemoOptions) -> Result<(), DemoError> {
    let started = Instant::now();
    std::fs::create_dir_all(&opts.data).map_err(io_err(&opts.data))?;
    let data = opts.data.canonicalize().map_err(io_err(&opts.data))?;
    let device_dir = data.join("device");
    std::fs::create_dir_all(&device_dir).map_err(io_err(&device_dir))?;
    let server_dir = data.join("server");
    println!("fieldseal demo: enclave + server + one simulated officer device, {} ticket(s)", opts.tickets);
    println!("  data folder: {}", data.display());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| DemoError::Check(format!("cannot start the async runtime: {e}")))?;
    let serve_opts = ServeOptions {
        data: server_dir.clone(),
        bind: [127, 0, 0, 1].into(),
        port: opts.port,
        web_port: Some(0),
        database_url: opts.database_url.clone(),
        enclave_socket: None,
        enclave_bin: None,
        public_url: None,
        session_idle: None,
        authority_key: None,
    };
    print!("  [1/5] starting enclave and server … ");
    flush();
    let server = rt.block_on(serve::start(&serve_opts))?;
    let health = rt.block_on(server.relay.enclave.health()).map_err(|e| DemoError::Check(e.to_string()))?;
    println!(
        "{} (enclave pid {}, platform {}, sandbox verified from inside)",
        server.url(),
        server.enclave_pid().map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        health.platform.to_uppercase()
    );
    if let Some(web) = server.web_url() {
        let spki = health.attestation.claimed_body().and_then(|b| b.tls_spki_sha256).unwrap_or_default();
        println!("        zone pages: {web} (TLS ends inside the zone; the host relays bytes it cannot read)");
        println!("        zone TLS key SHA-256, as attested: {spki}");
        println!(
            "        zone and host share this user here (a demo): nothing is isolated from it; the two-user layout \
             is in docs/design.md"
        );
    }

    // The app ships its pinned policy: the platform root and the enclave build it trusts.
    let enclave_bin = std::env::current_exe()
        .map(|e| e.with_file_name("fieldseal-enclave"))
        .map_err(|e| DemoError::Check(e.to_string()))?;
    let measurement = sha256(&std::fs::read(&enclave_bin).map_err(io_err(&enclave_bin))?);
    let policy = AttestationPolicy {
        roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: health.platform_key }],
        measurements: vec![measurement],
        accept_simulated: true,
    };

    let storage_key = simulated_keystore_key(&device_dir.join("simulated-keystore.key"))?;
    let mut store = DeviceStore::open(&device_dir.join("device.sqlite3"), storage_key)?;
    let transport = HttpTransport::new(&server.url(), Duration::from_secs(30));
    print!("  [2/5] enrolling the officer device with a one-time code … ");
    flush();
    if store.identity().is_none() {
        let code = rt
            .block_on(crate::admin::issue_code(&server.relay.db, "demo officer device", 1))
            .map_err(|e| DemoError::Check(e.to_string()))?;
        let identity = sync::enrol(&mut store, &transport, &code, &policy, now_ms())?;
        println!("device {} (ticket prefix {:04}), attestation checked", identity.device_id, identity.device_prefix);
    } else {
        println!("enrolled already");
    }

    println!("  [3/5] capturing offline (no network needed; each case sealed to the enclave key):");
    let already = store.outbox()?.len() as u64;
    let mut first_notice = None;
    for i in 0..u64::from(opts.tickets) {
        let n = already + i;
        let photos = [street_photo(n * 2 + 1, 1600, 1200), street_photo(n * 2 + 2, 1200, 1600)];
        // Timed from here: what an officer waits for (pipeline, sealing, store), not the making
        // of the synthetic camera files.
        let t0 = Instant::now();
        let plate = opts.plate.clone().unwrap_or_else(|| format!("B-FS {}", 100 + n % 9000));
        let draft = demo_draft(store.catalogue()?, n, &plate, &photos, now_ms())?;
        let sealed = store.capture(draft)?;
        println!(
            "        [{:>4}/{}] ticket {}  {:>6.2} EUR, 2 photos  ({} ms)",
            i + 1,
            opts.tickets,
            sealed.notice.ticket_number.grouped(),
            sealed.notice.total_cents as f64 / 100.0,
            t0.elapsed().as_millis()
        );
        first_notice.get_or_insert(sealed.notice);
    }

    let pending = store.unsynced()?.len();
    sync::check_attestation(&store, &transport, &policy, now_ms())?;
    println!("  [4/5] enclave attestation re-checked; syncing {pending} case(s) …");
    let mut on_event = |e: SyncEvent| match e {
        SyncEvent::Synced { done, pending, .. } if done == pending || done % 10 == 0 => {
            println!("        {done}/{pending} with a verified receipt");
        }
        SyncEvent::Retrying { attempt, delay, reason } => {
            println!("        retry {attempt} in {} ms ({reason})", delay.as_millis());
        }
        SyncEvent::Rejected { envelope_id, code } => println!("        REFUSED {envelope_id}: {code:?}"),
        _ => {}
    };
    let report = sync::sync_outbox(&mut store, &transport, &SyncOptions::default(), &mut on_event)?;
    let total = store.outbox()?.len();
    let synced = total - store.unsynced()?.len();
    drop(store);

    println!("  [5/5] what each side holds:");
    let counts = rt.block_on(server.relay.db.counts()).map_err(|e| DemoError::Check(e.to_string()))?;
    println!(
        "        server: {} device(s), {} envelope(s), {} photo blob(s), {} indexed case(s) — ciphertext and index only",
        counts.devices, counts.envelopes, counts.blobs, counts.cases
    );
    println!("        device: {total} case(s) in the outbox, {synced} synced");
    if let Some(notice) = &first_notice {
        println!();
        println!("The first notice of this run, as printed for the windshield:");
        for line in notice.text().lines() {
            println!("  | {line}");
        }
        println!();
    }
    if let Some(p) = &opts.plate {
        let found = plate_in_files(&server_dir, p);
        println!(
            "Canary: plate {p:?} in the server's files (database, blobs, keys): {}",
            if found.is_empty() { "nowhere".to_owned() } else { format!("FOUND in {found:?} (bug!)") }
        );
        if !found.is_empty() {
            rt.block_on(server.stop());
            return Err(DemoError::Check("the plate appears in clear in the server's files".into()));
        }
    }
    if !report.rejected.is_empty() {
        println!("Refused by the server: {:?}", report.rejected);
    }
    println!("synced {synced}/{total}");
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    if synced != total {
        rt.block_on(server.stop());
        return Err(DemoError::Check(format!(
            "{} case(s) have no verified receipt yet; run the demo again",
            total - synced
        )));
    }
    if opts.exit {
        rt.block_on(server.stop());
        return Ok(());
    }
    println!();
    println!("The server keeps running on {} (Ctrl-C stops it). Try:", server.url());
    if let Some(web) = server.web_url() {
        println!(
            "  open {web}/ in a browser: the citizen portal, served by the sealed zone (ticket number and access \
             code from a notice above)"
        );
        let spki = health.attestation.claimed_body().and_then(|b| b.tls_spki_sha256).unwrap_or_default();
        if let Some(bytes) = fieldseal_core::seal::decode_hex(&spki) {
            use base64::Engine as _;
            println!(
                "    its certificate is made inside the zone and self-signed, so a browser warns; trust exactly the \
                 attested key instead: chromium --ignore-certificate-errors-spki-list={}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            );
        }
    }
    println!("  curl {}/health", server.url());
    println!("  fieldseal admin --data {} devices", server_dir.display());
    println!(
        "  back office (inside the zone): {}/office/setup needs an authority key: fieldseal authority new-key --out \
         authority.key, then fieldseal serve --data {} --authority-key HEX (README: \"Running the server\")",
        server.web_url().unwrap_or_else(|| server.url()),
        server_dir.display()
    );
    rt.block_on(server.run_until_signal());
    Ok(())
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// Files under `dir` (recursively) that contain the plate as typed, normalised or compact.
pub fn plate_in_files(dir: &Path, plate: &str) -> Vec<PathBuf> {
    let upper = plate.to_uppercase();
    let spaced: String = upper.replace(['-', '.'], " ");
    let compact: String = upper.chars().filter(|c| c.is_alphanumeric()).collect();
    let needles = [upper, spaced, compact];
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && needles.iter().any(|n| !n.is_empty() && bytes.windows(n.len()).any(|w| w == n.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}
