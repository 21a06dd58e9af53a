//! Crash safety: a child process seals cases in a loop and is killed with SIGKILL at random
//! points, many times. After each kill the reopened store must be consistent: every ticket
//! the child reported as sealed is in the outbox, the chain has no gap, nothing is half-written.

mod common;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fieldseal_core::demo;
use fieldseal_core::store::{DeviceStore, StorageKey};

const DB_ENV: &str = "FIELDSEAL_CRASH_CHILD_DB";
const KILLS: usize = 60;

fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// The child: runs only when the parent sets the database path. Seals until killed, saying
/// `SEALED <ticket>` after each commit returns.
#[test]
#[ignore = "runs only as the crash test's child process"]
fn crash_child() {
    let Some(db) = std::env::var_os(DB_ENV) else { return };
    let mut store = DeviceStore::open(db.as_ref(), StorageKey::from_bytes(STORAGE_KEY)).expect("child opens the store");
    let photos = [demo::street_photo(random_u64(), 480, 320), demo::street_photo(random_u64(), 320, 480)];
    let template =
        demo::demo_draft(store.catalogue().expect("enrolled"), random_u64() % 100, "D-CR 42", &photos, now_ms())
            .expect("valid draft");
    // Like the app at start-up: finish what an earlier run left as drafts.
    for id in store.draft_ids().expect("lists drafts") {
        let sealed = store.seal_draft(id).expect("child seals a leftover draft");
        println!("SEALED {}", sealed.notice.ticket_number.digits());
    }
    println!("READY");
    for n in 0u64.. {
        let mut draft = template.clone();
        draft.notes = format!("Fall {n}");
        // Alternate the two paths: sealing straight away, and sealing a stored draft.
        let sealed = if n % 2 == 0 {
            store.capture(draft).expect("child seals")
        } else {
            let id = store.save_draft(&draft).expect("child saves a draft");
            store.seal_draft(id).expect("child seals the draft")
        };
        println!("SEALED {}", sealed.notice.ticket_number.digits());
    }
}

#[test]
fn store_survives_sigkill_at_random_points() {
    let dir = TempDir::new("crash");
    let db = dir.path().join("device.sqlite3");
    drop(enrolled_store(&db));
    let exe = std::env::current_exe().expect("test binary path");
    let mut reported_total = 0usize;
    let mut last_count = 0u64;
    let mut progress_rounds = 0u64;
    for round in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(DB_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line.clone());
                all.push(line);
            }
            all
        });
        if round % 3 == 0 {
            // Anywhere in start-up: opening, migrating, finishing leftover drafts, first seals.
            std::thread::sleep(Duration::from_millis(random_u64() % 250));
        } else {
            // Deep in the sealing loop: after the first acknowledged seal, at a random instant.
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(line) if line.starts_with("SEALED ") => break,
                    Ok(_) => {}
                    Err(_) => panic!("round {round}: the child sealed nothing within 120 s"),
                }
            }
            progress_rounds += 1;
            std::thread::sleep(Duration::from_micros(random_u64() % 150_000));
        }
        child.kill().expect("SIGKILL delivered");
        let status = child.wait().expect("reaped");
        assert!(!status.success(), "round {round}: the child was killed, not finished");
        let lines = reader.join().expect("reader thread");
        let reported: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("SEALED ")).collect();
        reported_total += reported.len();

        let store = DeviceStore::open(&db, StorageKey::from_bytes(STORAGE_KEY)).expect("store reopens after SIGKILL");
        let report =
            store.verify_integrity().unwrap_or_else(|e| panic!("round {round}: inconsistent after SIGKILL: {e}"));
        let outbox: Vec<String> =
            store.outbox().expect("lists").iter().map(|e| e.ticket_number.digits().to_owned()).collect();
        for entry in store.outbox().expect("lists") {
            store.notice(&entry.envelope_id).expect("every sealed case can have its notice reprinted");
        }
        for t in &reported {
            assert!(
                outbox.iter().any(|o| o == t),
                "round {round}: ticket {t} was reported sealed but is not in the outbox"
            );
        }
        assert!(report.envelopes >= last_count, "round {round}: the outbox shrank");
        assert!(report.envelopes - last_count >= reported.len() as u64, "round {round}: fewer envelopes than reports");
        // A draft is either sealed (and deleted) or still whole; at most one per round is in flight.
        assert!(report.drafts <= round as u64 + 1, "round {round}: {} drafts left behind", report.drafts);
        for id in store.draft_ids().expect("lists") {
            store.load_draft(id).expect("a surviving draft is whole and decrypts");
        }
        last_count = report.envelopes;
    }
    println!("{KILLS} SIGKILLs, {last_count} cases sealed in all, {reported_total} acknowledged before the kill");
    assert!(last_count >= progress_rounds, "every progress round sealed at least one case ({last_count})");
}
