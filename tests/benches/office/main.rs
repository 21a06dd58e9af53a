//! Importing one bank statement of 100,000 transfers against 1,000,000 open cases: wall time,
//! CPU time and peak memory (RSS) of each phase, correctness checked on every line, and
//! baselines measured in the same run: the same size of statement against as many cases as
//! transfers and against only 1,000 cases (matching should not depend on the number of cases:
//! index lookups; with 1,000 cases each case is paid about 85 times, which costs on its own),
//! and storage floors (one plain INSERT of a comparable row per transfer, one indexed SELECT per
//! key; one transaction, same engine). While the import books, another thread reads a case the
//! way a case page does, to show what other users of the database meet meanwhile.
//!
//! The phases run the office's own code as the zone runs it, `fieldseal_office::web::import::import`
//! (parse, find ticket numbers, seal payer details to the zone key), against the host's own
//! answering code (`fieldseal_server::office_store::answer`, booking in `Db::import_statement`)
//! through the store line's encoding: every ask and answer is encoded and decoded as on the
//! socket (only the socket hop itself is left out). Parse and prepare are isolated by what the
//! booking is given:
//! - parse: importing a copy of the file whose transfers are all debits (same size and shape;
//!   `prepare` only computes the transaction keys and skips them), as a clerk who does not exist,
//!   so the booking transaction fails at its first INSERT and nothing is stored;
//! - parse + prepare: the real file, as the clerk who does not exist;
//! - booking (`Db::import_statement`): the full import minus parse + prepare.
//!
//! Seeding writes the tables directly on a second connection (SQLite: WAL, `synchronous = OFF`
//! while seeding only; the server's own connection keeps `synchronous = FULL`), 100,000 rows per
//! transaction; it is not part of any figure.
//!
//! `cargo bench -p fieldseal-tests --bench office`. `FIELDSEAL_BENCH_CASES` and
//! `FIELDSEAL_BENCH_ENTRIES` override the sizes (e.g. 20000 and 2000 for a quick run). With
//! `FIELDSEAL_TEST_PG` (an admin URL) the 1M/100k import also runs on PostgreSQL.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fieldseal_core::payer::BankDetails;
use fieldseal_core::seal::EnclavePublicKey;
use fieldseal_core::seal::{EnclaveSecretKey, sha256};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_core::wire::enclave::CaseView;
use fieldseal_enclave::handler::Enclave;
use fieldseal_enclave::platform::SimulatedPlatform;
use fieldseal_office::store::{OfficeAnswer, OfficeAsk, StoreError};
use fieldseal_office::web::MAX_UPLOAD;
use fieldseal_office::web::backend::{OfficeBackend, OpenedObjection, Store};
use fieldseal_office::web::import::{ImportError, Imported, import};
use fieldseal_portal::remote::{decode, encode};
use fieldseal_server::blobs::LocalBlobStore;
use fieldseal_server::db::{Actor, Booked, Db};
use fieldseal_server::enclave_client::EnclaveClient;
use fieldseal_server::portal::ServerPortal;
use fieldseal_server::relay::Relay;
use fieldseal_tests::camt::{Transfer, statement};
use fieldseal_tests::{TempDir, block_on, now_ms};
use sqlx::{AnyConnection, AssertSqlSafe, Connection as _, Executor as _, Row as _};

/// The authority's account the statement is for.
const ACCOUNT: &str = "DE89370400440532013000";
/// Every transfer is booked on this day, before every case's due date: in time.
const BOOKED_ON: &str = "2026-12-01";
const DUE_DATE: &str = "2027-01-31";
/// Seeded tickets spread over this many device prefixes (1..=200); unknown ones use 9000+.
const PREFIXES: u64 = 200;
/// A clerk id that does not exist: the booking transaction fails at its first INSERT.
const NO_SUCH_CLERK: i64 = 999_999_999;
/// Cases in the small baseline.
const SMALL_CASES: u64 = 1_000;
/// Rows per seeding transaction (and progress line).
const SEED_CHUNK: u64 = 100_000;
/// Bytes of the floor's payload per row: about a bank entry's sealed details and columns.
const FLOOR_BYTES: usize = 400;

