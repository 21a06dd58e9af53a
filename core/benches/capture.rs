//! Capture + seal figures, printed; run by hand: `cargo bench -p fieldseal-core --bench capture`.
//!
//! * one 12-megapixel photo, stage by stage: the previous pipeline (full decode, orientation on
//!   the full image, Lanczos3, the `image` crate's encoder) beside the new one (decode at
//!   reduced scale by libjpeg-turbo, exact resize, orientation on the small image, libjpeg-turbo's
//!   SIMD encoder), same run;
//! * ms per ticket with three 12-MP JPEG photos: pipeline, sealing and the store transaction,
//!   shown apart, on one core (this thread and any thread it starts pinned to one CPU) and on
//!   all cores (the photos of a ticket in parallel);
//! * bytes per ticket at the default long edge and the lowest SSIM against a careful reference;
//! * MB/s of sealing one 4 MB blob, beside raw ChaCha20-Poly1305 on the same buffer.
//!
//! The last line sums it up: `capture+seal per ticket: X ms on 1 core, Y ms on all cores; Z bytes
//! per ticket; min SSIM S`.

#[path = "../tests/common/quality.rs"]
mod quality;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo;
use fieldseal_core::photo::{self, PhotoSettings, ProcessedPhoto, StageTimes, reference};
use fieldseal_core::seal::{self, EnclaveSecretKey, SealRequest, SigningKey};
use fieldseal_core::store::{DeviceStore, Enrolment, StorageKey};
use fieldseal_core::wire::envelope::Id16;

fn ms(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1000.0 / f64::from(n)
}

/// Runs `f` on a thread pinned to the first CPU; threads it starts inherit the pin, so the
/// figure is one core's.
fn on_one_core<T: Send>(f: impl FnOnce() -> T + Send) -> (T, bool) {
    std::thread::scope(|s| {
        s.spawn(|| {
            let pinned = core_affinity::get_core_ids()
                .and_then(|ids| ids.first().copied())
                .is_some_and(core_affinity::set_for_current);
            (f(), pinned)
        })
        .join()
        .expect("benchmark thread")
    })
}

/// Per ticket: photo pipeline, sealing alone, and the store step (validate, number, seal, one
/// SQLite transaction), over `tickets` tickets.
#[derive(Default)]
struct TicketTimes {
    pipeline: Duration,
    sealing: Duration,
    store: Duration,
    bytes: usize,
}

fn run_tickets(
    store: &mut DeviceStore,
    originals: &[Vec<u8>],
    tickets: u32,
    pipeline: &dyn Fn(&[Vec<u8>]) -> Vec<ProcessedPhoto>,
    enclave: &EnclaveSecretKey,
) -> TicketTimes {
    let device = SigningKey::make_random();
    let mut t = TicketTimes::default();
    for n in 0..tickets {
        let t0 = Instant::now();
        let processed = pipeline(originals);
        t.pipeline += t0.elapsed();
        t.bytes = processed.iter().map(|p| p.jpeg.len()).sum();

        // Sealing alone (HPKE + 3 blobs + signature), on the record bytes the store would build.
        let record = vec![b'x'; 1200];
        let photos: Vec<&[u8]> = processed.iter().map(|p| p.jpeg.as_slice()).collect();
        let t1 = Instant::now();
        let sealed = seal::seal(
            &SealRequest {
                envelope_id: Id16::make_random(),
                device_id: Id16([1; 16]),
                sequence: 1,
                prev_hash: [0; 32],
                record: &record,
                photos: &photos,
            },
            &enclave.public_key(),
            &device,
        )
        .expect("seals");
        t.sealing += t1.elapsed();
        black_box(sealed);

        let mut draft =
            demo::demo_draft(store.catalogue().expect("enrolled"), u64::from(n), "B-FS 1", &[], 1_790_000_000_000)
                .expect("draft");
        draft.photos = processed;
        let t2 = Instant::now();
        store.capture(draft).expect("captures");
        t.store += t2.elapsed();
    }
    t
}

