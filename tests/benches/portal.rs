//! Citizen case pages per second, and their p50/p99 latency, at 16 and 64 concurrent clients
//! on loopback. Each client holds its own signed-in session for its own ticket, so every
//! request is a full case view inside the sealed zone: index and ledger asked of the host,
//! envelope and photo blobs sent over, the zone opens the case and renders the page with the
//! photos (at sign-in the zone keeps the opened case in memory for that session, so a repeat
//! view asks the host only for the ledger). Each client keeps one TLS connection through the
//! host's relay open, as a browser does. Baselines measured in the same run against the same
//! server: the zone's static stylesheet over the same relayed TLS (what TLS and the relay
//! cost), and the host's plain-http liveness endpoint `/health/live`.
//!
//! Real processes: `fieldseal serve` (SQLite) and its enclave. Build them in release first:
//! `cargo build --release --workspace --bins && cargo bench -p fieldseal-tests --bench portal`.
//! `FIELDSEAL_BENCH_SECS` sets the seconds per measurement (default 5).

use std::time::{Duration, Instant};

use fieldseal_core::sync::{self, SyncOptions};
use fieldseal_tests::zone::Connection;
use fieldseal_tests::{Backend, Phone, Server, TempDir, WebClient};

const CLIENTS: [usize; 2] = [16, 64];

struct Figures {
    rps: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// `clients` threads request `url` back to back for `secs`; every answer must be a 200.
fn load(url: &str, clients: &[WebClient], secs: u64) -> Figures {
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let per_thread: Vec<(Vec<Duration>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let mut latencies = Vec::new();
                    let mut bytes = 0;
                    // A browser keeps its TLS connection open: one per client, reused.
                    let mut conn = url.strip_prefix("https://").map(|rest| {
                        let (addr, path) = rest.split_once('/').expect("a path");
                        let pin = c.pin().expect("a pinned client");
                        (Connection::open(addr, pin).expect("a TLS connection"), format!("/{path}"))
                    });
                    while Instant::now() < until {
                        let t = Instant::now();
                        let answer = match &mut conn {
                            Some((conn, path)) => conn.get(path, &c.cookie).expect("answers"),
                            None => c.send("GET", url, None, &[]),
                        };
                        assert_eq!(answer.status, 200, "{url}");
                        bytes = answer.body.len();
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
    let zone = server.zone_url();
    let max = CLIENTS.iter().copied().max().unwrap_or(1);
    print!("setting up: {max} tickets captured, synced and signed in … ");
    let mut phone = Phone::enrolled(&server, &data.0, &backend);
    let notices = phone.capture(max as u64, "B-BM 2026");
    sync::sync_outbox(&mut phone.store, &server.transport(), &SyncOptions::default(), &mut |_| {}).expect("syncs");
    let clients: Vec<WebClient> = std::thread::scope(|s| {
        notices
            .iter()
            .map(|n| s.spawn(|| server.client().sign_in(&zone, n)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("sign-in"))
            .collect()
    });
    println!("done");
    println!(
        "case page (zone, TLS via relay) vs static page (zone, TLS via relay) vs /health/live (host, http), {secs} s each, SQLite, 2 photos per case"
    );
    println!(
        "{:>8} | {:>22} | {:>22} | {:>22}",
        "clients", "case page req/s p50 p99", "static req/s p50 p99", "health req/s p50 p99"
    );
    let (case_url, static_url, live_url) =
        (format!("{zone}/case"), format!("{zone}/static/portal.css"), format!("{}/health/live", server.url));
    let row = |f: &Figures| {
        format!("{:>7.0} {:>6.1}ms {:>6.1}ms", f.rps, f.p50.as_secs_f64() * 1e3, f.p99.as_secs_f64() * 1e3)
    };
    for n in CLIENTS {
        let set = &clients[..n];
        // Alternate which goes first so neither always meets a warmer server.
        let (case, tls, live) = if n % 2 == 0 {
            let case = load(&case_url, set, secs);
            (case, load(&static_url, set, secs), load(&live_url, set, secs))
        } else {
            let live = load(&live_url, set, secs);
            let tls = load(&static_url, set, secs);
            (load(&case_url, set, secs), tls, live)
        };
        println!("{n:>8} | {} | {} | {}", row(&case), row(&tls), row(&live));
        if n == CLIENTS[0] {
            println!("{:>8}   case page {} KB (HTML with the photos inline)", "", case.bytes / 1024);
        }
    }
}
