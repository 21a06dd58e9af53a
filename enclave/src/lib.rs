//! enclave
