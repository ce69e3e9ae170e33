//! The seven messages of §4, parsed strictly from payloads and encoded to JSON.
//!
//! [`Message::parse`] checks the size, the JSON, the fields (unknown fields are `malformed`), the
//! name rules, and the documents and updates they carry. Every error is a [`Violation`] whose
//! code is the reject code of §13.2.

mod change;
mod event;
mod failure;
mod fields;
mod reject;
mod request;
mod snapshot;
mod strict;

pub use change::{document_with_id, stored_document, Change};
pub use event::Event;
pub use failure::{Failure, Replay, ReplayBody};
pub use reject::Reject;
pub use request::{Policy, Request};
pub use snapshot::{Load, LoadScope, ObjectState, ObjectVersion, Snapshot};

use crate::error::{Result, Violation};
use crate::limits::Limits;
use crate::value::Value;

/// Any protocol message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `request`
    Request(Request),
    /// `event`
    Event(Event),
    /// `reject`
    Reject(Reject),
    /// `failure`
    Failure(Failure),
    /// `replay`
    Replay(Replay),
    /// `load`
    Load(Load),
    /// `snapshot`
    Snapshot(Snapshot),
}

/// The `type` names of the seven messages.
pub const MESSAGE_TYPES: [&str; 7] = ["request", "event", "reject", "failure", "replay", "load", "snapshot"];

impl Message {
    /// Parses and validates one payload.
    pub fn parse(payload: &[u8], limits: &Limits) -> Result<Message> {
        let map = fields::object(payload, limits)?;
        Self::from_map(map, limits)
    }

    /// Validates one message given as a JSON value.
    pub fn from_value(value: Value, limits: &Limits) -> Result<Message> {
        match value {
            Value::Object(map) => Self::from_map(map, limits),
            _ => Err(Violation::malformed("a message is a JSON object")),
        }
    }

    fn from_map(map: crate::value::Document, limits: &Limits) -> Result<Message> {
        let kind = match map.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => return Err(Violation::malformed("field \"type\" must be a string").at("type")),
            None => return Err(Violation::malformed("missing field \"type\"").at("type")),
        };
        Ok(match kind.as_str() {
            "request" => Message::Request(Request::from_map(map, limits)?),
            "event" => Message::Event(Event::from_map(map, limits)?),
            "reject" => Message::Reject(Reject::from_map(map)?),
            "failure" => Message::Failure(Failure::from_map(map)?),
            "replay" => Message::Replay(Replay::from_map(map, limits)?),
            "load" => Message::Load(Load::from_map(map)?),
            "snapshot" => Message::Snapshot(Snapshot::from_map(map, limits)?),
            other => return Err(Violation::malformed(format!("unknown message type {other:?}")).at("type")),
        })
    }

    /// The message as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Message::Request(m) => m.to_value(),
            Message::Event(m) => m.to_value(),
            Message::Reject(m) => m.to_value(),
            Message::Failure(m) => m.to_value(),
            Message::Replay(m) => m.to_value(),
            Message::Load(m) => m.to_value(),
            Message::Snapshot(m) => m.to_value(),
        }
    }

    /// The message as a compact JSON payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Cannot fail (a Value's keys are strings); not `expect`, which would link the formatting
        // of serde_json's errors.
        serde_json::to_vec(&self.to_value()).unwrap_or_default()
    }

    /// The message's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Request(_) => "request",
            Message::Event(_) => "event",
            Message::Reject(_) => "reject",
            Message::Failure(_) => "failure",
            Message::Replay(_) => "replay",
            Message::Load(_) => "load",
            Message::Snapshot(_) => "snapshot",
        }
    }
}
