#![doc = include_str!("../README.md")]

mod hazmat;
pub mod seal;
pub mod wire;
pub mod catalogue;
pub mod domain;
pub mod ticket;
pub mod photo;
pub mod notice;
pub mod capture;
pub mod store;
pub mod demo;
