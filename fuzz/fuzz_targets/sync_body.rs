#![no_main]
//! The server's sync batch parser and everything it reads per envelope, and the client's
//! parsers of the server's answers: never panic on arbitrary bytes.
use fieldseal_core::wire::relay::{BlobStatus, Receipt, SyncResponse, decode_batch, encode_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(envelopes) = decode_batch(data) {
        assert_eq!(encode_batch(&envelopes), data, "a batch re-encodes to its bytes");
        for e in envelopes {
            let _ = fieldseal_core::wire::envelope::parse(e);
        }
    }
    let _ = serde_json::from_slice::<SyncResponse>(data);
    let _ = serde_json::from_slice::<BlobStatus>(data);
    let _ = serde_json::from_slice::<Receipt>(data);
});
