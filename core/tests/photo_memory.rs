//! Hostile images fail fast with bounded memory: a counting allocator records the peak heap
//! while the pipeline runs on each one. One test function, so nothing else allocates meanwhile.

mod common;

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

#[test]
fn hostile_images_fail_fast_with_bounded_memory() {
    let settings = PhotoSettings::default();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PNG zTXt decompression bomb", sample_photo("bad/png_decompression_dos.png")),
        ("truncated progressive JPEG", sample_photo("bad/truncated_jpeg.jpg")),
        ("PNG claiming 60000x60000", demo::pixel_bomb_png(60_000, 60_000)),
        ("PNG claiming 12000x12000 (144 MP)", demo::pixel_bomb_png(12_000, 12_000)),
    ];
    for (name, bytes) in &cases {
        let (result, peak_mib, ms) = measure(|| photo::process(bytes, &settings));
        println!(
            "{name}: {:?} in {ms:.1} ms, peak heap {peak_mib:.2} MiB",
            result.as_ref().map(|p| (p.width, p.height))
        );
        assert!(peak_mib < 16.0, "{name}: peak heap {peak_mib:.1} MiB is not bounded");
        if name.contains("claiming") {
            assert!(
                matches!(result, Err(PhotoError::TooManyPixels { .. } | PhotoError::DimensionsOverLimit { .. })),
                "{name}: {result:?}"
            );
        }
    }
    // For scale: a real 1800x1200 photo needs its pixels once or twice, well under the cap.
    let (ok, peak_mib, ms) = measure(|| photo::process(&sample_photo("Portrait_5.jpg"), &settings));
    println!(
        "real 1800x1200 photo: {:?} in {ms:.1} ms, peak heap {peak_mib:.1} MiB",
        ok.as_ref().map(|p| (p.width, p.height))
    );
    assert!(ok.is_ok() && peak_mib < f64::from(u32::try_from(settings.max_alloc_bytes >> 20).expect("small")));
}
