//! Envelopes per second through the whole sync path: HTTP upload, signature and chain check,
//! enclave open and index, store; with 1 and 4 devices uploading at once, on SQLite and on
//! PostgreSQL. In the same run, the same path with the enclave call skipped is the baseline:
//! the ratio is the cost of confidentiality.
//!
//! Needs the release binaries: `cargo build --release --workspace --bins`, then
//! `cargo bench -p fieldseal-server --bench sync`. PostgreSQL runs when `FIELDSEAL_BENCH_PG`
//! names a server (`bash scripts/postgres.sh start /tmp/pg` prints one).

use std::time::{Duration, Instant};

use fieldseal_core::attestation::{AttestationPolicy, PinnedRoot, SIMULATED_PLATFORM};
use fieldseal_core::demo::sealed_case;
use fieldseal_core::seal::{EnclavePublicKey, SigningKey};
use fieldseal_core::sync::{HttpTransport, Method, Transport as _};
use fieldseal_core::wire::relay::{EnrolRequest, Enrolment, Outcome, SyncResponse, encode_batch};
use fieldseal_server::serve::{self, ServeOptions, Server};

const BATCH: usize = 16;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64
}

/// Enrols a fresh device and seals `n` chained cases for it (not timed).
fn device_batches(rt: &tokio::runtime::Runtime, server: &Server, enclave: &EnclavePublicKey, n: u64) -> Vec<Vec<u8>> {
    let t = HttpTransport::new(&server.url(), Duration::from_secs(60));
    let key = SigningKey::make_random();
    let code = rt.block_on(fieldseal_server::admin::issue_code(&server.relay.db, "bench device", 1)).expect("code");
    let req = EnrolRequest { code, verifying_key: key.verifying_key() };
    let r = t.send(Method::Post, "/v1/enrol", &[], &serde_json::to_vec(&req).expect("json")).expect("answers");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let e: Enrolment = serde_json::from_slice(&r.body).expect("enrolment");
    let mut prev = [0u8; 32];
    let mut envelopes = Vec::new();
    for seq in 1..=n {
        let (case, _) = sealed_case(enclave, &key, e.device_id, e.device_prefix, seq, prev, "B-BM 1").expect("sealed");
        prev = case.envelope_hash;
        envelopes.push(case.envelope);
    }
    envelopes.chunks(BATCH).map(|c| encode_batch(&c.iter().map(Vec::as_slice).collect::<Vec<_>>())).collect()
}

/// Uploads every device's batches, the devices in parallel; returns envelopes per second.
fn upload(url: &str, devices: Vec<Vec<Vec<u8>>>) -> f64 {
    let total: usize = devices.iter().flatten().map(|b| usize::from(u16::from_be_bytes([b[1], b[2]]))).sum();
    let started = Instant::now();
    std::thread::scope(|s| {
        for batches in &devices {
            s.spawn(move || {
                let t = HttpTransport::new(url, Duration::from_secs(60));
                for body in batches {
                    let r = t.send(Method::Post, "/v1/sync", &[], body).expect("answers");
                    assert_eq!(r.status, 200);
                    let answer: SyncResponse = serde_json::from_slice(&r.body).expect("answer");
                    assert!(answer.results.iter().all(|r| r.outcome == Outcome::Stored), "{:?}", answer.results[0]);
                }
            });
        }
    });
    total as f64 / started.elapsed().as_secs_f64()
}

fn bench_backend(rt: &tokio::runtime::Runtime, name: &str, database_url: Option<String>, per_device: u64) {
    let data = std::env::temp_dir().join(format!("fieldseal-bench-sync-{}-{name}", std::process::id()));
    let opts = ServeOptions {
        data: data.clone(),
        bind: [127, 0, 0, 1].into(),
        port: 0,
        web_port: None,
        database_url,
        enclave_socket: None,
        enclave_bin: None,
        public_url: None,
        session_idle: None,
        authority_key: None,
    };
    let server = rt.block_on(serve::start(&opts)).unwrap_or_else(|e| panic!("{e}"));
    let health = rt.block_on(server.relay.enclave.health()).expect("enclave health");
    let exe = std::env::current_exe().expect("path");
    let enclave_bin = exe.parent().and_then(|p| p.parent()).expect("target dir").join("fieldseal-enclave");
    let policy = AttestationPolicy {
        roots: vec![PinnedRoot { platform: SIMULATED_PLATFORM.into(), key: health.platform_key }],
        measurements: vec![fieldseal_core::seal::sha256(&std::fs::read(&enclave_bin).expect("enclave binary"))],
        accept_simulated: true,
    };
    let enclave = health.attestation.verify(&policy, now_ms()).expect("attested").public_key;
    println!("{name}:");
    for devices in [1usize, 4] {
        let n = per_device * 4 / devices as u64;
        let mut rates = [0.0f64; 2];
        // Alternate the order so neither side always meets a warmer database.
        for (i, skip) in [false, true].into_iter().enumerate() {
            let work: Vec<_> = (0..devices).map(|_| device_batches(rt, &server, &enclave, n)).collect();
            server.relay.skip_enclave_for_baseline(skip);
            rates[i] = upload(&server.url(), work);
        }
        server.relay.skip_enclave_for_baseline(false);
        println!(
            "  {devices} device(s) x {n:>4} envelopes: {:>7.0} env/s with the enclave, {:>7.0} env/s enclave skipped, ratio {:.2}",
            rates[0],
            rates[1],
            rates[0] / rates[1]
        );
    }
    rt.block_on(server.stop());
    let _ = std::fs::remove_dir_all(&data);
}

fn main() {
    let per_device: u64 = std::env::var("FIELDSEAL_BENCH_ENVELOPES").ok().and_then(|v| v.parse().ok()).unwrap_or(150);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    println!(
        "sync path: HTTP upload, signature + chain check, enclave open + index, store ({BATCH} envelopes per batch)"
    );
    bench_backend(&rt, "SQLite", None, per_device);
    match std::env::var("FIELDSEAL_BENCH_PG") {
        Ok(admin) => {
            let name = format!("bench_{}", std::process::id());
            rt.block_on(async {
                use sqlx::Connection as _;
                sqlx::any::install_default_drivers();
                let mut c = sqlx::AnyConnection::connect(&admin).await.expect("PostgreSQL answers");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.expect("db");
            });
            let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).expect("URL");
            bench_backend(&rt, "PostgreSQL", Some(format!("{base}/{name}")), per_device);
        }
        Err(_) => println!("PostgreSQL: skipped (set FIELDSEAL_BENCH_PG to a server URL)"),
    }
}
