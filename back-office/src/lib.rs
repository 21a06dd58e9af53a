//! The back office's logic, free of storage and web: ISO 20022 bank statements (camt.053,
//! camt.054), finding ticket numbers in remittance information, deadline policies, clerk
//! credentials (Argon2id, TOTP) and the hash-chained audit log. The server stores and serves;
//! everything that decides is here and tested here.

pub mod audit;
pub mod auth;
pub mod camt;
pub use fieldseal_core::policy;
pub mod rebooking;
pub mod reference;
pub mod store;
pub mod web;
