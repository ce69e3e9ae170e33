//! `request` (§4.1): a requester asks for a change.

use super::change::Change;
use super::fields::{self, Fields};
use super::reject::Reject;
use crate::error::{Code, Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::topic;
use crate::value::{Document, Value};

/// How a request whose base is older than the stored version is treated (§8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Apply only when the base equals the stored version.
    #[default]
    Strict,
    /// Also apply an update that touches nothing changed since its base.
    Merge,
}

/// A request to change one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The request id, unique for its requester.
    pub rid: String,
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The version the change is based on.
    pub base: u64,
    /// The change.
    pub change: Change,
    /// The conflict policy (only [`Policy::Strict`] for anything but an update).
    pub policy: Policy,
}

impl Request {
    /// Parses and validates a request payload. On failure, returns the reject to send, carrying
    /// the `rid`, `collection` and `id` when they could be read.
    pub fn parse(payload: &[u8], limits: &Limits) -> std::result::Result<Request, Box<Reject>> {
        let (map, duplicate) = fields::json_object_and_duplicate(payload, limits)
            .map_err(|v| Box::new(Reject::from_violation(None, None, None, v)))?;
        // Salvage what identifies the request, so that even a broken one gets a useful reject;
        // but not a field given twice, which has no one reading.
        let twice = |name: &str| duplicate.as_ref().is_some_and(|v| v.path() == Some(name));
        let field = |name: &str| map.get(name).filter(|_| !twice(name));
        let rid =
            field("rid").and_then(Value::as_str).filter(|r| topic::check_token("rid", r).is_ok()).map(String::from);
        let collection = field("collection")
            .and_then(Value::as_str)
            .filter(|c| topic::check_collection(c).is_ok())
            .map(String::from);
        let id = field("id").and_then(|v| Id::from_value(v).ok());
        let checked = match duplicate {
            Some(v) => Err(v),
            None => fields::check_integer_literals(payload),
        };
        checked
            .and_then(|()| Request::from_map(map, limits))
            .map_err(|v| Box::new(Reject::from_violation(rid, collection, id, v)))
    }

    pub(crate) fn from_map(map: Document, limits: &Limits) -> Result<Request> {
        match map.get("type") {
            Some(Value::String(t)) if t == "request" => {}
            _ => return Err(Violation::malformed("expected a message of type \"request\"").at("type")),
        }
        let mut f = Fields::new(map);
        let rid = f.string("rid")?;
        topic::check_token("rid", &rid)?;
        let collection = f.string("collection")?;
        topic::check_collection(&collection)?;
        let id = f.id("id")?;
        let base = f.version("base")?;
        let policy = match f.opt_string("policy")?.as_deref() {
            None => None,
            Some("strict") => Some(Policy::Strict),
            Some("merge") => Some(Policy::Merge),
            Some(other) => {
                return Err(Violation::malformed(format!("policy {other:?} is not strict or merge")).at("policy"))
            }
        };
        let change = Change::read(&mut f, &id, false, limits)?;
        f.finish()?;
        if policy.is_some() && !matches!(change, Change::Update(_)) {
            return Err(Violation::malformed("\"policy\" is only allowed with op \"update\"").at("policy"));
        }
        Ok(Request { rid, collection, id, base, change, policy: policy.unwrap_or_default() })
    }

    /// The request as a JSON object.
    pub fn to_value(&self) -> Value {
        let mut m = Document::new();
        m.insert("type".into(), "request".into());
        m.insert("rid".into(), self.rid.clone().into());
        m.insert("collection".into(), self.collection.clone().into());
        m.insert("id".into(), self.id.to_value());
        m.insert("base".into(), self.base.into());
        self.change.write(&mut m);
        if self.policy == Policy::Merge {
            m.insert("policy".into(), "merge".into());
        }
        Value::Object(m)
    }

    /// What the request asks for, apart from its `rid`, as 32 hex digits: a hash of its canonical
    /// form (collection, id, base, op, doc or update, policy). Two requests with the same `rid`
    /// and different fingerprints are a reused `rid` (§9).
    ///
    /// FNV-1a, 128 bits: stable across versions and platforms (bridges of different builds share
    /// one registry), and no dependency. It is not a security boundary: only the owner of a `rid`
    /// can send a request under it (§2.3), so a crafted collision only fools its own author.
    pub fn fingerprint(&self) -> String {
        let Value::Object(mut m) = self.to_value() else { unreachable!("a request is an object") };
        m.shift_remove("rid");
        let bytes = serde_json::to_vec(&m).unwrap_or_default();
        const PRIME: u128 = 0x0000000001000000000000000000013B;
        let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
        for b in bytes {
            hash ^= u128::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
        format!("{hash:032x}")
    }

    /// Checks that the request arrived on a topic of its own collection (§2.2).
    pub fn check_topic_collection(&self, topic_collection: &str) -> Result<()> {
        if self.collection != topic_collection {
            return Err(Violation::new(
                Code::Malformed,
                format!("collection {:?} differs from the topic's {:?}", self.collection, topic_collection),
            )
            .at("collection"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Request {
        Request::parse(text.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn the_fingerprint_ignores_the_rid_and_spelling_but_not_what_is_asked() {
        let update = parse(
            r#"{"type":"request","rid":"r1","collection":"c","id":"t1","base":1,"op":"update","update":{"$set":{"n":1}}}"#,
        );
        let same = parse(
            r#"{"rid":"r2","type":"request","collection":"c","id":"t1","base":1,"op":"update","update":{"$set":{"n":{"$numberInt":"1"}}},"policy":"strict"}"#,
        );
        assert_eq!(update.fingerprint(), same.fingerprint());
        assert_eq!(update.fingerprint().len(), 32);
        for other in [
            r#"{"type":"request","rid":"r1","collection":"c","id":"t1","base":1,"op":"delete"}"#,
            r#"{"type":"request","rid":"r1","collection":"c","id":"t1","base":2,"op":"update","update":{"$set":{"n":1}}}"#,
            r#"{"type":"request","rid":"r1","collection":"c","id":"t2","base":1,"op":"update","update":{"$set":{"n":1}}}"#,
            r#"{"type":"request","rid":"r1","collection":"d","id":"t1","base":1,"op":"update","update":{"$set":{"n":1}}}"#,
            r#"{"type":"request","rid":"r1","collection":"c","id":"t1","base":1,"op":"update","update":{"$set":{"n":2}}}"#,
            r#"{"type":"request","rid":"r1","collection":"c","id":"t1","base":1,"op":"update","update":{"$set":{"n":1}},"policy":"merge"}"#,
        ] {
            assert_ne!(update.fingerprint(), parse(other).fingerprint(), "{other}");
        }
    }
}
