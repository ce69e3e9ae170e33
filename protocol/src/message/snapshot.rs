//! `load` (§4.6) and its answer, `snapshot` (§4.7).

use super::change::stored_document;
use super::fields::Fields;
use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::topic;
use crate::value::{Document, Value};

/// One object's state: its version and its document (`None`: deleted, or never existed at
/// version 0).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectState {
    /// The object.
    pub id: Id,
    /// Its version.
    pub version: u64,
    /// Its document, `_id` first.
    pub doc: Option<Document>,
}

impl ObjectState {
    pub(crate) fn read(value: Value, limits: &Limits) -> Result<ObjectState> {
        let Value::Object(map) = value else {
            return Err(Violation::malformed("an object state is a JSON object"));
        };
        let mut f = Fields::new(map);
        let id = f.id("id")?;
        let version = f.version("version")?;
        let doc = match f.value("doc")? {
            Value::Null => None,
            doc => Some(stored_document(doc, &id, limits)?),
        };
        if version == 0 && doc.is_some() {
            return Err(Violation::malformed("an object at version 0 has no document").at("doc"));
        }
        f.finish()?;
        Ok(ObjectState { id, version, doc })
    }

    /// The state as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("id".into(), self.id.to_value());
        m.insert("version".into(), self.version.into());
        m.insert("doc".into(), self.doc.clone().map_or(Value::Null, Value::Object));
        Value::Object(m)
    }
}

/// What a load asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadScope {
    /// The whole collection, from the start or after a cursor.
    Collection {
        /// The `next` cursor of the previous page.
        after: Option<String>,
    },
    /// These objects only, from the position a cursor names (the first without one): a page
    /// stops before it would exceed the payload limit, and its `next` names where the next one
    /// starts.
    Ids {
        /// The objects, in the order their states are sent.
        ids: Vec<Id>,
        /// The `next` cursor of the previous page of this load.
        after: Option<String>,
    },
}

/// A consumer's request for the current state of a collection or of some objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// The load id.
    pub lid: String,
    /// The collection.
    pub collection: String,
    /// Whole collection or some ids.
    pub scope: LoadScope,
    /// At most this many objects per page.
    pub limit: Option<u32>,
}

impl Load {
    pub(crate) fn from_map(map: Document) -> Result<Load> {
        let mut f = Fields::new(map);
        let lid = f.string("lid")?;
        topic::check_token("lid", &lid)?;
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let after = f.opt_string("after")?;
        if let Some(a) = &after {
            check_cursor(a, "after")?;
        }
        let ids = if f.has("ids") {
            let raw = f.array("ids")?;
            if raw.is_empty() || raw.len() > Limits::MAX_LOAD_IDS {
                return Err(Violation::malformed("\"ids\" holds 1 to 100 ids").at("ids"));
            }
            Some(
                raw.iter()
                    .map(Id::from_value)
                    .collect::<Result<Vec<_>>>()
                    .map_err(|e| Violation::malformed(e.message()).at("ids"))?,
            )
        } else {
            None
        };
        let limit = match f.opt_u64("limit")? {
            None => None,
            Some(n) if (1..=u64::from(Limits::MAX_LOAD_LIMIT)).contains(&n) => Some(n as u32),
            Some(_) => return Err(Violation::malformed("\"limit\" is 1 to 1000").at("limit")),
        };
        f.finish()?;
        let scope = match ids {
            Some(ids) => LoadScope::Ids { ids, after },
            None => LoadScope::Collection { after },
        };
        Ok(Load { lid, collection, scope, limit })
    }

    /// The load as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "load".into());
        m.insert("lid".into(), self.lid.clone().into());
        m.insert("collection".into(), self.collection.clone().into());
        let after = match &self.scope {
            LoadScope::Collection { after } => after,
            LoadScope::Ids { ids, after } => {
                m.insert("ids".into(), Value::Array(ids.iter().map(Id::to_value).collect()));
                after
            }
        };
        if let Some(after) = after {
            m.insert("after".into(), after.clone().into());
        }
        if let Some(limit) = self.limit {
            m.insert("limit".into(), limit.into());
        }
        Value::Object(m)
    }
}

/// One page of the answer to a load.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The load id.
    pub lid: String,
    /// The collection.
    pub collection: String,
    /// The object states of this page.
    pub objects: Vec<ObjectState>,
    /// The cursor of the next page; `None` when this page is the last.
    pub next: Option<String>,
}

impl Snapshot {
    pub(crate) fn from_map(map: Document, limits: &Limits) -> Result<Snapshot> {
        let mut f = Fields::new(map);
        let lid = f.string("lid")?;
        topic::check_token("lid", &lid)?;
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let objects =
            f.array("objects")?.into_iter().map(|v| ObjectState::read(v, limits)).collect::<Result<Vec<_>>>()?;
        let next = f.nullable_string("next")?;
        if let Some(n) = &next {
            check_cursor(n, "next")?;
        }
        f.finish()?;
        Ok(Snapshot { lid, collection, objects, next })
    }

    /// The page as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "snapshot".into());
        m.insert("lid".into(), self.lid.clone().into());
        m.insert("collection".into(), self.collection.clone().into());
        m.insert("objects".into(), Value::Array(self.objects.iter().map(ObjectState::to_value).collect()));
        m.insert("next".into(), self.next.clone().map_or(Value::Null, Value::String));
        Value::Object(m)
    }
}

fn check_cursor(cursor: &str, field: &str) -> Result<()> {
    if cursor.is_empty() || cursor.len() > Limits::MAX_CURSOR {
        return Err(Violation::malformed("a cursor is 1 to 512 characters").at(field));
    }
    Ok(())
}
