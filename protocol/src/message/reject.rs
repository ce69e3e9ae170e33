//! `reject` (§4.3): a refused request.

use super::fields::Fields;
use crate::error::{Code, Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
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
    /// A reject built from a violation. Its message and path are cut to
    /// [`Limits::MAX_REJECT_MESSAGE`] and [`Limits::MAX_REJECT_PATH`] bytes: they may quote the
    /// input (a field name, an operator), and a reject must fit any payload limit whatever the
    /// input was. Every other field is bounded by its own syntax (§13.1).
    pub fn from_violation(rid: Option<String>, collection: Option<String>, id: Option<Id>, v: Violation) -> Reject {
        Reject {
            rid,
            collection,
            id,
            code: v.code(),
            message: cut(v.message(), Limits::MAX_REJECT_MESSAGE),
            current: None,
            path: v.path().map(|p| cut(p, Limits::MAX_REJECT_PATH)),
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

/// `text` if it has at most `max` bytes, else its longest prefix (on a character boundary) that
/// leaves room for a closing `…`, with the `…`.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    const MORE: &str = "…";
    let mut end = max - MORE.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MORE}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Request;

    #[test]
    fn a_reject_quoting_a_250_kb_field_name_stays_small() {
        let name = "k".repeat(250 * 1024);
        let payload = format!(
            r#"{{"type":"request","rid":"r1","collection":"tasks","id":"t1","base":0,"op":"delete","{name}":1}}"#
        );
        let limits = Limits { max_payload: 1 << 20, ..Limits::default() };
        let reject = *Request::parse(payload.as_bytes(), &limits).unwrap_err();
        assert_eq!((reject.code, reject.rid.as_deref()), (Code::Malformed, Some("r1")));
        let path = reject.path.as_deref().unwrap();
        assert!(path.len() <= Limits::MAX_REJECT_PATH && path.starts_with("kkk") && path.ends_with('…'), "{path}");
        assert!(reject.message.len() <= Limits::MAX_REJECT_MESSAGE, "{}", reject.message.len());
        let bytes = crate::message::Message::Reject(reject).to_bytes();
        assert!(bytes.len() < 2048, "{} bytes", bytes.len());
    }

    #[test]
    fn cutting_keeps_whole_characters_and_leaves_short_text_alone() {
        assert_eq!(cut("short", 8), "short");
        let cut_text = cut(&"é".repeat(10), 8);
        assert_eq!(cut_text, "éé…");
        assert!(cut_text.len() <= 8);
    }
}
