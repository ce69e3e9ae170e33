//! # vmm-bridge
//!
//! The bridge role of `docs/PROTOCOL.md`: the only writer to MongoDB and the publisher of every
//! event. This crate is a skeleton; it is built out in the bridge issue. The protocol decisions
//! it will make already exist in [`vmm_protocol::decide`] and [`vmm_protocol::replay`].
#![warn(missing_docs)]

pub use vmm_protocol;
