#![no_main]
//! The enclave's strict record parser on arbitrary bytes.
use fieldseal_core::wire::envelope::{EnvelopeHeader, Id16};
use fieldseal_core::wire::record::CaseRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = EnvelopeHeader {
        envelope_id: Id16([1; 16]),
        device_id: Id16([2; 16]),
        sequence: 1,
        prev_hash: [0; 32],
        enc: [0; 32],
        record_len: 16,
        photos: vec![],
    };
    if let Ok(r) = CaseRecord::from_bytes(data, &header) {
        let again = CaseRecord::from_bytes(&r.to_bytes(), &header).expect("an accepted record round-trips");
        assert_eq!(again, r);
    }
});
