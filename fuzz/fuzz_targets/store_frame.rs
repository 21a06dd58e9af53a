#![no_main]
//! The zone-host store line (`fieldseal_portal::remote`) on arbitrary payloads: neither side's
//! reader panics, and whatever one reads, written again, reads back the same.
use fieldseal_portal::remote::{Answer, Ask, decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((ask, parts)) = decode::<Ask>(data) {
        let again = encode(&ask, &parts);
        let (_, parts_again) = decode::<Ask>(&again).expect("a message written reads back");
        assert_eq!(parts, parts_again);
    }
    if let Ok((answer, parts)) = decode::<Answer>(data) {
        let again = encode(&answer, &parts);
        let (_, parts_again) = decode::<Answer>(&again).expect("a message written reads back");
        assert_eq!(parts, parts_again);
    }
});
