#![no_main]
//! The photo pipeline on arbitrary bytes, with small limits so each run stays fast.
use fieldseal_core::photo::{self, PhotoSettings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings = PhotoSettings {
        max_input_bytes: 1 << 20,
        max_dimension: 2000,
        max_megapixels: 2,
        max_alloc_bytes: 64 << 20,
        long_edge: 256,
        jpeg_quality: 75,
    };
    if let Ok(p) = photo::process(data, &settings) {
        assert!(p.width <= 256 && p.height <= 256);
    }
});
