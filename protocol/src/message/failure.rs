//! `failure` (§4.4) and its answer, `replay` (§4.5).

use super::event::Event;
use super::fields::Fields;
use super::snapshot::ObjectState;
use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::topic;
use crate::value::{Document, Value};

/// A consumer's negative acknowledgement: its copy of the object is at `version` and it saw an
/// event that does not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The consumer's version of the object.
    pub version: u64,
}

impl Failure {
    pub(crate) fn from_map(map: Document) -> Result<Failure> {
        let mut f = Fields::new(map);
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let id = f.id("id")?;
        let version = f.version("version")?;
        f.finish()?;
        Ok(Failure { collection, id, version })
    }

    /// The failure as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "failure".into());
        m.insert("collection".into(), self.collection.clone().into());
        m.insert("id".into(), self.id.to_value());
        m.insert("version".into(), self.version.into());
        Value::Object(m)
    }
}

/// What a replay brings.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayBody {
    /// The missing events, in version order (never empty).
    Events(Vec<Event>),
    /// The object's current state, when the history does not reach back.
    Snapshot(ObjectState),
}

/// The answer to a failure.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The failure's version.
    pub from: u64,
    /// Events or a snapshot.
    pub body: ReplayBody,
}

impl Replay {
    pub(crate) fn from_map(map: Document, limits: &Limits) -> Result<Replay> {
        let mut f = Fields::new(map);
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let id = f.id("id")?;
        let from = f.version("from")?;
        let body = match (f.has("events"), f.has("snapshot")) {
            (true, false) => {
                let events = f
                    .array("events")?
                    .into_iter()
                    .map(|v| match v {
                        Value::Object(m) if m.get("type") == Some(&Value::from("event")) => Event::from_map(m, limits),
                        _ => Err(Violation::malformed("replay.events holds something other than events").at("events")),
                    })
                    .collect::<Result<Vec<_>>>()?;
                if events.is_empty() {
                    return Err(Violation::malformed("replay.events is empty").at("events"));
                }
                if events.iter().any(|e| e.collection != collection || e.id != id) {
                    return Err(Violation::malformed("replay.events holds events of another object").at("events"));
                }
                ReplayBody::Events(events)
            }
            (false, true) => {
                let state = ObjectState::read(f.value("snapshot")?, limits)?;
                if state.id != id {
                    return Err(Violation::malformed("replay.snapshot is of another object").at("snapshot"));
                }
                ReplayBody::Snapshot(state)
            }
            _ => return Err(Violation::malformed("a replay has exactly one of \"events\" and \"snapshot\"")),
        };
        f.finish()?;
        Ok(Replay { collection, id, from, body })
    }

    /// The replay as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "replay".into());
        m.insert("collection".into(), self.collection.clone().into());
        m.insert("id".into(), self.id.to_value());
        m.insert("from".into(), self.from.into());
        match &self.body {
            ReplayBody::Events(events) => {
                m.insert("events".into(), Value::Array(events.iter().map(Event::to_value).collect()));
            }
            ReplayBody::Snapshot(state) => {
                m.insert("snapshot".into(), state.to_value());
            }
        }
        Value::Object(m)
    }
}
