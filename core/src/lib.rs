#![doc = include_str!("../README.md")]

pub mod attestation;
pub mod authority;
pub mod capture;
pub mod catalogue;
pub mod demo;
pub mod domain;
mod hazmat;
pub mod notice;
pub mod objection;
pub mod payer;
pub mod photo;
pub mod policy;
pub mod seal;
pub mod store;
mod store_integrity;
pub mod sync;
pub mod ticket;
pub mod vault;
pub mod wire;
