//! `fieldseal demo`: a simulated officer device captures and seals realistic tickets offline,
//! then the result is checked the way the enclave will check it.
//!
//! Until the enclave process and the relay exist, the demo keeps a *simulated* enclave key and
//! a *simulated* platform keystore key in the data folder, and says so wherever it shows them.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo::{demo_draft, demo_payee, simulated_attestation, street_photo};
use fieldseal_core::seal::{self, EnclaveSecretKey, SigningKey};
use fieldseal_core::store::{DeviceStore, Enrolment, StorageKey, StoreError};
use fieldseal_core::wire::envelope::Id16;
use fieldseal_core::wire::record::CaseRecord;

/// Options of `fieldseal demo`.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Data folder.
    pub data: PathBuf,
    /// Tickets to capture.
    pub tickets: u32,
    /// Plate used for every case.
    pub plate: Option<String>,
}

/// What can stop the demo, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The data folder cannot be used.
    #[error("cannot use the data folder {path}: {source}; choose another with --data DIR")]
    DataFolder { path: PathBuf, source: std::io::Error },
    /// A key file is damaged.
    #[error("the key file {0} is damaged; delete the data folder to start afresh")]
    KeyFile(PathBuf),
    /// The device store failed.
    #[error("device store: {0}")]
    Store(#[from] StoreError),
    /// The sample case was refused (for example an impossible --plate).
    #[error("the sample case was refused: {0}")]
    Draft(#[from] fieldseal_core::demo::DemoError),
    /// A sealed case did not open as it must: a bug.
    #[error("self-check failed: {0}")]
    Check(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::DataFolder { path: path.to_path_buf(), source }
}

/// Reads a 32-byte key file, or creates it (mode 0600) with fresh random bytes.
fn key_file(path: &Path, make: impl FnOnce() -> [u8; 32]) -> Result<[u8; 32], DemoError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|_| DemoError::KeyFile(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = make();
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(io_err(path))?;
            f.write_all(&key).map_err(io_err(path))?;
            f.sync_all().map_err(io_err(path))?;
            Ok(key)
        }
        Err(e) => Err(io_err(path)(e)),
    }
}

fn random_key() -> [u8; 32] {
    *seal::make_random_key()
}

