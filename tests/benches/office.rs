//! Importing one bank statement of 100,000 transfers against 1,000,000 open cases: wall time,
//! CPU time and peak memory (RSS) of each phase, correctness checked on every line, and
//! baselines measured in the same run: the same size of statement against as many cases as
//! transfers and against only 1,000 cases (matching should not depend on the number of cases:
//! index lookups; with 1,000 cases each case is paid about 85 times, which costs on its own),
//! and storage floors (one plain INSERT of a comparable row per transfer, one indexed SELECT per
//! key; one transaction, same engine). While the import books, another thread reads a case the
//! way a case page does, to show what other users of the database meet meanwhile.
//!
//! The phases run the server's own code, `fieldseal_server::office::import::import`, against an
//! enclave answering in this process (the real request handler on a Unix socket, SIMULATED
//! platform). `fieldseal-tests` does not depend on `fieldseal-office`, so `camt::parse` and
//! `prepare` cannot be called on their own; they are isolated instead:
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
use fieldseal_core::seal::{EnclaveSecretKey, sha256};
use fieldseal_core::ticket::TicketNumber;
use fieldseal_enclave::handler::Enclave;
use fieldseal_enclave::platform::SimulatedPlatform;
use fieldseal_server::blobs::LocalBlobStore;
use fieldseal_server::db::{Actor, Booked, Db};
use fieldseal_server::enclave_client::EnclaveClient;
use fieldseal_server::office::import::{ImportError, Imported, import};
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

// ----- numbers -----

/// SplitMix64: deterministic, so every run books the same statement.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The ticket of seeded case `i` (prefix-major, so the primary key grows in insertion order).
fn ticket_of(i: u64, n_cases: u64) -> TicketNumber {
    let per = n_cases.div_ceil(PREFIXES).max(1);
    TicketNumber::issue((1 + i / per) as u16, (1 + i % per) as u32).expect("a ticket in range")
}

/// The amount of seeded case `i`, 30.00 to 100.00 EUR.
fn total_of(i: u64) -> u64 {
    3000 + mix(i ^ 0x7074_6F74_616C) % 7001
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

// ----- memory -----

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux 4.0+); false when the kernel refuses.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU time of every thread of this process so far (user + system; USER_HZ is 100 on Linux).
fn cpu_now() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    Duration::from_millis(ticks * 10)
}

struct Measured {
    time: Duration,
    cpu: Duration,
    rss_start_kb: u64,
    peak_kb: u64,
}

fn measure<T>(peak_resets: bool, f: impl FnOnce() -> T) -> (T, Measured) {
    if peak_resets {
        reset_peak();
    }
    let rss_start_kb = status_kb("VmRSS:");
    let cpu = cpu_now();
    let t = Instant::now();
    let out = f();
    let time = t.elapsed();
    (out, Measured { time, cpu: cpu_now().saturating_sub(cpu), rss_start_kb, peak_kb: status_kb("VmHWM:") })
}

// ----- the statement -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The notice's amount, in time: paid.
    Exact,
    /// Less: part paid.
    Less,
    /// More: overpaid.
    More,
    /// No ticket number anywhere.
    NoTicket,
    /// A valid ticket number no case has.
    Unknown,
    /// A real case's number with one digit wrong (the check digit catches it).
    BadCheck,
}

/// What the generator meant a transfer to be.
struct Intent {
    kind: Kind,
    ticket: Option<TicketNumber>,
    digits: String,
}

/// The ticket digits written as citizens write them: grouped, compact, spaced, split over two
/// remittance lines, or dotted.
fn remittance(rng: &mut Rng, d: &str, plate: &str) -> Vec<String> {
    let (a, b, c) = (&d[..4], &d[4..8], &d[8..]);
    match rng.below(5) {
        0 => vec![format!("Verwarnung {a}-{b}-{c} Kennz. {plate}")],
        1 => vec![format!("Verwarnungsgeld {d} {plate}")],
        2 => vec![format!("Az. {a} {b} {c} Kennzeichen {plate}")],
        3 => vec![format!("Verwarnung Nr. {a}-{b}"), format!("-{c} Kennz. {plate}")],
        _ => vec![format!("Bussgeld Nr.{a}.{b}.{c} vom 14.11.2026")],
    }
}

