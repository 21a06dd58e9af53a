//! Wire types shared by device, server and enclave: the envelope layout and the sealed record.

pub mod envelope;
pub mod record;