mod scenario;
mod statement;

use scenario::*;
use statement::*;

// ----- checks -----

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Outcome {
    matched: usize,
    paid: usize,
    part_paid: usize,
    overpaid: usize,
    exceptions: usize,
    duplicates: usize,
}

/// Checks every line against what the generator meant; `exact_status` when each case is paid
/// at most once (so its resulting status is known).
fn check_first_import(imported: &Imported, transfers: &[Transfer], intents: &[Intent], exact_status: bool) -> Outcome {
    assert_eq!(imported.lines.len(), intents.len(), "one line per transfer");
    let mut o = Outcome::default();
    for (i, ((summary, booked), (intent, transfer))) in
        imported.lines.iter().zip(intents.iter().zip(transfers)).enumerate()
    {
        assert_eq!(summary.amount_cents, transfer.amount_cents, "line {i}: amount");
        match (intent.kind, booked) {
            (Kind::Exact | Kind::Less | Kind::More, Booked::Matched { ticket, assessment, .. }) => {
                assert_eq!(Some(ticket), intent.ticket.as_ref(), "line {i}: matched to its case");
                let status = assessment.status.as_str();
                if exact_status {
                    let want = match intent.kind {
                        Kind::Exact => "paid",
                        Kind::Less => "part_paid",
                        _ => "overpaid",
                    };
                    assert_eq!(status, want, "line {i}: {:?} payment", intent.kind);
                }
                o.matched += 1;
                match status {
                    "paid" => o.paid += 1,
                    "part_paid" => o.part_paid += 1,
                    "overpaid" => o.overpaid += 1,
                    _ => {}
                }
            }
            (Kind::NoTicket, Booked::Exception { note, .. }) => {
                assert_eq!(note, "no ticket number in the reference", "line {i}");
                o.exceptions += 1;
            }
            (Kind::Unknown, Booked::Exception { note, .. }) => {
                let t = intent.ticket.as_ref().expect("an unknown ticket");
                assert_eq!(note, &format!("ticket number {} is not a known case", t.grouped()), "line {i}");
                o.exceptions += 1;
            }
            (Kind::BadCheck, Booked::Exception { note, .. }) => {
                // The note names the digits, plain or grouped as printed on tickets.
                let d = &intent.digits;
                let grouped = format!("{}-{}-{}", &d[..4], &d[4..8], &d[8..]);
                let named = note.starts_with(&format!("{d} ")) || note.starts_with(&format!("{grouped} "));
                assert!(named && note.contains("check digit is wrong"), "line {i}: {note}");
                o.exceptions += 1;
            }
            (kind, other) => panic!("line {i}: a {kind:?} transfer was booked as {other:?}"),
        }
    }
    o
}

fn intended(intents: &[Intent]) -> Outcome {
    let n = |k: Kind| intents.iter().filter(|i| i.kind == k).count();
    Outcome {
        matched: n(Kind::Exact) + n(Kind::Less) + n(Kind::More),
        paid: n(Kind::Exact),
        part_paid: n(Kind::Less),
        overpaid: n(Kind::More),
        exceptions: n(Kind::NoTicket) + n(Kind::Unknown) + n(Kind::BadCheck),
        duplicates: 0,
    }
}