fn plate(rng: &mut Rng) -> String {
    let city = rng.pick(&["B", "M", "HH", "K", "F", "S", "DO", "LEV"]);
    let l = |rng: &mut Rng| char::from(b'A' + rng.below(26) as u8);
    format!("{city}-{}{} {}", l(rng), l(rng), 1 + rng.below(9999))
}

/// `n_entries` incoming transfers for cases among `n_cases`: about 70 % the exact amount, 10 %
/// less, 5 % more, 15 % without a usable ticket (none, unknown, wrong check digit). Each case is
/// used at most once when there are enough cases.
fn make_statement(n_entries: u64, n_cases: u64, seed: u64, tag: &str) -> (Vec<Transfer>, Vec<Intent>) {
    let mut rng = Rng(seed);
    let distinct = n_cases >= n_entries;
    // A partial Fisher-Yates shuffle draws distinct cases.
    let mut order: Vec<u32> = if distinct { (0..n_cases as u32).collect() } else { Vec::new() };
    let mut drawn = 0usize;
    let mut draw = |rng: &mut Rng| -> u64 {
        if distinct {
            let j = drawn + rng.below((order.len() - drawn) as u64) as usize;
            order.swap(drawn, j);
            drawn += 1;
            u64::from(order[drawn - 1])
        } else {
            rng.below(n_cases)
        }
    };
    let payers = ["Erika Mustermann", "Max Müller", "Jürgen Weiß", "Anna Schmidt", "Ömer Yılmaz", "Zoë O'Neill"];
    let other = [
        "Miete Dezember Whg 3",
        "Spende Tierheim Musterstadt",
        "Rechnung 4711 vom 12.11.2026",
        "Mitgliedsbeitrag 2026",
        "Kaution Garage 12",
    ];
    let mut transfers = Vec::with_capacity(n_entries as usize);
    let mut intents = Vec::with_capacity(n_entries as usize);
    for i in 0..n_entries {
        let roll = rng.below(100);
        let kind = match roll {
            0..70 => Kind::Exact,
            70..80 => Kind::Less,
            80..85 => Kind::More,
            85..90 => Kind::NoTicket,
            90..95 => Kind::Unknown,
            _ => Kind::BadCheck,
        };
        let plate = plate(&mut rng);
        let (amount, ticket, digits, lines) = match kind {
            Kind::Exact | Kind::Less | Kind::More => {
                let case = draw(&mut rng);
                let total = total_of(case);
                let amount = match kind {
                    Kind::Exact => total,
                    Kind::Less => total / 2 + rng.below(total / 4),
                    _ => total + 100 + rng.below(2000),
                };
                let t = ticket_of(case, n_cases);
                let lines = remittance(&mut rng, t.digits(), &plate);
                (amount, Some(t.clone()), t.digits().to_owned(), lines)
            }
            Kind::NoTicket => (3000 + rng.below(7000), None, String::new(), vec![rng.pick(&other).to_owned()]),
            Kind::Unknown => {
                let t = TicketNumber::issue(9000 + rng.below(999) as u16, 1 + rng.below(9_999_998) as u32)
                    .expect("a ticket in range");
                let lines = remittance(&mut rng, t.digits(), &plate);
                (3000 + rng.below(7000), Some(t.clone()), t.digits().to_owned(), lines)
            }
            Kind::BadCheck => {
                let t = ticket_of(draw(&mut rng), n_cases);
                let mut d = t.digits().as_bytes().to_vec();
                let last = d[11] - b'0';
                d[11] = b'0' + ((u64::from(last) + 1 + rng.below(9)) % 10) as u8;
                let d = String::from_utf8(d).expect("digits");
                let lines = remittance(&mut rng, &d, &plate);
                (3000 + rng.below(7000), None, d, lines)
            }
        };
        let payer = format!("{} {}", rng.pick(&payers), i % 1000);
        let mut t = Transfer::credit(amount, BOOKED_ON, &format!("{tag}{i:08}"), &payer, "");
        t.payer_iban = format!("DE{:02}{:018}", 10 + rng.below(89), rng.below(1_000_000_000_000_000_000));
        t.remittance = lines;
        transfers.push(t);
        intents.push(Intent { kind, ticket, digits });
    }
    (transfers, intents)
}

