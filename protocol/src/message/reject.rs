//! `reject` (§4.3): a refused request.

use super::fields::Fields;
use crate::error::{Code, Result, Violation};
use crate::id::Id;
use crate::topic;
use crate::value::{Document, Value};

/// A refused request, with a machine-readable code.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The request id; `None` only when the request was too broken to read it.
    pub rid: Option<String>,
    /// The collection, when it could be read.
    pub collection: Option<String>,
    /// The object, when it could be read.
    pub id: Option<Id>,
    /// Why.
    pub code: Code,
    /// A human-readable explanation.
    pub message: String,
    /// The object's stored version, when the bridge read it.
    pub current: Option<u64>,
    /// The dotted path of the offending field.
    pub path: Option<String>,
}

impl Reject {
    /// A reject built from a violation.
    pub fn from_violation(rid: Option<String>, collection: Option<String>, id: Option<Id>, v: Violation) -> Reject {
        Reject {
            rid,
            collection,
            id,
            code: v.code(),
            message: v.message().to_string(),
            current: None,
            path: v.path().map(String::from),
        }
    }

    /// The same reject with the stored version.
    pub fn with_current(mut self, current: u64) -> Reject {
        self.current = Some(current);
        self
    }

    pub(crate) fn from_map(map: Document) -> Result<Reject> {
        let mut f = Fields::new(map);
        let rid = f.nullable_string("rid")?;
        if let Some(rid) = &rid {
            topic::check_token("rid", rid)?;
        }
        let collection = f.opt_string("collection")?;
        if let Some(c) = &collection {
            topic::check_collection(c)?;
        }
        let id = if f.has("id") { Some(f.id("id")?) } else { None };
        let code_text = f.string("code")?;
        let code = Code::parse(&code_text)
            .filter(|c| !matches!(c, Code::Aborted | Code::Timeout | Code::Cancelled))
            .ok_or_else(|| Violation::malformed(format!("unknown reject code {code_text:?}")).at("code"))?;
        let message = f.string("message")?;
        let current = f.opt_version("current")?;
        let path = f.opt_string("path")?;
        f.finish()?;
        if current.is_none() && matches!(code, Code::Conflict | Code::NotFound) {
            return Err(Violation::malformed(format!("a {code} reject carries \"current\"")).at("current"));
        }
        Ok(Reject { rid, collection, id, code, message, current, path })
    }

    /// The reject as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "reject".into());
        m.insert("rid".into(), self.rid.clone().map_or(Value::Null, Value::String));
        if let Some(c) = &self.collection {
            m.insert("collection".into(), c.clone().into());
        }
        if let Some(id) = &self.id {
            m.insert("id".into(), id.to_value());
        }
        m.insert("code".into(), self.code.as_str().into());
        m.insert("message".into(), self.message.clone().into());
        if let Some(current) = self.current {
            m.insert("current".into(), current.into());
        }
        if let Some(path) = &self.path {
            m.insert("path".into(), path.clone().into());
        }
        Value::Object(m)
    }
}
