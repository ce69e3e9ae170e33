//! The update language (PROTOCOL.md §7): [`Path`]s, the five operators, and applying them.
//!
//! An [`Update`] is parsed once ([`Update::parse`]: every rule of §7.1 and §7.2 that can be
//! checked without a document) and then applied to any number of documents
//! ([`Update::apply`]: the rules that depend on the document). Applying never changes its input,
//! so a replica can recompute its optimistic view from the confirmed state at will.
//!
//! Layout: `path` parses and compares paths, `parse` reads an update, `apply` walks a document.

mod apply;
mod parse;
mod path;

pub use path::Path;

use crate::error::Result;
use crate::limits::Limits;
use crate::value::{Document, Value};
use serde::{Serialize, Serializer};

/// An operator of §7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Set,
    Unset,
    Inc,
    Push,
    Pull,
}

impl Operator {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Operator::Set => "$set",
            Operator::Unset => "$unset",
            Operator::Inc => "$inc",
            Operator::Push => "$push",
            Operator::Pull => "$pull",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Operator> {
        [Operator::Set, Operator::Unset, Operator::Inc, Operator::Push, Operator::Pull]
            .into_iter()
            .find(|op| op.name() == name)
    }
}

/// A parsed, valid update: its operators in the order they were written, each with its paths in
/// order and their canonical values.
///
/// ```
/// use serde_json::json;
/// use vmm_protocol::{update::Update, Limits};
///
/// let limits = Limits::default();
/// let update = Update::parse(json!({"$set": {"title": "Buy milk"}, "$inc": {"edits": 1}}), &limits)?;
/// let doc = json!({"_id": 1, "title": "Buy", "edits": 2}).as_object().unwrap().clone();
/// let new = update.apply(&doc, &limits)?;
/// assert_eq!(serde_json::Value::Object(new), json!({"_id": 1, "title": "Buy milk", "edits": 3}));
/// # Ok::<(), vmm_protocol::Violation>(())
/// ```
///
/// `PartialEq` is structural (an update written `{"$inc": {"n": 1}}` differs from one written
/// `{"$inc": {"n": 1.0}}`), which is what comparing two copies of one message needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    operations: Vec<(Operator, Vec<(Path, Value)>)>,
}

impl Update {
    /// Reads an update (§7.1, §7.2) and brings its values to canonical form.
    ///
    /// Errors: [`Code::InvalidUpdate`](crate::Code::InvalidUpdate) for anything about operators
    /// and paths (an unknown or empty operator, a bad, reserved or overlapping path, more than 256
    /// paths, an `$inc` by something other than a number, a malformed `$each`), located at the
    /// path when there is one; [`Code::InvalidDocument`](crate::Code::InvalidDocument) for a value
    /// that breaks §3, located at the path followed by the location inside the value. The first
    /// fault in the order of the update is reported.
    pub fn parse(value: Value, limits: &Limits) -> Result<Update> {
        parse::parse(value, limits).map(|operations| Update { operations })
    }

    /// Applies the update to a document and returns the new document; `doc` is left untouched.
    ///
    /// Errors: [`Code::InvalidUpdate`](crate::Code::InvalidUpdate) located at the update's path
    /// when an operator cannot apply (§7.2); [`Code::InvalidDocument`](crate::Code::InvalidDocument)
    /// when the result would nest deeper than `limits.max_depth` or serialise to more than
    /// `limits.max_document` bytes. On error nothing is applied.
    pub fn apply(&self, doc: &Document, limits: &Limits) -> Result<Document> {
        apply::apply(&self.operations, doc, limits)
    }

    /// Every path of the update, in order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.operations.iter().flat_map(|(_, entries)| entries.iter().map(|(path, _)| path))
    }

    /// Whether any path of this update overlaps any path of `other` (§8).
    pub fn overlaps(&self, other: &Update) -> bool {
        self.paths().any(|mine| other.paths().any(|theirs| mine.overlaps(theirs)))
    }

    /// The update as canonical JSON: operators and paths in their original order.
    pub fn to_value(&self) -> Value {
        let operations = self.operations.iter().map(|(op, entries)| {
            let entries = entries.iter().map(|(path, value)| (path.as_str().to_string(), value.clone()));
            (op.name().to_string(), Value::Object(entries.collect()))
        });
        Value::Object(operations.collect())
    }
}

impl Serialize for Update {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

#[cfg(test)]
mod tests;
