//! Hostile images fail fast with bounded memory: a counting allocator records the peak heap
//! while the pipeline runs on each one, alone and in parallel, and while real 12-MP photos are
//! processed in parallel under the process-wide decode budget. One test function, so nothing
//! else allocates meanwhile.

mod common;
#[path = "common/quality.rs"]
mod quality;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::sample_photo;
use fieldseal_core::demo;
use fieldseal_core::photo::{self, PhotoError, PhotoSettings};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: delegates every call unchanged to the system allocator; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: ptr came from System.alloc with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak extra heap (MiB) and time while `f` runs.
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let t = Instant::now();
    let out = f();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let peak = (PEAK.load(Ordering::SeqCst) - base) as f64 / (1024.0 * 1024.0);
    (out, peak, ms)
}

/// A few hundred bytes whose header claims a progressive JPEG of 8000 x 6000 (48 MP, under the
/// pixel limit): its coefficients alone would take 144 MB before the first scan is read.
fn progressive_header_claiming_48_mp() -> Vec<u8> {
    let mut jpeg = sample_photo("Portrait_1.jpg");
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("baseline SOF");
    jpeg[sof + 1] = 0xC2;
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x17, 0x70, 0x1F, 0x40]);
    jpeg
}

#[test]
fn hostile_images_fail_fast_with_bounded_memory() {
    let settings = PhotoSettings::default();
    let rgba16 = sample_photo("bad/black-7000x7000-rgba16.png");
    println!(
        "7000x7000 16-bit RGBA PNG: {} KB on the wire, {} MB decoded",
        rgba16.len() / 1000,
        7000 * 7000 * 8 / 1_000_000
    );
    assert!(rgba16.len() < 1_000_000, "a few hundred kilobytes");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PNG zTXt decompression bomb", sample_photo("bad/png_decompression_dos.png")),
        ("truncated progressive JPEG", sample_photo("bad/truncated_jpeg.jpg")),
        ("PNG claiming 60000x60000", demo::pixel_bomb_png(60_000, 60_000)),
        ("PNG claiming 12000x12000 (144 MP)", demo::pixel_bomb_png(12_000, 12_000)),
        ("PNG 7000x7000 16-bit RGBA (49 MP, 392 MB decoded)", rgba16.clone()),
        ("progressive JPEG header claiming 8000x6000", progressive_header_claiming_48_mp()),
    ];
    for (name, bytes) in &cases {
        let (result, peak_mib, ms) = measure(|| photo::process(bytes, &settings));
        println!(
            "{name}: {:?} in {ms:.1} ms, peak heap {peak_mib:.2} MiB",
            result.as_ref().map(|p| (p.width, p.height))
        );
        assert!(peak_mib < 16.0, "{name}: peak heap {peak_mib:.1} MiB is not bounded");
        if name.starts_with("PNG claiming") {
            assert!(
                matches!(result, Err(PhotoError::TooManyPixels { .. } | PhotoError::DimensionsOverLimit { .. })),
                "{name}: {result:?}"
            );
        }
        if name.contains("49 MP") || name.contains("8000x6000") {
            assert_eq!(result.as_ref().err(), Some(&PhotoError::MemoryLimit), "{name}: refused from its header");
        }
    }

    // The same hostile files four at a time, on parallel threads: still a tiny peak.
    let hostile: Vec<&[u8]> = cases.iter().flat_map(|(_, b)| [b.as_slice(), b.as_slice()]).collect();
    let (results, peak_mib, ms) = measure(|| photo::process_all(&hostile, &settings));
    println!("{} hostile images in parallel: {ms:.1} ms, peak heap {peak_mib:.2} MiB", hostile.len());
    assert!(results.iter().filter(|r| r.is_err()).count() >= hostile.len() - 2, "all refused but the zTXt bomb");
    assert!(peak_mib < 16.0, "hostile images in parallel: peak heap {peak_mib:.1} MiB is not bounded");

    // Real 12-MP photos, four at once, first with the default budget, then with a budget that
    // holds about one photo: all succeed, and the peak stays under the budget (plus the inputs'
    // results and the threads' small change), because decodes wait for each other.
    let inputs: Vec<Vec<u8>> = (0..4).map(quality::twelve_megapixel_jpeg).collect();
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    for budget in [photo::DEFAULT_DECODE_BUDGET_BYTES, 64 << 20] {
        photo::set_decode_budget_bytes(budget);
        let threads = refs.len();
        let (results, peak_mib, ms) = measure(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = refs.iter().map(|input| s.spawn(|| photo::process(input, &settings))).collect();
                handles.into_iter().map(|h| h.join().expect("no panic")).collect::<Vec<_>>()
            })
        });
        let budget_mib = budget as f64 / (1024.0 * 1024.0);
        println!("{threads} 12-MP photos at once, budget {budget_mib:.0} MiB: {ms:.0} ms, peak heap {peak_mib:.1} MiB");
        assert!(results.iter().all(Result::is_ok), "every photo processed: {results:?}");
        assert!(peak_mib < budget_mib + 8.0, "peak {peak_mib:.1} MiB over the budget of {budget_mib:.0} MiB");
        // The same photos as one ticket's: decodes that would wait give way to finishing a
        // decoded photo (at 64 MiB a second photo does not fit beside the first), and the
        // pictures come out exactly as processed one by one.
        let (together, peak_mib, ms) = measure(|| photo::process_all(&refs, &settings));
        println!(
            "{threads} 12-MP photos as one ticket, budget {budget_mib:.0} MiB: {ms:.0} ms, peak heap {peak_mib:.1} MiB"
        );
        assert!(peak_mib < budget_mib + 8.0, "peak {peak_mib:.1} MiB over the budget of {budget_mib:.0} MiB");
        for (one, all) in results.iter().zip(&together) {
            let (one, all) = (one.as_ref().expect("processed"), all.as_ref().expect("processed in the ticket"));
            assert_eq!(one.sha256_processed, all.sha256_processed, "same picture either way");
        }
    }
    photo::set_decode_budget_bytes(photo::DEFAULT_DECODE_BUDGET_BYTES);
    // For scale: a real 1800x1200 photo needs its pixels once or twice, well under the cap.
    let (ok, peak_mib, ms) = measure(|| photo::process(&sample_photo("Portrait_5.jpg"), &settings));
    println!(
        "real 1800x1200 photo: {:?} in {ms:.1} ms, peak heap {peak_mib:.1} MiB",
        ok.as_ref().map(|p| (p.width, p.height))
    );
    assert!(ok.is_ok() && peak_mib < f64::from(u32::try_from(settings.max_alloc_bytes >> 20).expect("small")));
}
