#![no_main]
//! Photo blob parser and header check on arbitrary bytes.
use fieldseal_core::seal;
use fieldseal_core::wire::envelope::{EnvelopeHeader, Id16, PhotoEntry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fieldseal_core::wire::envelope::parse_blob(data);
    let header = EnvelopeHeader {
        envelope_id: Id16([1; 16]),
        device_id: Id16([2; 16]),
        sequence: 1,
        prev_hash: [0; 32],
        enc: [0; 32],
        record_len: 16,
        photos: vec![PhotoEntry { sealed_len: data.len() as u32, sha256: [0; 32] }],
    };
    let _ = seal::check_blob(&header, 0, data);
});