/// Runs the demo, printing progress and a summary.
pub fn run(opts: &DemoOptions) -> Result<(), DemoError> {
    let started = Instant::now();
    std::fs::create_dir_all(&opts.data).map_err(io_err(&opts.data))?;
    let data = opts.data.canonicalize().map_err(io_err(&opts.data))?;
    println!("fieldseal demo: a simulated officer device captures and seals {} ticket(s) offline", opts.tickets);
    println!("  data folder: {}", data.display());

    let storage_key = key_file(&data.join("simulated-keystore.key"), random_key)?;
    let enclave = EnclaveSecretKey::from_bytes(&key_file(&data.join("simulated-enclave.key"), random_key)?)
        .map_err(|_| DemoError::KeyFile(data.join("simulated-enclave.key")))?;
    let db = data.join("device.sqlite3");
    let mut store = DeviceStore::open(&db, StorageKey::from_bytes(storage_key))?;
    if store.identity().is_none() {
        // The issuer key would live with the authority; the demo signs its catalogue ad hoc.
        let issuer = SigningKey::make_random();
        // A SIMULATED attestation platform vouches for the simulated enclave key; the device
        // checks it against the policy it pins, as it will against the real enclave.
        let platform = SigningKey::make_random();
        let (attestation, policy) = simulated_attestation(&enclave.public_key(), [0; 32], &platform, now_ms());
        let enrolment = Enrolment {
            device_id: Id16::make_random(),
            device_prefix: 1,
            attestation,
            catalogue: CatalogueBody::german_default().sign(&issuer),
            issuer_key: issuer.verifying_key(),
            payee: demo_payee("http://127.0.0.1:8080"),
        };
        let identity = store.enrol(enrolment, &policy, now_ms())?;
        println!("  enrolled device {} (ticket prefix {:04})", identity.device_id, identity.device_prefix);
    }
    let identity = store.identity().cloned().ok_or(StoreError::NotEnrolled)?;
    let catalogue_size = store.catalogue()?.offences().len();
    println!("  offence catalogue: {catalogue_size} offences, issuer signature verified");
    println!(
        "  enclave key: SIMULATED, attested by a SIMULATED platform and checked against the pinned policy at enrolment"
    );
    println!("               (kept in the data folder until the enclave process exists)");

    let already = store.outbox()?.len() as u64;
    let mut first_notice = None;
    for i in 0..u64::from(opts.tickets) {
        let t0 = Instant::now();
        let n = already + i;
        let photos = [street_photo(n * 2 + 1, 1600, 1200), street_photo(n * 2 + 2, 1200, 1600)];
        let plate = opts.plate.clone().unwrap_or_else(|| format!("B-FS {}", 100 + n % 9000));
        let draft = demo_draft(store.catalogue()?, n, &plate, &photos, now_ms())?;
        let sealed = store.capture(draft)?;
        println!(
            "  [{:>4}/{}] sealed ticket {}  {} offence(s), {:>6.2} EUR, 2 photos  ({} ms)",
            i + 1,
            opts.tickets,
            sealed.notice.ticket_number.grouped(),
            sealed.notice.offences.len(),
            sealed.notice.total_cents as f64 / 100.0,
            t0.elapsed().as_millis()
        );
        first_notice.get_or_insert(sealed.notice);
    }

    // The self-check the enclave will do: verify, open, validate, and match every photo.
    let outbox = store.outbox()?;
    let mut photo_count = 0;
    for entry in &outbox {
        let env = store.envelope(&entry.envelope_id)?;
        let opened =
            seal::open(&env, &identity.verifying_key, &enclave).map_err(|e| DemoError::Check(e.to_string()))?;
        CaseRecord::from_bytes(&opened.record, &opened.header).map_err(|e| DemoError::Check(e.to_string()))?;
        for idx in 0..entry.photo_count {
            let blob = store.blob(&entry.envelope_id, idx)?;
            opened.open_blob(idx, &blob).map_err(|e| DemoError::Check(e.to_string()))?;
            photo_count += 1;
        }
    }
    let report = store.verify_integrity()?;
    drop(store);

    let plate_in_files = opts.plate.as_ref().map(|p| plate_appears_in(&data, p));
    println!();
    if let Some(notice) = first_notice {
        println!("The first notice, as printed for the windshield:");
        for line in notice.text().lines() {
            println!("  | {line}");
        }
        println!("  EPC QR payload (bank transfer): {:?}", notice.epc_payload);
        println!();
    }
    println!(
        "Outbox: {} sealed case(s), {} photo blob(s), hash chain verified, all unsynced (no server yet).",
        report.envelopes, report.blobs
    );
    println!(
        "Self-check: every envelope opened with the simulated enclave key; {photo_count} photos matched their signed hashes."
    );
    if let (Some(found), Some(p)) = (plate_in_files, &opts.plate) {
        println!("Canary: plate {p:?} in the device files in clear: {}", if found { "FOUND (bug!)" } else { "no" });
        if found {
            return Err(DemoError::Check("the plate appears in clear in the device files".into()));
        }
    }
    println!(
        "Done in {:.1} s. Look at {} (only ciphertext and ticket numbers inside).",
        started.elapsed().as_secs_f64(),
        db.display()
    );
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whether the plate (as typed, normalised or compact) occurs in any file of the folder.
fn plate_appears_in(dir: &Path, plate: &str) -> bool {
    let upper = plate.to_uppercase();
    let spaced: String = upper.replace(['-', '.'], " ");
    let compact: String = upper.chars().filter(|c| c.is_alphanumeric()).collect();
    let needles = [upper, spaced, compact];
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.filter_map(Result::ok).filter(|e| e.path().is_file()).any(|e| {
        std::fs::read(e.path())
            .map(|bytes| needles.iter().any(|n| !n.is_empty() && bytes.windows(n.len()).any(|w| w == n.as_bytes())))
            .unwrap_or(false)
    })
}
