//! Citizen case pages per second, and their p50/p99 latency, at 16 and 64 concurrent clients
//! on loopback. Each client holds its own signed-in session for its own ticket, so every
//! request is a full case view: index and ledger from the database, envelope and photo blobs
//! read, the enclave opens the case for the access code, the page is rendered with the photos.
//! The baseline, measured in the same run against the same server, is its static liveness
//! endpoint `/health/live`.
//!
//! Real processes: `fieldseal serve` (SQLite) and its enclave. Build them in release first:
//! `cargo build --release --workspace --bins && cargo bench -p fieldseal-tests --bench portal`.
//! `FIELDSEAL_BENCH_SECS` sets the seconds per measurement (default 5).

use std::time::{Duration, Instant};

use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_tests::{Backend, Phone, Server, TempDir, WebClient};

const CLIENTS: [usize; 2] = [16, 64];

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// `clients` threads request `path` back to back for `secs`; every answer must be a 200.
fn load(url: &str, path: &str, clients: &[WebClient], secs: u64) -> Figures {
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let per_thread: Vec<(Vec<Duration>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut bytes = 0;
                    while Instant::now() < until {
                        let t = Instant::now();
                        let mut res =
                            c.agent.get(&format!("{url}{path}")).header("cookie", &c.cookie).call().expect("answers");
                        assert_eq!(res.status().as_u16(), 200, "{path}");
                        bytes = res.body_mut().read_to_vec().expect("body").len();
                        latencies.push(t.elapsed());
                    }
                    (latencies, bytes)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let bytes = per_thread.first().map_or(0, |(_, b)| *b);
    let mut all: Vec<Duration> = per_thread.into_iter().flat_map(|(l, _)| l).collect();
    all.sort();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    Figures { rps: all.len() as f64 / elapsed, p50: pick(0.50), p99: pick(0.99), bytes }
}

fn main() {
    let secs: u64 = std::env::var("FIELDSEAL_BENCH_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let data = TempDir::new("bench-portal");
    let backend = Backend::sqlite();
    let server = Server::start(&data.0, &backend);
    let url = server.url.clone();
    let max = CLIENTS.iter().copied().max().unwrap_or(1);
    print!("setting up: {max} tickets captured, synced and signed in … ");
    let mut phone = Phone::enrolled(&server, &data.0, &backend);
    let notices = phone.capture(max as u64, "B-BM 2026");
    sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    let clients: Vec<WebClient> = std::thread::scope(|s| {
        notices
            .iter()
            .map(|n| s.spawn(|| WebClient::signed_in(&url, n)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("sign-in"))
            .collect()
    });
    println!("done");
    println!("case page vs /health/live on the same server, {secs} s each, SQLite, 2 photos per case");
    println!("{:>8} | {:>22} | {:>22} | {:>7}", "clients", "case page req/s p50 p99", "health req/s p50 p99", "ratio");
    for n in CLIENTS {
        let set = &clients[..n];
        // Alternate which goes first so neither always meets a warmer server.
        let (case, live) = if n % 2 == 0 {
            let case = load(&url, "/case", set, secs);
            (case, load(&url, "/health/live", set, secs))
        } else {
            let live = load(&url, "/health/live", set, secs);
            (load(&url, "/case", set, secs), live)
        };
        println!(
            "{n:>8} | {:>7.0} {:>6.1}ms {:>6.1}ms | {:>7.0} {:>6.1}ms {:>6.1}ms | {:>7.3}",
            case.rps,
            case.p50.as_secs_f64() * 1e3,
            case.p99.as_secs_f64() * 1e3,
            live.rps,
            live.p50.as_secs_f64() * 1e3,
            live.p99.as_secs_f64() * 1e3,
            case.rps / live.rps
        );
        if n == CLIENTS[0] {
            println!("{:>8}   case page {} KB (HTML with the photos inline)", "", case.bytes / 1024);
        }
    }
}
