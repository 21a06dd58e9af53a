#![doc = include_str!("../README.md")]

pub mod handler;
pub mod keys;
pub mod platform;
pub mod sandbox;
pub mod serve;
