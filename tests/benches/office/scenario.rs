//! Databases seeded with open cases, the enclave answering in this process, and a reader
//! thread that opens a case while the import books.

use super::*;

// ----- databases -----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
    /// Rows per multi-row INSERT while seeding.
    pub(crate) fn batch(self) -> u64 {
        match self {
            // sqlx binds SQLite parameters by name, and SQLite looks each name up in a list:
            // quadratic in the parameters of a statement, so keep statements small.
            Self::Sqlite => 50,
            Self::Postgres => 1000,
        }
    }
}

pub(crate) fn insert_sql(table: &str, columns: &[&str], rows: u64) -> String {
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

pub(crate) const ENVELOPE_COLUMNS: [&str; 8] =
    ["envelope_id", "device_id", "sequence", "prev_hash", "envelope_hash", "envelope", "photo_count", "stored_at_ms"];
pub(crate) const CASE_COLUMNS: [&str; 7] =
    ["ticket_number", "envelope_id", "total_cents", "due_date", "offence_codes", "status", "indexed_at_ms"];

/// One device, `n_cases` envelopes and `n_cases` open cases, written directly.
pub(crate) async fn seed(url: &str, engine: Engine, n_cases: u64, seed: u64) -> Duration {
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

/// The office's backend as the zone has it, the host's answers given in this process: every ask
/// and answer goes through the store line's encoding and the host's own answering code (only
/// the socket hop is left out).
pub(crate) struct InProcessLine {
    relay: Arc<Relay>,
    portal: ServerPortal,
    key: EnclavePublicKey,
    vault: fieldseal_core::vault::VaultKey,
}

fn line_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

impl OfficeBackend for InProcessLine {
    async fn ask(&self, ask: OfficeAsk, attachments: Vec<Vec<u8>>) -> Result<(OfficeAnswer, Vec<Vec<u8>>), StoreError> {
        let (ask, parts) = decode::<OfficeAsk>(&encode(&ask, &attachments)).map_err(line_failed)?;
        let (answer, parts) = fieldseal_server::office_store::answer(&self.relay.db, &self.portal, ask, parts).await;
        decode::<OfficeAnswer>(&encode(&answer, &parts)).map_err(line_failed)
    }

    async fn open_case(&self, _: &TicketNumber, _: &str, _: &str) -> Result<Option<CaseView>, String> {
        Err("the import bench opens no case".into())
    }

    async fn open_objection(&self, _: &TicketNumber, _: Vec<u8>, _: &str, _: &str) -> Result<OpenedObjection, String> {
        Err("the import bench opens no objection".into())
    }

    fn open_bank_details(&self, _: &str, _: Vec<u8>, _: &str, _: &str) -> Result<BankDetails, String> {
        Err("the import bench opens no bank details".into())
    }

    fn enclave_key(&self) -> EnclavePublicKey {
        self.key
    }

    fn offence(&self, _: &str) -> Option<fieldseal_core::catalogue::Offence> {
        None
    }

    fn authority_name(&self) -> &str {
        "bench"
    }

    fn authority_key(&self) -> Option<fieldseal_core::seal::VerifyingKey> {
        None
    }

    fn vault(&self) -> &fieldseal_core::vault::VaultKey {
        &self.vault
    }
}

/// One database with the office over it and an in-process enclave.
pub(crate) struct Scenario {
    pub(crate) engine: Engine,
    pub(crate) url: String,
    pub(crate) data: TempDir,
    pub(crate) db: Db,
    pub(crate) office: Store<InProcessLine>,
    pub(crate) enclave_secret: [u8; 32],
    pub(crate) clerk: i64,
    pub(crate) n_cases: u64,
    pub(crate) seeded_in: Duration,
}

/// The enclave's request handler, served from this process on a Unix socket.
pub(crate) fn start_enclave(data: &Path) -> (PathBuf, [u8; 32]) {
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

pub(crate) fn scenario(engine: Engine, database_url: Option<String>, n_cases: u64, tag: &str) -> Scenario {
    let data = TempDir::new(&format!("bench-office-{tag}"));
    let (socket, enclave_secret) = start_enclave(&data.0);
    let db = block_on(Db::open(database_url.as_deref(), &data.0)).expect("opens and migrates");
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}", data.0.join("server.sqlite3").display()));
    eprintln!("seeding {n_cases} cases on {} …", engine.name());
    let seeded_in = block_on(seed(&url, engine, n_cases, 0x5EED ^ n_cases));
    let clerk = block_on(db.insert_clerk("bench", b"a record the zone would seal", Actor::Admin, now_ms()))
        .expect("adds a clerk")
        .expect("a new clerk");
    let blobs = LocalBlobStore::open(&data.0.join("blobs")).expect("blob store");
    let issued = fieldseal_server::settings::issued(&data.0, "http://127.0.0.1:1").expect("settings");
    let receipt = fieldseal_server::settings::receipt_key(&data.0).expect("receipt key");
    let enclave = EnclaveClient::new(&socket, 2, Duration::from_secs(60));
    let relay = Arc::new(Relay::new(db.clone(), Arc::new(blobs), enclave, issued, receipt));
    let key = block_on(relay.enclave_public_key()).expect("the in-process enclave attests");
    assert_eq!(key, EnclaveSecretKey::from_bytes(&enclave_secret).expect("key").public_key());
    let portal = ServerPortal::new(Arc::clone(&relay));
    let vault = fieldseal_core::vault::VaultKey::derive(&EnclaveSecretKey::from_bytes(&enclave_secret).expect("key"));
    let office = Store { backend: InProcessLine { relay, portal, key, vault } };
    Scenario { engine, url, data, db, office, enclave_secret, clerk, n_cases, seeded_in }
}

impl Scenario {
    pub(crate) async fn scalar(&self, sql: &'static str) -> i64 {
        let mut conn = AnyConnection::connect(&self.url).await.expect("connects");
        let v: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.expect("counts");
        conn.close().await.expect("closes");
        v
    }

    /// The database's size on disk (SQLite: after a checkpoint, so the WAL is in the file).
    pub(crate) fn size_bytes(&self) -> u64 {
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
    pub(crate) fn import(&self, file: Vec<u8>, clerk: i64) -> Result<Imported, ImportError> {
        block_on(import(&self.office, file, clerk))
    }

    /// Imports as a clerk who does not exist: parse and prepare run, booking fails at once.
    pub(crate) fn import_unbooked(&self, file: Vec<u8>) {
        let before = block_on(self.scalar("SELECT COUNT(*) FROM statement_imports"));
        match self.import(file, NO_SUCH_CLERK) {
            Err(ImportError::Db(_)) => {}
            other => panic!("expected the booking to fail for a clerk who does not exist, got {:?}", other.map(|_| ())),
        }
        assert_eq!(block_on(self.scalar("SELECT COUNT(*) FROM statement_imports")), before, "nothing was stored");
    }

    /// One plain INSERT per entry of a unique key and a payload, in one transaction, on this
    /// engine (SQLite with the server's pragmas).
    pub(crate) fn floor(&self, n: u64) -> Measured {
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
    pub(crate) fn lookup_floor(&self) -> Measured {
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
pub(crate) const READER_PAUSE: Duration = Duration::from_millis(200);

/// What another user of the database saw while an import ran.
pub(crate) struct Reader {
    pub(crate) reads: usize,
    pub(crate) worst: Duration,
    pub(crate) failures: Vec<String>,
}

/// Runs `f` while another thread reads one case the way a case page does, every
/// [`READER_PAUSE`]: how long the longest read waited, and which failed.
pub(crate) fn with_reader<T>(db: &Db, ticket: &TicketNumber, f: impl FnOnce() -> T) -> (T, Reader) {
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