// ----- databases -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
    /// Rows per multi-row INSERT while seeding.
    fn batch(self) -> u64 {
        match self {
            // sqlx binds SQLite parameters by name, and SQLite looks each name up in a list:
            // quadratic in the parameters of a statement, so keep statements small.
            Self::Sqlite => 50,
            Self::Postgres => 1000,
        }
    }
}

fn insert_sql(table: &str, columns: &[&str], rows: u64) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let n = columns.len() as u64;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..n {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * n + c + 1));
        }
        sql.push(')');
    }
    sql
}

const ENVELOPE_COLUMNS: [&str; 8] =
    ["envelope_id", "device_id", "sequence", "prev_hash", "envelope_hash", "envelope", "photo_count", "stored_at_ms"];
const CASE_COLUMNS: [&str; 7] =
    ["ticket_number", "envelope_id", "total_cents", "due_date", "offence_codes", "status", "indexed_at_ms"];

/// One device, `n_cases` envelopes and `n_cases` open cases, written directly.
async fn seed(url: &str, engine: Engine, n_cases: u64, seed: u64) -> Duration {
    let t = Instant::now();
    let mut conn = AnyConnection::connect(url).await.expect("connects for seeding");
    if engine == Engine::Sqlite {
        conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")
            .await
            .expect("seeding pragmas");
    }
    let mut rng = Rng(seed);
    let now = now_ms();
    let device = rng.bytes(16);
    sqlx::query(
        "INSERT INTO devices (device_id, device_prefix, verifying_key, label, enrolled_at_ms)
         VALUES ($1, 1, $2, 'bench device', $3)",
    )
    .bind(device.clone())
    .bind(rng.bytes(32))
    .bind(now)
    .execute(&mut conn)
    .await
    .expect("inserts the device");
    let mut done = 0;
    while done < n_cases {
        let end = (done + SEED_CHUNK).min(n_cases);
        let mut tx = conn.begin().await.expect("begins");
        let mut i = done;
        while i < end {
            let k = (end - i).min(engine.batch());
            let ids: Vec<Vec<u8>> = (0..k).map(|_| rng.bytes(16)).collect();
            let sql = insert_sql("envelopes", &ENVELOPE_COLUMNS, k);
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for (j, id) in ids.iter().enumerate() {
                q = q
                    .bind(id.clone())
                    .bind(device.clone())
                    .bind((i + j as u64 + 1) as i64)
                    .bind(rng.bytes(32))
                    .bind(rng.bytes(32))
                    .bind(rng.bytes(24))
                    .bind(0_i64)
                    .bind(now);
            }
            q.execute(&mut *tx).await.expect("inserts envelopes");
            let sql = insert_sql("cases", &CASE_COLUMNS, k);
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for (j, id) in ids.into_iter().enumerate() {
                let c = i + j as u64;
                q = q
                    .bind(ticket_of(c, n_cases).digits().to_owned())
                    .bind(id)
                    .bind(total_of(c) as i64)
                    .bind(DUE_DATE)
                    .bind("TBNR-141312")
                    .bind("open")
                    .bind(now);
            }
            q.execute(&mut *tx).await.expect("inserts cases");
            i += k;
        }
        tx.commit().await.expect("commits a seeding chunk");
        done = end;
        if n_cases >= SEED_CHUNK {
            eprintln!("  seeded {done:>9} cases ({:.1} s)", t.elapsed().as_secs_f64());
        }
    }
    if engine == Engine::Sqlite {
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await.expect("checkpoints");
    } else {
        // As autovacuum would have: statistics for the tables just filled. The ledger tables stay
        // never analyzed (autovacuum skips empty tables); analyzed while empty, they give the
        // import's cached generic plans sequential scans, and the import becomes quadratic.
        conn.execute("ANALYZE devices, envelopes, cases").await.expect("analyzes");
    }
    conn.close().await.expect("closes");
    t.elapsed()
}

/// One database with its relay and in-process enclave.
struct Scenario {
    engine: Engine,
    url: String,
    data: TempDir,
    db: Db,
    relay: Relay,
    enclave_secret: [u8; 32],
    clerk: i64,
    n_cases: u64,
    seeded_in: Duration,
}

