#![no_main]
//! The zone-host store line (`fieldseal_portal::remote`, with the portal's and the office's
//! messages) on arbitrary payloads: neither side's reader panics, and whatever one reads,
//! written again, reads back the same.
use fieldseal_office::store::{OfficeAnswer, OfficeAsk};
use fieldseal_portal::remote::{Answer, Ask, decode, encode};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: serde::Serialize + for<'de> serde::Deserialize<'de>>(data: &[u8]) {
    if let Ok((message, parts)) = decode::<T>(data) {
        let again = encode(&message, &parts);
        let (_, parts_again) = decode::<T>(&again).expect("a message written reads back");
        assert_eq!(parts, parts_again);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Ask>(data);
    round_trip::<Answer>(data);
    round_trip::<OfficeAsk>(data);
    round_trip::<OfficeAnswer>(data);
});
