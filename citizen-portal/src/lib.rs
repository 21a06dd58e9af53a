//! fieldseal-portal: the citizen web pages, mounted by the server at `/`, and the payment
//! side: the provider adapter interface and a sandbox provider that runs as its own process.
//!
//! The portal holds no database and no key. It asks the server's [`backend::Backend`] for the
//! non-personal case index and ledger, and for the enclave's release of a case to the citizen
//! who holds its access code — for one request at a time.

pub mod backend;
pub mod pay;
pub mod qr;
pub mod remote;
pub mod sandbox;
pub mod web;

pub use backend::Backend;
pub use web::{Portal, PortalConfig, router};
