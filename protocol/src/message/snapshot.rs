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

/// An object's id and version without its document: an entry of a versions page (§4.7, §12.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The object.
    pub id: Id,
    /// Its version (at least 1: a versions page lists live objects).
    pub version: u64,
}

impl ObjectVersion {
    fn read(value: Value) -> Result<ObjectVersion> {
        let Value::Object(map) = value else {
            return Err(Violation::malformed("a versions entry is a JSON object").at("versions"));
        };
        let mut f = Fields::new(map);
        let id = f.id("id")?;
        let version = f.version("version")?;
        if version == 0 {
            return Err(Violation::malformed("a versions page lists live objects: version is at least 1").at("version"));
        }
        f.finish()?;
        Ok(ObjectVersion { id, version })
    }

    /// The entry as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("id".into(), self.id.to_value());
        m.insert("version".into(), self.version.into());
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
    /// The ids and versions of the collection's live objects, without their documents (§12.4):
    /// a consumer that holds a copy compares them with its own and loads only what differs.
    Versions {
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
        let versions = match f.opt_value("versions") {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Bool(true)) => true,
            Some(_) => return Err(Violation::malformed("\"versions\" is true or false").at("versions")),
        };
        if versions && ids.is_some() {
            return Err(Violation::malformed("a load has \"ids\" or \"versions\", not both").at("versions"));
        }
        let limit = match f.opt_u64("limit")? {
            None => None,
            Some(n) if (1..=u64::from(Limits::MAX_LOAD_LIMIT)).contains(&n) => Some(n as u32),
            Some(_) => return Err(Violation::malformed("\"limit\" is 1 to 1000").at("limit")),
        };
        f.finish()?;
        let scope = match ids {
            Some(ids) => LoadScope::Ids { ids, after },
            None if versions => LoadScope::Versions { after },
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
            LoadScope::Versions { after } => {
                m.insert("versions".into(), true.into());
                after
            }
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
    /// The object states of this page (empty on a page of a versions load).
    pub objects: Vec<ObjectState>,
    /// The page of a versions load (§12.4): ids and versions instead of `objects`.
    pub versions: Option<Vec<ObjectVersion>>,
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
        // Exactly one of `objects` (a document load) and `versions` (a versions load).
        let (objects, versions) = match (f.has("objects"), f.has("versions")) {
            (true, false) => (
                f.array("objects")?.into_iter().map(|v| ObjectState::read(v, limits)).collect::<Result<Vec<_>>>()?,
                None,
            ),
            (false, true) => (
                Vec::new(),
                Some(f.array("versions")?.into_iter().map(ObjectVersion::read).collect::<Result<Vec<_>>>()?),
            ),
            _ => return Err(Violation::malformed("a snapshot has either \"objects\" or \"versions\"").at("objects")),
        };
        let next = f.nullable_string("next")?;
        if let Some(n) = &next {
            check_cursor(n, "next")?;
        }
        f.finish()?;
        Ok(Snapshot { lid, collection, objects, versions, next })
    }

    /// The page as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "snapshot".into());
        m.insert("lid".into(), self.lid.clone().into());
        m.insert("collection".into(), self.collection.clone().into());
        match &self.versions {
            Some(v) => m.insert("versions".into(), Value::Array(v.iter().map(ObjectVersion::to_value).collect())),
            None => m.insert("objects".into(), Value::Array(self.objects.iter().map(ObjectState::to_value).collect())),
        };
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