/// The database agrees with the import: a payment per match, a bank entry per transfer, the
/// audit chain verifies with one entry per step, and the first sealed details open.
fn check_database(s: &Scenario, o: &Outcome, transfers: &[Transfer]) {
    let payments = block_on(s.scalar("SELECT COUNT(*) FROM payments"));
    assert_eq!(payments as usize, o.matched, "one payment per matched transfer");
    let entries = block_on(s.scalar("SELECT COUNT(*) FROM bank_entries"));
    assert_eq!(entries as usize, o.matched + o.exceptions, "one bank entry per transfer");
    let exceptions = block_on(s.scalar("SELECT COUNT(*) FROM bank_entries WHERE state = 'exception'"));
    assert_eq!(exceptions as usize, o.exceptions);
    let paid = block_on(s.scalar("SELECT COUNT(*) FROM cases WHERE status <> 'open'"));
    if s.n_cases >= transfers.len() as u64 {
        assert_eq!(paid as usize, o.matched, "each matched case changed its status once");
    }
    let (sealed_key, sealed): (String, Vec<u8>) = block_on(async {
        let mut conn = AnyConnection::connect(&s.url).await.expect("connects");
        let r = sqlx::query("SELECT entry_key, sealed_details FROM bank_entries ORDER BY id LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .expect("a bank entry");
        conn.close().await.expect("closes");
        (r.try_get(0).expect("key"), r.try_get(1).expect("sealed"))
    });
    let key = EnclaveSecretKey::from_bytes(&s.enclave_secret).expect("key");
    let details = BankDetails::open(&sealed, &sealed_key, &key).expect("the sealed details open for the enclave");
    assert_eq!(details.payer_name.as_deref(), Some(transfers[0].payer.as_str()), "sealed payer of the first line");
    assert_eq!(details.remittance, transfers[0].remittance, "sealed remittance of the first line");
}

fn verify_audit(s: &Scenario, expected_entries: u64) -> Duration {
    let t = Instant::now();
    let verified = block_on(s.db.verify_audit(|_| {})).expect("reads the audit log").expect("the audit chain verifies");
    let time = t.elapsed();
    assert_eq!(verified.entries, expected_entries, "one audit entry per clerk, payment, exception and import");
    time
}

// ----- the table -----

struct Line {
    phase: String,
    time: Duration,
    cpu: Duration,
    entries: u64,
    mem: Option<(u64, u64)>,
}

impl Line {
    fn measured(phase: &str, m: &Measured, entries: u64) -> Self {
        Self { phase: phase.to_owned(), time: m.time, cpu: m.cpu, entries, mem: Some((m.rss_start_kb, m.peak_kb)) }
    }
    /// `whole` minus `part` (time and CPU); no memory figure.
    fn derived(phase: &str, whole: &Measured, part: &Measured, entries: u64) -> Self {
        Self {
            phase: phase.to_owned(),
            time: whole.time.saturating_sub(part.time),
            cpu: whole.cpu.saturating_sub(part.cpu),
            entries,
            mem: None,
        }
    }
    fn floor(m: &Measured, entries: u64) -> Self {
        Self {
            phase: format!("floor: {entries} plain INSERTs ({FLOOR_BYTES} B), one tx"),
            time: m.time,
            cpu: m.cpu,
            entries,
            mem: None,
        }
    }
}

fn print_table(title: &str, lines: &[Line], floor: Duration, peak_label: &str) {
    println!();
    println!("{title}");
    println!(
        "{:<52} | {:>9} | {:>8} | {:>10} | {:>19} | {:>8}",
        "phase", "time", "cpu", "entries/s", peak_label, "x floor"
    );
    println!("{}", "-".repeat(52 + 9 + 8 + 10 + 19 + 8 + 15));
    for l in lines {
        let secs = l.time.as_secs_f64();
        let mem = l.mem.map_or_else(
            || "-".to_owned(),
            |(start, peak)| format!("{:>7.0} → {:>7.0}", start as f64 / 1024.0, peak as f64 / 1024.0),
        );
        println!(
            "{:<52} | {:>8.2}s | {:>7.2}s | {:>10.0} | {:>19} | {:>8.2}",
            l.phase,
            secs,
            l.cpu.as_secs_f64(),
            l.entries as f64 / secs.max(1e-9),
            mem,
            secs / floor.as_secs_f64().max(1e-9)
        );
    }
}

/// 1000 → "1k", 1000000 → "1M".
fn count_words(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The 1M/100k run on one engine: the phases, checks, sizes and floor.
struct MainRun {
    lines: Vec<Line>,
    floor: Measured,
    notes: Vec<String>,
}

fn main_run(s: &Scenario, n_entries: u64, peak_resets: bool) -> MainRun {
    let engine = s.engine.name();
    let mut notes = Vec::new();
    let t = Instant::now();
    let (transfers, intents) = make_statement(n_entries, s.n_cases, 0xB0FF1CE, "BNK-");
    let xml = statement("BANK-STMT-2026-12-01", ACCOUNT, &transfers);
    let debits: Vec<Transfer> = transfers.iter().cloned().map(|t| Transfer { debit: true, ..t }).collect();
    let debit_xml = statement("BANK-STMT-2026-12-01-D", ACCOUNT, &debits);
    drop(debits);
    let path = s.data.0.join("statement.xml");
    let debit_path = s.data.0.join("statement-debits.xml");
    std::fs::write(&path, &xml).expect("writes the statement");
    std::fs::write(&debit_path, &debit_xml).expect("writes the debit copy");
    let file_bytes = xml.len() as u64;
    drop((xml, debit_xml));
    let want = intended(&intents);
    notes.push(format!(
        "statement: {n_entries} transfers, {:.1} MB camt.053.001.08 (made in {:.1} s); intended: {} exact, {} less, {} more, {} unmatched",
        mb(file_bytes),
        t.elapsed().as_secs_f64(),
        want.paid,
        want.part_paid,
        want.overpaid,
        want.exceptions
    ));
    if file_bytes > MAX_UPLOAD as u64 {
        notes.push(format!(
            "note: the file is larger than the back office's upload limit (MAX_UPLOAD = {} MB): a clerk could not upload it",
            MAX_UPLOAD >> 20
        ));
    }
    let read = |p: &Path| std::fs::read(p).expect("reads the statement");

    eprintln!("[{engine}] (a) parse …");
    let (_, parse) = {
        let file = read(&debit_path);
        measure(peak_resets, || s.import_unbooked(file))
    };
    eprintln!("[{engine}] (a+b) parse + prepare …");
    let (_, prep) = {
        let file = read(&path);
        measure(peak_resets, || s.import_unbooked(file))
    };
    let size_before = s.size_bytes();
    eprintln!("[{engine}] (a+b+c) full import …");
    let probe_ticket = ticket_of(s.n_cases / 2, s.n_cases);
    let ((imported, full), reader) = {
        let file = read(&path);
        with_reader(&s.db, &probe_ticket, || measure(peak_resets, || s.import(file, s.clerk).expect("imports")))
    };
    notes.push(format!(
        "meanwhile a case page's read (Db::ledger_case every {} ms, {} reads): longest wait {:.1} s, {} failed{}",
        READER_PAUSE.as_millis(),
        reader.reads,
        reader.worst.as_secs_f64(),
        reader.failures.len(),
        reader.failures.first().map_or_else(String::new, |e| format!(" (first: {e})"))
    ));
    let size_after = s.size_bytes();
    let sealed_avg = block_on(s.scalar("SELECT CAST(AVG(LENGTH(sealed_details)) AS BIGINT) FROM bank_entries"));
    let got = check_first_import(&imported, &transfers, &intents, s.n_cases >= n_entries);
    assert_eq!((got.matched, got.exceptions), (want.matched, want.exceptions), "matched and exceptions as intended");
    if s.n_cases >= n_entries {
        assert_eq!(got, want, "paid, part paid and overpaid as intended");
    }
    drop(imported);
    check_database(s, &got, &transfers);

    eprintln!("[{engine}] (d) the same file again …");
    let (again, dup) = {
        let file = read(&path);
        measure(peak_resets, || s.import(file, s.clerk).expect("imports again"))
    };
    let count = |f: fn(&Booked) -> bool| again.lines.iter().filter(|(_, b)| f(b)).count();
    let matched_again = count(|b| matches!(b, Booked::Matched { .. }));
    let duplicates = count(|b| matches!(b, Booked::Duplicate));
    assert_eq!(matched_again, 0, "nothing is counted twice");
    assert_eq!(duplicates as u64, n_entries, "every transfer is a duplicate");
    drop(again);
    check_database(s, &got, &transfers);
    // clerk.created, one per payment and exception, one per stored import.
    let audit_entries = 1 + (got.matched + got.exceptions) as u64 + 2;
    let audit_time = verify_audit(s, audit_entries);

    eprintln!("[{engine}] floor …");
    let floor = s.floor(n_entries);
    let lookups = s.lookup_floor();

    notes.push(format!(
        "outcome: {} matched ({} paid, {} part paid, {} overpaid), {} exceptions; re-import: {} duplicates, 0 matched",
        got.matched, got.paid, got.part_paid, got.overpaid, got.exceptions, duplicates
    ));
    notes.push(format!(
        "database: {:.1} MB before the import, {:.1} MB after (+{:.0} bytes per transfer, sealed details {sealed_avg} bytes on average); audit chain of {} entries verified in {:.2} s",
        mb(size_before),
        mb(size_after),
        size_after.saturating_sub(size_before) as f64 / n_entries as f64,
        audit_entries,
        audit_time.as_secs_f64()
    ));
    let n = n_entries;
    let lines = vec![
        Line::measured("(a) parse [all-debit copy, nothing booked]", &parse, n),
        Line::derived("(b) prepare: tickets + HPKE sealing [(a+b) - (a)]", &prep, &parse, n),
        Line::measured("(a+b) parse + prepare [nothing booked]", &prep, n),
        Line::derived(&format!("(c) booking, {} cases [(a+b+c) - (a+b)]", count_words(s.n_cases)), &full, &prep, n),
        Line::measured(&format!("(a+b+c) full import, {} cases", count_words(s.n_cases)), &full, n),
        Line::measured("(d) same file again, all duplicates", &dup, n),
        Line::derived("(d') duplicate check only [(d) - (a+b)]", &dup, &prep, n),
        Line {
            phase: format!("floor: {n} indexed SELECTs by entry key, one tx"),
            time: lookups.time,
            cpu: lookups.cpu,
            entries: n,
            mem: None,
        },
    ];
    MainRun { lines, floor, notes }
}

/// The small baseline: a statement of the same size and mix against 1,000 cases.
fn baseline_run(s: &Scenario, n_entries: u64, peak_resets: bool) -> (Vec<Line>, Vec<String>) {
    let cases = count_words(s.n_cases);
    let (transfers, intents) = make_statement(n_entries, s.n_cases, 0x5A11 ^ s.n_cases, "BSL-");
    let path = s.data.0.join("statement-baseline.xml");
    std::fs::write(&path, statement("BANK-STMT-BASELINE", ACCOUNT, &transfers)).expect("writes the statement");
    eprintln!("[baseline {cases}] parse + prepare …");
    let (_, prep) = measure(peak_resets, || s.import_unbooked(std::fs::read(&path).expect("reads")));
    eprintln!("[baseline {cases}] full import …");
    let file = std::fs::read(&path).expect("reads");
    let (imported, full) = measure(peak_resets, || s.import(file, s.clerk).expect("imports"));
    let distinct = s.n_cases >= n_entries;
    let got = check_first_import(&imported, &transfers, &intents, distinct);
    let want = intended(&intents);
    assert_eq!((got.matched, got.exceptions), (want.matched, want.exceptions), "matched and exceptions as intended");
    if distinct {
        assert_eq!(got, want, "paid, part paid and overpaid as intended");
    }
    drop(imported);
    check_database(s, &got, &transfers);
    verify_audit(s, 1 + (got.matched + got.exceptions) as u64 + 1);
    let per_case = (got.matched as f64 / s.n_cases as f64).max(1.0);
    let note = format!(
        "baseline {cases} cases: {per_case:.0} payments per case on average (each re-assessment reads all of the case's payments); {} matched ({} paid, {} part paid, {} overpaid), {} exceptions",
        got.matched, got.paid, got.part_paid, got.overpaid, got.exceptions
    );
    let lines = vec![
        Line::measured(&format!("baseline: full import, {cases} cases"), &full, n_entries),
        Line::derived(&format!("baseline: booking, {cases} cases [full - (a+b)]"), &full, &prep, n_entries),
    ];
    (lines, vec![note])
}

fn main() {
    let n_cases = env_u64("FIELDSEAL_BENCH_CASES", 1_000_000);
    let n_entries = env_u64("FIELDSEAL_BENCH_ENTRIES", 100_000);
    let peak_resets = reset_peak();
    let peak_label = if peak_resets { "RSS MB start → peak" } else { "RSS MB, peak of run" };
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "statement import: {n_entries} transfers against {n_cases} open cases; {cores} cores; the office's code as in the zone, the host's answers in this process"
    );
    println!("load average at start: {} (other processes on the machine share its cores)", load_average());
    if !peak_resets {
        println!("(/proc/self/clear_refs cannot be written: the memory column is the peak for the whole run)");
    }

    // SQLite, the main run.
    let big = scenario(Engine::Sqlite, None, n_cases, "big");
    println!(
        "seeding (not measured): {n_cases} cases + envelopes on SQLite in {:.1} s ({:.0} rows/s, WAL, synchronous = OFF while seeding)",
        big.seeded_in.as_secs_f64(),
        2.0 * n_cases as f64 / big.seeded_in.as_secs_f64()
    );
    let main = main_run(&big, n_entries, peak_resets);
    drop(big);

    // SQLite baselines: as many cases as transfers (each case paid once, as in the main run),
    // and 1,000 cases (many payments per case).
    let mut lines = main.lines;
    let mut notes = main.notes;
    for n in [n_entries, SMALL_CASES] {
        if n >= n_cases {
            continue;
        }
        let s = scenario(Engine::Sqlite, None, n, &format!("baseline-{n}"));
        let (l, m) = baseline_run(&s, n_entries, peak_resets);
        lines.extend(l);
        notes.extend(m);
    }
    lines.push(Line::floor(&main.floor, n_entries));
    print_table("SQLite (synchronous = FULL, as the server runs it)", &lines, main.floor.time, peak_label);
    println!("  load average now: {}", load_average());
    for n in &notes {
        println!("  {n}");
    }

    // PostgreSQL, when there is one.
    if std::env::var_os("FIELDSEAL_TEST_PG").is_some() {
        let backend = fieldseal_tests::Backend::postgres();
        let url = backend.url().expect("a PostgreSQL URL").to_owned();
        let pg = scenario(Engine::Postgres, Some(url.clone()), n_cases, "pg");
        println!();
        println!(
            "seeding (not measured): {n_cases} cases + envelopes on PostgreSQL in {:.1} s ({} rows per INSERT)",
            pg.seeded_in.as_secs_f64(),
            Engine::Postgres.batch()
        );
        let run = main_run(&pg, n_entries, peak_resets);
        let mut lines = run.lines;
        lines.push(Line::floor(&run.floor, n_entries));
        print_table("PostgreSQL (memory: this process only, not the server's)", &lines, run.floor.time, peak_label);
        println!("  load average now: {}", load_average());
        for n in &run.notes {
            println!("  {n}");
        }
        block_on(pg.db.close());
        drop(pg);
        drop_pg_database(&url);
    } else {
        println!();
        println!(
            "PostgreSQL: skipped. To run it: `FIELDSEAL_PG_PORT=55443 bash scripts/postgres.sh start /tmp/fs-pg-bench`, \
             then `export FIELDSEAL_TEST_PG=<the URL it prints>` and run the bench again"
        );
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Removes the bench's PostgreSQL database (it holds a million cases).
fn drop_pg_database(url: &str) {
    let Ok(admin) = std::env::var("FIELDSEAL_TEST_PG") else { return };
    let Some((_, name)) = url.rsplit_once('/') else { return };
    block_on(async {
        let mut conn = AnyConnection::connect(&admin).await.expect("the test PostgreSQL answers");
        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if let Err(e) = sqlx::query(AssertSqlSafe(sql.as_str())).execute(&mut conn).await {
            eprintln!("could not drop the bench database {name}: {e}");
        }
        let _ = conn.close().await;
    });
}
