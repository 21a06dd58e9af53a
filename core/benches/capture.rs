//! Capture + seal figures, printed; run by hand: `cargo bench -p fieldseal-core --bench capture`.
//!
//! * ms per ticket with three 12-megapixel JPEG photos: photo pipeline, sealing, and the store
//!   transaction, each shown apart;
//! * MB/s of sealing one 4 MB blob, beside raw ChaCha20-Poly1305 on the same buffer in the same
//!   run (the baseline), as a ratio.

use std::hint::black_box;
use std::io::Cursor;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use fieldseal_core::catalogue::CatalogueBody;
use fieldseal_core::demo;
use fieldseal_core::photo::{self, PhotoSettings};
use fieldseal_core::seal::{self, EnclaveSecretKey, SealRequest, SigningKey};
use fieldseal_core::store::{DeviceStore, Enrolment, StorageKey};
use fieldseal_core::wire::envelope::Id16;

fn twelve_megapixel_jpeg(seed: u64) -> Vec<u8> {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/samples/photos/Portrait_5.jpg");
    let base = match std::fs::read(&shared) {
        Ok(bytes) => image::load_from_memory(&bytes).expect("sample decodes"),
        Err(_) => image::load_from_memory(&demo::street_photo(seed, 1800, 1200)).expect("synthetic decodes"),
    };
    // 4242 x 2828 = 12.0 MP, re-encoded as a camera would.
    let big = base.resize_exact(4242, 2828, image::imageops::FilterType::Triangle).into_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 92).encode_image(&big).expect("encodes");
    out
}

fn ms(d: Duration, n: u32) -> f64 {
    d.as_secs_f64() * 1000.0 / f64::from(n)
}

fn main() {
    // cargo bench passes --bench; ignore arguments.
    println!(
        "fieldseal-core capture benchmark ({} logical CPUs)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let originals: Vec<Vec<u8>> = (0..3).map(twelve_megapixel_jpeg).collect();
    println!(
        "  input: 3 photos of 4242x2828 (12.0 MP), {:.1} MB JPEG in all",
        originals.iter().map(Vec::len).sum::<usize>() as f64 / 1e6
    );

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

    // Where the pipeline's time goes, for one photo.
    {
        let settings = PhotoSettings::default();
        let t = Instant::now();
        let img = photo::decode_upright(&originals[0], &settings).expect("decodes");
        let decode = t.elapsed();
        let t = Instant::now();
        let small = photo::downscale(img.to_rgb8(), 2048).expect("resizes");
        let resize = t.elapsed();
        let t = Instant::now();
        let baseline = img.resize_exact(small.width(), small.height(), image::imageops::FilterType::Triangle);
        let resize_image_crate = t.elapsed();
        let t = Instant::now();
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut out), 85)
            .encode_image(&small)
            .expect("encodes");
        let encode = t.elapsed();
        black_box((baseline, out));
        println!(
            "one 12 MP photo: decode+orient {:.0} ms, downscale {:.0} ms (image crate's Triangle, for comparison: {:.0} ms), encode {:.0} ms",
            ms(decode, 1),
            ms(resize, 1),
            ms(resize_image_crate, 1),
            ms(encode, 1)
        );
    }

    const TICKETS: u32 = 8;
    let (mut t_pipeline, mut t_seal, mut t_store) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let device = SigningKey::make_random();
    for n in 0..TICKETS {
        let t0 = Instant::now();
        let processed: Vec<_> =
            originals.iter().map(|o| photo::process(o, &PhotoSettings::default()).expect("processes")).collect();
        t_pipeline += t0.elapsed();
        let sizes: Vec<usize> = processed.iter().map(|p| p.jpeg.len()).collect();

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
        t_seal += t1.elapsed();
        black_box(sealed);

        // The whole store step: validate, number, seal, one SQLite transaction with fsync.
        let mut draft =
            demo::demo_draft(store.catalogue().expect("enrolled"), u64::from(n), "B-FS 1", &[], 1_790_000_000_000)
                .expect("draft");
        draft.photos = processed;
        let t2 = Instant::now();
        store.capture(draft).expect("captures");
        t_store += t2.elapsed();
        if n == 0 {
            println!("  output: {:?} bytes per photo (2048 px long edge)", sizes);
        }
    }
    let pipeline = ms(t_pipeline, TICKETS);
    let sealing = ms(t_seal, TICKETS);
    let storing = ms(t_store, TICKETS);
    println!("per ticket, 3 photos, mean of {TICKETS}:");
    println!("  photo pipeline (decode, orient, downscale, re-encode, hash): {pipeline:8.1} ms");
    println!("  sealing (HPKE record + 3 photo blobs + Ed25519):              {sealing:8.2} ms");
    println!("  store step (seal + SQLite transaction, synchronous=FULL):     {storing:8.2} ms");
    println!("  capture + seal total (pipeline + store step):                 {:8.1} ms", pipeline + storing);

    // 4 MB blob: sealing through the envelope vs raw ChaCha20-Poly1305, same buffer, same run.
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
}
