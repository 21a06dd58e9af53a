#![doc = include_str!("../README.md")]

mod hazmat;
pub mod seal;
pub mod wire;