/// The enclave's request handler, served from this process on a Unix socket.
fn start_enclave(data: &Path) -> (PathBuf, [u8; 32]) {
    let key_dir = data.join("enclave-keys");
    std::fs::create_dir_all(&key_dir).expect("key dir");
    let platform = SimulatedPlatform::load_or_create(&key_dir, sha256(b"fieldseal bench enclave")).expect("platform");
    let key = EnclaveSecretKey::make_random();
    let secret = *key.to_bytes();
    let enclave = Arc::new(Enclave::new(Box::new(key), platform));
    let socket = data.join("enclave.sock");
    let listener = UnixListener::bind(&socket).expect("enclave socket");
    let start = Arc::new(Barrier::new(3));
    let _workers =
        fieldseal_enclave::serve::spawn_workers(enclave, &listener, 2, Arc::clone(&start)).expect("enclave workers");
    start.wait();
    (socket, secret)
}

fn scenario(engine: Engine, database_url: Option<String>, n_cases: u64, tag: &str) -> Scenario {
    let data = TempDir::new(&format!("bench-office-{tag}"));
    let (socket, enclave_secret) = start_enclave(&data.0);
    let db = block_on(Db::open(database_url.as_deref(), &data.0)).expect("opens and migrates");
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", data.0.join("server.sqlite3").display()));
    eprintln!("seeding {n_cases} cases on {} …", engine.name());
    let seeded_in = block_on(seed(&url, engine, n_cases, 0x5EED ^ n_cases));
    let role = serde_json::from_value(serde_json::json!("clerk")).expect("a role");
    let clerk = block_on(db.insert_clerk("bench", role, "not-a-real-hash", None, Actor::Admin, now_ms()))
        .expect("adds a clerk")
        .expect("a new clerk");
    let blobs = LocalBlobStore::open(&data.0.join("blobs")).expect("blob store");
    let issued = fieldseal_server::settings::issued(&data.0, "http://127.0.0.1:1").expect("settings");
    let receipt = fieldseal_server::settings::receipt_key(&data.0).expect("receipt key");
    let enclave = EnclaveClient::new(&socket, 2, Duration::from_secs(60));
    let relay = Relay::new(db.clone(), Arc::new(blobs), enclave, issued, receipt);
    let key = block_on(relay.enclave_public_key()).expect("the in-process enclave attests");
    assert_eq!(key, EnclaveSecretKey::from_bytes(&enclave_secret).expect("key").public_key());
    Scenario { engine, url, data, db, relay, enclave_secret, clerk, n_cases, seeded_in }
}

impl Scenario {
    async fn scalar(&self, sql: &'static str) -> i64 {
        let mut conn = AnyConnection::connect(&self.url).await.expect("connects");
        let v: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("counts");
        conn.close().await.expect("closes");
        v
    }

    /// The database's size on disk (SQLite: after a checkpoint, so the WAL is in the file).
    fn size_bytes(&self) -> u64 {
        match self.engine {
            Engine::Sqlite => block_on(async {
                let mut conn = AnyConnection::connect(&self.url).await.expect("connects");
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await.expect("checkpoints");
                conn.close().await.expect("closes");
                let file = |n: &str| std::fs::metadata(self.data.0.join(n)).map_or(0, |m| m.len());
                file("server.sqlite3") + file("server.sqlite3-wal")
            }),
            Engine::Postgres => {
                block_on(self.scalar("SELECT pg_database_size(current_database())")).try_into().unwrap_or(0)
            }
        }
    }

    /// Runs the server's import of `file` as `clerk`.
    fn import(&self, file: Vec<u8>, clerk: i64) -> Result<Imported, ImportError> {
        block_on(import(&self.relay, file, clerk))
    }

    /// Imports as a clerk who does not exist: parse and prepare run, booking fails at once.
    fn import_unbooked(&self, file: Vec<u8>) {
        let before = block_on(self.scalar("SELECT COUNT(*) FROM statement_imports"));
        match self.import(file, NO_SUCH_CLERK) {
            Err(ImportError::Db(_)) => {}
            other => panic!("expected the booking to fail for a clerk who does not exist, got {:?}", other.map(|_| ())),
        }
        assert_eq!(block_on(self.scalar("SELECT COUNT(*) FROM statement_imports")), before, "nothing was stored");
    }

