//! `event` (§4.2): a change the bridge applied.

use super::change::Change;
use super::fields::Fields;
use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::topic;
use crate::value::{Document, Value};

/// An applied change of one object, from version `prev` to `version` (= `prev + 1`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The object's version before the change.
    pub prev: u64,
    /// The object's version after the change.
    pub version: u64,
    /// Who asked for the change.
    pub client: String,
    /// With which request.
    pub rid: String,
    /// The bridge's clock when it applied the change, in ms since the Unix epoch.
    pub at: Option<u64>,
    /// The change.
    pub change: Change,
}

impl Event {
    pub(crate) fn from_map(map: Document, limits: &Limits) -> Result<Event> {
        let mut f = Fields::new(map);
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let id = f.id("id")?;
        let prev = f.version("prev")?;
        let version = f.version("version")?;
        if version != prev + 1 {
            return Err(Violation::malformed(format!("version {version} does not follow prev {prev}")).at("version"));
        }
        let client = f.string("client")?;
        topic::check_client(&client)?;
        let rid = f.string("rid")?;
        topic::check_token("rid", &rid)?;
        let at = f.opt_u64("at")?;
        let change = Change::read(&mut f, &id, true, limits)?;
        f.finish()?;
        Ok(Event { collection, id, prev, version, client, rid, at, change })
    }

    /// The event as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "event".into());
        m.insert("collection".into(), self.collection.clone().into());
        m.insert("id".into(), self.id.to_value());
        m.insert("prev".into(), self.prev.into());
        m.insert("version".into(), self.version.into());
        m.insert("client".into(), self.client.clone().into());
        m.insert("rid".into(), self.rid.clone().into());
        if let Some(at) = self.at {
            m.insert("at".into(), at.into());
        }
        self.change.write(&mut m);
        Value::Object(m)
    }
}
