#![no_main]
//! Envelope layout parser and signature check on arbitrary bytes: never panics, never over-reads.
use fieldseal_core::seal::{self, VerifyingKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = fieldseal_core::wire::envelope::parse(data) {
        assert_eq!(view.header.to_bytes(), view.header_bytes, "header re-serialises to the bytes it came from");
    }
    let _ = seal::verify(data, &VerifyingKey([9; 32]));
});
