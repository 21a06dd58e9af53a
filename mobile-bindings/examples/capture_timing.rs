//! The Rust side of the bindings overhead benchmark (`mobile-bindings/scripts/bench.sh` runs
//! it beside the same calls made from Python): enrols a fresh device through the facade's Rust
//! API and times the capture of `--rounds` cases with the given photos, then `--calls` cheap
//! calls. Prints one JSON line of milliseconds.
//!
//! capture_timing --server URL --code CODE --pinning JSON --store PATH --rounds N --calls N PHOTO...

use std::sync::Arc;
use std::time::Instant;

use fieldseal_mobile::{CaptureDraft, FieldsealError, OfficerSession, PinnedPlatform, SessionConfig};

struct Args {
    server: String,
    code: String,
    pinning: String,
    store: String,
    rounds: usize,
    calls: usize,
    photos: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        server: String::new(),
        code: String::new(),
        pinning: String::new(),
        store: String::new(),
        rounds: 10,
        calls: 10_000,
        photos: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--server" => a.server = value()?,
            "--code" => a.code = value()?,
            "--pinning" => a.pinning = value()?,
            "--store" => a.store = value()?,
            "--rounds" => a.rounds = value()?.parse().map_err(|_| "--rounds needs a number")?,
            "--calls" => a.calls = value()?.parse().map_err(|_| "--calls needs a number")?,
            _ => a.photos.push(arg),
        }
    }
    if a.server.is_empty() || a.code.is_empty() || a.pinning.is_empty() || a.store.is_empty() || a.photos.is_empty() {
        return Err("usage: capture_timing --server URL --code CODE --pinning JSON --store PATH [--rounds N] [--calls N] PHOTO...".into());
    }
    Ok(a)
}

fn field(json: &serde_json::Value, name: &str) -> Result<String, String> {
    json[name].as_str().map(str::to_owned).ok_or(format!("--pinning lacks the string {name}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Fills a draft exactly as the Python side does (`bench_capture.py`).
fn fill(draft: &CaptureDraft, code: &str, photos: &[Vec<u8>], n: usize) -> Result<(), FieldsealError> {
    draft.set_vehicle("B-FS 1".into(), "DE".into(), "VW".into(), "rot".into())?;
    draft.add_offence(code.into())?;
    draft.set_place(52.52, 13.405, 6.0, format!("Unter den Linden {}, 10117 Berlin", n + 1))?;
    draft.set_observed_at(now_ms(), 0, 60)?;
    draft.set_notes(format!("Fahrzeug ohne Fahrer angetroffen, Fall {n}."))?;
    for p in photos {
        draft.add_photo(p.clone())?;
    }
    Ok(())
}

fn run(a: &Args) -> Result<String, String> {
    let photos =
        a.photos.iter().map(|p| std::fs::read(p).map_err(|e| format!("{p}: {e}"))).collect::<Result<Vec<_>, _>>()?;
    let pinning: serde_json::Value =
        serde_json::from_str(&a.pinning).map_err(|e| format!("--pinning is not JSON: {e}"))?;
    let config = SessionConfig {
        store_path: a.store.clone(),
        server_url: a.server.clone(),
        pinned_platforms: vec![PinnedPlatform {
            platform: field(&pinning, "platform")?,
            key_hex: field(&pinning, "platform_key")?,
        }],
        pinned_measurements: vec![field(&pinning, "measurement")?],
        accept_simulated: true,
        request_timeout_ms: 30_000,
        sync_attempts: 2,
    };
    let session =
        OfficerSession::open(config, fieldseal_core::seal::make_random_key().to_vec()).map_err(|e| e.to_string())?;
    session.enrol(a.code.clone()).map_err(|e| e.to_string())?;
    let code = session.catalogue().map_err(|e| e.to_string())?.offences[0].code.clone();
    let (mut fill_ms, mut seal_ms, mut total_ms) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..a.rounds {
        let t0 = Instant::now();
        let draft = CaptureDraft::new();
        fill(&draft, &code, &photos, n).map_err(|e| e.to_string())?;
        let filled = ms(t0);
        let t1 = Instant::now();
        session.capture(Arc::clone(&draft)).map_err(|e| e.to_string())?;
        seal_ms.push(ms(t1));
        fill_ms.push(filled);
        total_ms.push(ms(t0));
    }
    let draft = CaptureDraft::new();
    let t = Instant::now();
    for i in 0..a.calls {
        draft.set_notes(format!("note {i}")).map_err(|e| e.to_string())?;
    }
    let per_call_us = ms(t) * 1000.0 / a.calls.max(1) as f64;
    Ok(format!(
        "{{\"rounds\":{},\"fill_ms\":{:.3},\"seal_ms\":{:.3},\"total_ms\":{:.3},\"call_us\":{:.3}}}",
        a.rounds,
        median(fill_ms),
        median(seal_ms),
        median(total_ms),
        per_call_us
    ))
}

fn main() -> std::process::ExitCode {
    match parse().and_then(|a| run(&a)) {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("capture_timing: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
