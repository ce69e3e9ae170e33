//! # vmm-protocol
//!
//! The vmm protocol as code: the message types, topics, values and the update language, and the
//! two roles every implementation shares — the consumer's [`replica`] and the [`bridge`] (its
//! pure decision in [`decide`] and [`replay`], its request lifecycle over a storage interface). The normative text is `docs/PROTOCOL.md`; section numbers (§) below refer to it.
//!
//! This crate does no IO. It reads no clock and opens no socket: callers pass the time in, hand
//! it the messages they received and send the messages it returns; the bridge role reads and
//! writes through a storage trait its shell implements. The bridge (tokio, rumqttc, mongodb) and
//! the browser client (wasm-bindgen) are thin shells around it.
//!
//! ## Layout
//!
//! | module | job |
//! |---|---|
//! | [`error`] | reject [`Code`]s and the [`Violation`] every check returns |
//! | [`limits`] | payload, document and depth limits (§13.1) |
//! | [`value`] | Extended JSON values: canonical form, validation, equality (§3) |
//! | [`id`] | object ids and their id keys (§3.3) |
//! | [`topic`] | building and parsing topics (§2.2) |
//! | [`update`] | the update language: paths, operators, applying them (§7) |
//! | [`message`] | the seven messages, parsed and validated from payloads, and encoded (§4) |
//! | [`decide`] | the bridge's decision for a request given the stored object (§6.2, §8) |
//! | [`replay`] | the bridge's answer to a failure: events or a snapshot (§11) |
//! | [`replica`] | the consumer's replica: confirmed state, pending overlay, gaps, loads (§5, §6, §11, §12) |
//! | [`bridge`] | the bridge role over a [`bridge::Storage`]: requests, failures, loads; an in-memory storage (§6.2, §9–§12, §15) |
#![warn(missing_docs)]

pub mod bridge;
pub mod decide;
pub mod error;
pub mod id;
pub mod limits;
pub mod message;
pub mod replay;
pub mod replica;
pub mod topic;
pub mod update;
pub mod value;

pub use error::{Code, Result, Violation};
pub use id::Id;
pub use limits::Limits;
pub use value::{Document, Value};

/// The protocol version this crate implements, as it appears in topics.
pub const PROTOCOL_VERSION: &str = "v1";