fn main() {
    // cargo bench passes --bench; ignore arguments.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("fieldseal-core capture benchmark ({cpus} logical CPUs)");
    let originals: Vec<Vec<u8>> = (0..3).map(quality::twelve_megapixel_jpeg).collect();
    println!(
        "  input: 3 photos of 4242x2828 (12.0 MP), {:.1} MB JPEG in all",
        originals.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
    );
    let settings = PhotoSettings::default();

    let enclave = EnclaveSecretKey::make_random();
    let issuer = SigningKey::make_random();
    let dir = std::env::temp_dir().join(format!("fieldseal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut store = DeviceStore::open(&dir.join("device.sqlite3"), StorageKey::make_random()).expect("opens");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let (attestation, policy) =
        demo::simulated_attestation(&enclave.public_key(), [1; 32], &SigningKey::make_random(), now);
    store
        .enrol(
            Enrolment {
                device_id: Id16::make_random(),
                device_prefix: 1,
                attestation,
                catalogue: CatalogueBody::german_default().sign(&issuer),
                issuer_key: issuer.verifying_key(),
                payee: demo::demo_payee("https://portal.example"),
                receipt_key: SigningKey::make_random().verifying_key(),
            },
            SigningKey::make_random(),
            &policy,
            now,
        )
        .expect("enrols");

    // Where one photo's time goes, on one core, mean of a few runs.
    const RUNS: u32 = 4;
    let ((old, new), pinned) = on_one_core(|| {
        let (mut decode, mut resize, mut encode) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        for _ in 0..RUNS {
            let t = Instant::now();
            let img = reference::decode_upright(&originals[0], &settings).expect("decodes");
            decode += t.elapsed();
            let t = Instant::now();
            let small = photo::downscale(img.into_rgb8(), settings.long_edge).expect("resizes");
            resize += t.elapsed();
            let t = Instant::now();
            black_box(reference::encode(&small, settings.jpeg_quality).expect("encodes"));
            encode += t.elapsed();
        }
        let mut new = StageTimes::default();
        for _ in 0..RUNS {
            new += photo::process_timed(&originals[0], &settings).expect("processes").1;
        }
        ((decode, resize, encode), new)
    });
    println!("one 12 MP photo, ms, one core{}, mean of {RUNS}:", if pinned { "" } else { " (NOT pinned)" });
    println!("  stage                      previous        new");
    println!(
        "  decode                     {:8.1}   {:8.1}   (previous: full size + orient; new: reduced scale)",
        ms(old.0, RUNS),
        ms(new.decode, RUNS)
    );
    println!("  resize to 2048 (Lanczos3)  {:8.1}   {:8.1}", ms(old.1, RUNS), ms(new.resize, RUNS));
    println!(
        "  orient                     {:>8}   {:8.1}   (new: on the small image)",
        "in decode",
        ms(new.orient, RUNS)
    );
    println!("  encode                     {:8.1}   {:8.1}", ms(old.2, RUNS), ms(new.encode, RUNS));
    println!("  hash (SHA-256 in and out)  {:>8}   {:8.1}", "-", ms(new.hash, RUNS));

    // Per ticket: previous pipeline and new one on one core, new one on all cores.
    const OLD_TICKETS: u32 = 3;
    const TICKETS: u32 = 8;
    let sequential = |o: &[Vec<u8>]| o.iter().map(|b| photo::process(b, &settings).expect("processes")).collect();
    let previous = |o: &[Vec<u8>]| o.iter().map(|b| reference::process(b, &settings).expect("processes")).collect();
    let parallel = |o: &[Vec<u8>]| {
        let inputs: Vec<&[u8]> = o.iter().map(Vec::as_slice).collect();
        photo::process_all(&inputs, &settings).into_iter().map(|r| r.expect("processes")).collect()
    };
    let ((old_1, new_1), _) = on_one_core(|| {
        let old = run_tickets(&mut store, &originals, OLD_TICKETS, &previous, &enclave);
        let new = run_tickets(&mut store, &originals, TICKETS, &sequential, &enclave);
        (old, new)
    });
    let new_all = run_tickets(&mut store, &originals, TICKETS, &parallel, &enclave);
    println!("per ticket, 3 photos, ms (previous: mean of {OLD_TICKETS}; new: mean of {TICKETS}):");
    println!("                                   previous, 1 core   new, 1 core   new, {cpus} cores");
    let row = |label: &str, f: &dyn Fn(&TicketTimes) -> Duration| {
        println!(
            "  {label:<33}{:10.1}{:14.1}{:14.1}",
            ms(f(&old_1), OLD_TICKETS),
            ms(f(&new_1), TICKETS),
            ms(f(&new_all), TICKETS)
        );
    };
    row("photo pipeline", &|t| t.pipeline);
    row("sealing (HPKE, 3 blobs, Ed25519)", &|t| t.sealing);
    row("store step (seal + SQLite, FULL)", &|t| t.store);
    row("capture + seal (pipeline + store)", &|t| t.pipeline + t.store);
    println!("  bytes per ticket at 2048 px: previous {}, new {}", old_1.bytes, new_1.bytes);

    // Pictures: SSIM of each output against the careful reference.
    let mut min_ssim = (f64::MAX, f64::MAX);
    for (n, input) in originals.iter().enumerate() {
        let reference_rgb = quality::reference_rgb(input, &settings);
        let new = photo::process(input, &settings).expect("processes");
        let old = reference::process(input, &settings).expect("processes");
        let s = (quality::ssim(&reference_rgb, &old.jpeg), quality::ssim(&reference_rgb, &new.jpeg));
        println!("  photo {n}: SSIM previous {:.4}, new {:.4}", s.0, s.1);
        min_ssim = (min_ssim.0.min(s.0), min_ssim.1.min(s.1));
    }

    // 4 MB blob: sealing through the envelope vs raw ChaCha20-Poly1305, same buffer, same run.
    let device = SigningKey::make_random();
    let blob: Vec<u8> = (0..4 * 1024 * 1024).map(|i| (i * 31 % 251) as u8).collect();
    const ROUNDS: u32 = 40;
    let photos: [&[u8]; 1] = [&blob];
    let t3 = Instant::now();
    for i in 0..ROUNDS {
        let sealed = seal::seal(
            &SealRequest {
                envelope_id: Id16::make_random(),
                device_id: Id16([1; 16]),
                sequence: u64::from(i) + 2,
                prev_hash: [1; 32],
                record: b"{}",
                photos: &photos,
            },
            &enclave.public_key(),
            &device,
        )
        .expect("seals");
        black_box(sealed);
    }
    let t_env = t3.elapsed();
    let cipher = ChaCha20Poly1305::new(&Key::from([7u8; 32]));
    let mut buf = blob.clone();
    let t4 = Instant::now();
    for i in 0..ROUNDS {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&i.to_be_bytes());
        let tag = cipher.encrypt_inout_detached(&Nonce::from(nonce), b"", buf.as_mut_slice().into()).expect("encrypts");
        black_box(tag);
    }
    let t_raw = t4.elapsed();
    let t5 = Instant::now();
    for _ in 0..ROUNDS {
        black_box(fieldseal_core::seal::envelope_hash(&blob));
    }
    let t_sha = t5.elapsed();
    let mb = blob.len() as f64 * f64::from(ROUNDS) / 1e6;
    let (env_mbs, raw_mbs) = (mb / t_env.as_secs_f64(), mb / t_raw.as_secs_f64());
    println!("4 MB blob, {ROUNDS} rounds:");
    println!("  sealed as an envelope photo (copy + AEAD + SHA-256 + HPKE + sign): {env_mbs:8.1} MB/s");
    println!("  raw ChaCha20-Poly1305 in place (baseline):                       {raw_mbs:8.1} MB/s");
    println!(
        "  SHA-256 alone (the signed blob digest):                           {:8.1} MB/s",
        mb / t_sha.as_secs_f64()
    );
    println!("  ratio envelope / raw: {:.2}", env_mbs / raw_mbs);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "previous pipeline: {:.1} ms per ticket on 1 core; {} bytes per ticket; min SSIM {:.4}",
        ms(old_1.pipeline + old_1.store, OLD_TICKETS),
        old_1.bytes,
        min_ssim.0
    );
    println!(
        "capture+seal per ticket: {:.1} ms on 1 core, {:.1} ms on all cores; {} bytes per ticket; min SSIM {:.4}",
        ms(new_1.pipeline + new_1.store, TICKETS),
        ms(new_all.pipeline + new_all.store, TICKETS),
        new_1.bytes,
        min_ssim.1
    );
}
