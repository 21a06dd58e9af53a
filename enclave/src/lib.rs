#![doc = include_str!("../README.md")]

pub mod handler;
pub mod host_link;
pub mod keys;
pub mod office;
pub mod pages;
pub mod platform;
pub mod portal;
pub mod sandbox;
pub mod serve;
pub mod tls;
pub mod web;