    /// One plain INSERT per entry of a unique key and a payload, in one transaction, on this
    /// engine (SQLite with the server's pragmas).
    fn floor(&self, n: u64) -> Measured {
        block_on(async {
            let mut conn = AnyConnection::connect(&self.url).await.expect("connects");
            let create = match self.engine {
                Engine::Sqlite => {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;").await.expect("pragmas");
                    "CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v BLOB NOT NULL)"
                }
                Engine::Postgres => {
                    "CREATE TABLE bench_floor (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL UNIQUE, v BYTEA NOT NULL)"
                }
            };
            conn.execute(create).await.expect("creates the scratch table");
            let rss_start_kb = status_kb("VmRSS:");
            let cpu = cpu_now();
            let t = Instant::now();
            let mut tx = conn.begin().await.expect("begins");
            for i in 0..n {
                sqlx::query("INSERT INTO bench_floor (k, v) VALUES ($1, $2)")
                    .bind(format!("{ACCOUNT}|FLOOR{i:08}"))
                    .bind(vec![(i % 251) as u8; FLOOR_BYTES])
                    .execute(&mut *tx)
                    .await
                    .expect("inserts a floor row");
            }
            tx.commit().await.expect("commits");
            let time = t.elapsed();
            let cpu = cpu_now().saturating_sub(cpu);
            conn.execute("DROP TABLE bench_floor").await.expect("drops the scratch table");
            conn.close().await.expect("closes");
            Measured { time, cpu, rss_start_kb, peak_kb: rss_start_kb }
        })
    }
}

impl Scenario {
    /// One indexed SELECT by key per stored bank entry, in one transaction: the floor of the
    /// duplicate check.
    fn lookup_floor(&self) -> Measured {
        block_on(async {
            let mut conn = AnyConnection::connect(&self.url).await.expect("connects");
            let keys: Vec<String> = sqlx::query_scalar("SELECT entry_key FROM bank_entries ORDER BY id")
                .fetch_all(&mut conn)
                .await
                .expect("reads the keys");
            let rss_start_kb = status_kb("VmRSS:");
            let cpu = cpu_now();
            let t = Instant::now();
            let mut tx = conn.begin().await.expect("begins");
            for k in &keys {
                let id: Option<i64> = sqlx::query_scalar("SELECT id FROM bank_entries WHERE entry_key = $1")
                    .bind(k)
                    .fetch_optional(&mut *tx)
                    .await
                    .expect("looks up a key");
                assert!(id.is_some());
            }
            tx.commit().await.expect("commits");
            let time = t.elapsed();
            let cpu = cpu_now().saturating_sub(cpu);
            conn.close().await.expect("closes");
            Measured { time, cpu, rss_start_kb, peak_kb: rss_start_kb }
        })
    }
}

/// Pause between the reads of [`with_reader`].
const READER_PAUSE: Duration = Duration::from_millis(200);

/// What another user of the database saw while an import ran.
struct Reader {
    reads: usize,
    worst: Duration,
    failures: Vec<String>,
}

/// Runs `f` while another thread reads one case the way a case page does, every
/// [`READER_PAUSE`]: how long the longest read waited, and which failed.
fn with_reader<T>(db: &Db, ticket: &TicketNumber, f: impl FnOnce() -> T) -> (T, Reader) {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut r = Reader { reads: 0, worst: Duration::ZERO, failures: Vec::new() };
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                match block_on(db.ledger_case(ticket)) {
                    Ok(Some(_)) => {}
                    Ok(None) => r.failures.push("the case is missing".into()),
                    Err(e) => r.failures.push(e.to_string()),
                }
                r.worst = r.worst.max(t.elapsed());
                r.reads += 1;
                std::thread::sleep(READER_PAUSE);
            }
            r
        });
        let out = f();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (out, reader.join().expect("reader thread"))
    })
}

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
    if file_bytes > fieldseal_server::office::MAX_UPLOAD as u64 {
        notes.push(format!(
            "note: the file is larger than the back office's upload limit (MAX_UPLOAD = {} MB): a clerk could not upload it",
            fieldseal_server::office::MAX_UPLOAD >> 20
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
        "statement import: {n_entries} transfers against {n_cases} open cases; {cores} cores; server code, in-process enclave"
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
