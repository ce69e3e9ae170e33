//! # vmm-client
//!
//! The browser side of vmm: a wasm-pack package that speaks MQTT over WebSockets and exposes
//! the optimistic store of [`vmm_protocol::replica`] to Vue. This crate is a skeleton; it is
//! built out in the browser client issue.
#![warn(missing_docs)]

pub use vmm_protocol;
