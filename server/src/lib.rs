#![doc = include_str!("../README.md")]

pub mod admin;
pub mod api;
pub mod authority;
pub mod blobs;
pub mod db;
pub mod demo;
pub mod enclave_client;
pub mod office_store;
pub mod portal;
pub mod relay;
pub mod serve;
pub mod settings;
pub mod web_relay;
pub mod zone_store;
