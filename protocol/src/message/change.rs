//! The change a request asks for and an event records.

use super::fields::Fields;
use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::update::Update;
use crate::value::{self, Document, Value};

/// What happens to an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create the object with this document (`_id` first).
    Insert(Document),
    /// Apply the update to the stored document.
    Update(Update),
    /// Replace the stored document with this one (`_id` first).
    Replace(Document),
    /// Delete the object, leaving a tombstone.
    Delete,
}

impl Change {
    /// The `op` field of this change.
    pub fn op(&self) -> &'static str {
        match self {
            Change::Insert(_) => "insert",
            Change::Update(_) => "update",
            Change::Replace(_) => "replace",
            Change::Delete => "delete",
        }
    }

    /// Reads `op`, `doc` and `update` from a message. A `stored` document (in an event) must
    /// carry its `_id`; a requested one may leave it out.
    pub(crate) fn read(fields: &mut Fields, id: &Id, stored: bool, limits: &Limits) -> Result<Change> {
        let op = fields.string("op")?;
        let doc = fields.opt_value("doc");
        let update = fields.opt_value("update");
        let change = match (op.as_str(), doc, update) {
            ("insert", Some(doc), None) => Change::Insert(read_doc(doc, id, stored, limits)?),
            ("replace", Some(doc), None) => Change::Replace(read_doc(doc, id, stored, limits)?),
            ("update", None, Some(update)) => Change::Update(Update::parse(update, limits)?),
            ("delete", None, None) => Change::Delete,
            ("insert" | "replace", _, _) => {
                return Err(Violation::malformed(format!("{op} needs \"doc\" and no \"update\"")))
            }
            ("update", _, _) => return Err(Violation::malformed("update needs \"update\" and no \"doc\"")),
            ("delete", _, _) => return Err(Violation::malformed("delete takes neither \"doc\" nor \"update\"")),
            _ => {
                return Err(
                    Violation::malformed(format!("op {op:?} is not one of insert, update, replace, delete")).at("op")
                )
            }
        };
        Ok(change)
    }

    /// Writes `op`, `doc` and `update` into a message object.
    pub(crate) fn write(&self, map: &mut Document) {
        map.insert("op".into(), self.op().into());
        match self {
            Change::Insert(doc) | Change::Replace(doc) => {
                map.insert("doc".into(), Value::Object(doc.clone()));
            }
            Change::Update(update) => {
                map.insert("update".into(), update.to_value());
            }
            Change::Delete => {}
        }
    }

    /// Applies the change to an object's document (`None`: absent or deleted), giving the new
    /// document (`None`: deleted). Errors when the change cannot apply (an update to an absent
    /// object, an update that fails).
    pub fn apply(&self, doc: Option<&Document>, limits: &Limits) -> Result<Option<Document>> {
        match (self, doc) {
            (Change::Insert(new), _) | (Change::Replace(new), _) => Ok(Some(new.clone())),
            (Change::Update(update), Some(doc)) => update.apply(doc, limits).map(Some),
            (Change::Update(_), None) => {
                Err(Violation::new(crate::Code::NotFound, "cannot update an object that does not exist"))
            }
            (Change::Delete, _) => Ok(None),
        }
    }
}

fn read_doc(doc: Value, id: &Id, stored: bool, limits: &Limits) -> Result<Document> {
    if stored {
        stored_document(doc, id, limits)
    } else {
        document_with_id(doc, id, limits)
    }
}

/// Reads a document as the bridge sends it (in an event or a snapshot): like
/// [`document_with_id`], but the `_id` must be there.
pub fn stored_document(doc: Value, id: &Id, limits: &Limits) -> Result<Document> {
    if doc.get("_id").is_none() {
        return Err(Violation::malformed("a stored document carries its _id").at("doc._id"));
    }
    document_with_id(doc, id, limits)
}

/// Canonicalises a document and puts its `_id` first: the `_id` is added if missing and must
/// equal `id` if present (§3.5).
pub fn document_with_id(doc: Value, id: &Id, limits: &Limits) -> Result<Document> {
    let doc = value::canonicalize_document(doc, limits).map_err(|e| {
        let path = e.path().map(|p| format!("doc.{p}")).unwrap_or_else(|| "doc".into());
        Violation::new(e.code(), e.message()).at(path)
    })?;
    if let Some(given) = doc.get("_id") {
        let given = Id::from_value(given).map_err(|e| Violation::invalid_document(e.message()).at("doc._id"))?;
        if &given != id {
            return Err(Violation::invalid_document(format!("doc._id {given} differs from the message's id {id}"))
                .at("doc._id"));
        }
    }
    let mut out = Document::with_capacity(doc.len() + 1);
    out.insert("_id".into(), id.to_value());
    for (k, v) in doc {
        if k != "_id" {
            out.insert(k, v);
        }
    }
    // Measured as a Value without copying it (this runs for every event a replica reads).
    let out = Value::Object(out);
    if value::serialized_len(&out) > limits.max_document {
        return Err(Violation::invalid_document(format!("document exceeds {} bytes", limits.max_document)).at("doc"));
    }
    let Value::Object(out) = out else { unreachable!("built as an object above") };
    Ok(out)
}
