#![no_main]
//! The enclave's whole request path on arbitrary payloads: it always answers with a valid
//! response frame and never panics; both message parsers never panic either.
use std::sync::OnceLock;

use fieldseal_core::seal::EnclaveSecretKey;
use fieldseal_core::wire::enclave::{Request, Response};
use fieldseal_enclave::handler::Enclave;
use fieldseal_enclave::platform::SimulatedPlatform;
use libfuzzer_sys::fuzz_target;

fn enclave() -> &'static Enclave<SimulatedPlatform> {
    static E: OnceLock<Enclave<SimulatedPlatform>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fieldseal-fuzz-enclave-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let platform = SimulatedPlatform::load_or_create(&dir, [1; 32]).expect("platform");
        Enclave::new(Box::new(EnclaveSecretKey::from_bytes(&[7; 32]).expect("key")), platform)
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Request::from_payload(data);
    let _ = Response::from_payload(data);
    let answer = enclave().handle(data, 1_795_000_000_000);
    Response::from_payload(&answer).expect("the enclave always answers within the protocol");
});
