//! Object ids and their id keys (§3.3).
//!
//! An [`Id`] is an object's `_id`: an ObjectId, a string or an integer. Its [`key`](Id::key) is
//! the same id written as one MQTT topic level (`o:…`, `s:…`, `i:…`), unique and unambiguous, which
//! also serves as the map key of a replica.

use crate::error::{Result, Violation};
use crate::limits::Limits;
use crate::value::{self, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// An object's `_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// An ObjectId, as 24 lower-case hex digits.
    ObjectId(String),
    /// A string of 1 to 255 UTF-8 bytes.
    String(String),
    /// A signed 64-bit integer.
    Int(i64),
}

impl Id {
    /// Reads an id from an Extended JSON value (any accepted form, e.g. `{"$numberLong": "7"}`).
    pub fn from_value(value: &Value) -> Result<Id> {
        let canonical = value::canonicalize(value.clone(), &Limits::default())
            .map_err(|e| Violation::invalid_document(format!("bad _id: {}", e.message())).at("_id"))?;
        match &canonical {
            Value::String(s) => Id::string(s.clone()),
            Value::Number(n) => n
                .as_i64()
                .map(Id::Int)
                .ok_or_else(|| Violation::invalid_document("an _id number must be an integer").at("_id")),
            Value::Object(map) => match map.get("$oid") {
                Some(Value::String(hex)) if map.len() == 1 => Id::object_id(hex),
                _ => Err(Violation::invalid_document("an _id must be an ObjectId, a string or an integer").at("_id")),
            },
            _ => Err(Violation::invalid_document("an _id must be an ObjectId, a string or an integer").at("_id")),
        }
    }

    /// An ObjectId from 24 hex digits (either case).
    pub fn object_id(hex: &str) -> Result<Id> {
        if hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Id::ObjectId(hex.to_ascii_lowercase()))
        } else {
            Err(Violation::invalid_document("an ObjectId is 24 hex digits").at("_id"))
        }
    }

    /// A string id; it must be 1 to 255 UTF-8 bytes.
    pub fn string(s: impl Into<String>) -> Result<Id> {
        let s = s.into();
        if s.is_empty() || s.len() > Limits::MAX_STRING_ID {
            return Err(Violation::invalid_document("a string _id is 1 to 255 UTF-8 bytes").at("_id"));
        }
        Ok(Id::String(s))
    }

    /// The id as a canonical Extended JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Id::ObjectId(hex) => {
                let mut map = value::Document::new();
                map.insert("$oid".into(), Value::String(hex.clone()));
                Value::Object(map)
            }
            Id::String(s) => Value::String(s.clone()),
            Id::Int(i) => Value::from(*i),
        }
    }

    /// The id key: the id as one topic level (§3.3).
    pub fn key(&self) -> String {
        match self {
            Id::ObjectId(hex) => format!("o:{hex}"),
            Id::Int(i) => format!("i:{i}"),
            Id::String(s) => {
                let mut key = String::with_capacity(s.len() + 2);
                key.push_str("s:");
                for b in s.bytes() {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                        key.push(b as char);
                    } else {
                        key.push_str(&format!("%{b:02X}"));
                    }
                }
                key
            }
        }
    }

    /// Reads an id key back. Only the canonical spelling is accepted, so that one id has exactly
    /// one key.
    pub fn from_key(key: &str) -> Result<Id> {
        let bad = || Violation::malformed(format!("not an id key: {key:?}"));
        let (kind, rest) = key.split_once(':').ok_or_else(bad)?;
        let id = match kind {
            "o" => Id::object_id(rest).map_err(|_| bad())?,
            "i" => {
                let i: i64 = rest.parse().map_err(|_| bad())?;
                Id::Int(i)
            }
            "s" => Id::string(percent_decode(rest).ok_or_else(bad)?).map_err(|_| bad())?,
            _ => return Err(bad()),
        };
        if id.key() == key {
            Ok(id)
        } else {
            Err(bad())
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Id::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Id {
    type Err = Violation;

    /// Parses an id from JSON text (`"t1"` or `{"$oid": "…"}` or `7`), or, if that fails, takes
    /// the text itself as a string id.
    fn from_str(s: &str) -> Result<Id> {
        match serde_json::from_str::<Value>(s) {
            Ok(v) => Id::from_value(&v),
            Err(_) => Id::string(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_ids_are_lower_cased_and_keyed_with_o() {
        let id = Id::from_value(&json!({"$oid": "65A1F0C2E4B0A1B2C3D4E5F6"})).unwrap();
        assert_eq!(id.key(), "o:65a1f0c2e4b0a1b2c3d4e5f6");
        assert_eq!(id.to_value(), json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"}));
    }

    #[test]
    fn string_keys_percent_encode_everything_but_unreserved_bytes() {
        let id = Id::string("task 1/2+#é").unwrap();
        assert_eq!(id.key(), "s:task%201%2F2%2B%23%C3%A9");
        assert_eq!(Id::from_key(&id.key()).unwrap(), id);
    }

    #[test]
    fn integer_ids_accept_extended_json_forms() {
        assert_eq!(Id::from_value(&json!({"$numberLong": "-7"})).unwrap().key(), "i:-7");
    }

    #[test]
    fn non_canonical_keys_are_refused() {
        for key in ["i:007", "s:a%2f", "s:a b", "o:65A1F0C2E4B0A1B2C3D4E5F6", "x:1", "s:", "i:", "s:%zz"] {
            assert!(Id::from_key(key).is_err(), "{key} was accepted");
        }
    }

    #[test]
    fn other_id_types_are_refused() {
        for v in [json!(1.5), json!(true), json!(null), json!(""), json!({"a": 1}), json!([1])] {
            assert!(Id::from_value(&v).is_err(), "{v} was accepted");
        }
    }
}
