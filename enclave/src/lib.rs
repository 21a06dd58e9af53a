//! fieldseal-enclave: the isolated worker that holds the enclave's private key and opens
//! envelopes (`fieldseal_core::seal::open`). The process, its protocol and isolation arrive with
//! the enclave and relay issue.
