//! The `$`-wrappers of §3.1, each checked and brought to its canonical form.
//!
//! Errors carry no path: the caller knows where the wrapper sits.

use super::{date, text, Document, Value};
use crate::error::{Result, Violation};

/// The names of the only objects whose keys may start with `$`.
pub(super) const NAMES: [&str; 7] =
    ["$oid", "$date", "$numberInt", "$numberLong", "$numberDouble", "$numberDecimal", "$binary"];

/// Canonicalises a one-field object whose key is one of [`NAMES`].
pub(super) fn canonicalize(map: Document) -> Result<Value> {
    let (name, content) = map.into_iter().next().expect("a wrapper has exactly one field");
    match name.as_str() {
        "$oid" => oid(content),
        "$date" => date(content),
        "$numberInt" => integer(&name, content, i32::MIN.into(), i32::MAX.into()),
        "$numberLong" => integer(&name, content, i64::MIN, i64::MAX),
        "$numberDouble" => double(content),
        "$numberDecimal" => decimal(content),
        "$binary" => binary(content),
        _ => unreachable!("is_wrapper admits only the names of NAMES"),
    }
}

fn invalid(message: impl Into<String>) -> Violation {
    Violation::invalid_document(message)
}

fn single(name: &str, value: Value) -> Value {
    let mut map = Document::with_capacity(1);
    map.insert(name.to_string(), value);
    Value::Object(map)
}

fn oid(content: Value) -> Result<Value> {
    match content {
        Value::String(hex) if hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(single("$oid", Value::String(hex.to_ascii_lowercase())))
        }
        _ => Err(invalid("$oid takes a string of 24 hex digits")),
    }
}

fn date(content: Value) -> Result<Value> {
    let millis = match content {
        Value::String(s) => {
            date::parse_rfc3339(&s).ok_or_else(|| invalid(format!("$date {s:?} is not an RFC 3339 date-time")))?
        }
        Value::Object(inner) if inner.len() == 1 => match inner.get("$numberLong") {
            Some(Value::String(s)) => text::parse_integer(s, i64::MIN, i64::MAX)
                .ok_or_else(|| invalid(format!("$numberLong {s:?} is not a 64-bit integer")))?,
            _ => return Err(invalid("$date takes a string or {\"$numberLong\": \"<ms>\"}")),
        },
        _ => return Err(invalid("$date takes a string or {\"$numberLong\": \"<ms>\"}")),
    };
    let canonical = match date::format_rfc3339(millis) {
        Some(s) => Value::String(s),
        // Outside 1970–9999 the canonical form keeps the milliseconds as a string, as MongoDB's
        // relaxed Extended JSON does; it is not turned into a plain integer.
        None => single("$numberLong", Value::String(millis.to_string())),
    };
    Ok(single("$date", canonical))
}

fn integer(name: &str, content: Value, min: i64, max: i64) -> Result<Value> {
    match &content {
        Value::String(s) => text::parse_integer(s, min, max)
            .map(Value::from)
            .ok_or_else(|| invalid(format!("{name} {s:?} is not an integer in [{min}, {max}]"))),
        _ => Err(invalid(format!("{name} takes a string"))),
    }
}

fn double(content: Value) -> Result<Value> {
    let Value::String(s) = &content else {
        return Err(invalid("$numberDouble takes a string"));
    };
    text::parse_double(s)
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| invalid(format!("$numberDouble {s:?} is not a finite number")))
}

fn decimal(content: Value) -> Result<Value> {
    match content {
        Value::String(s) if text::is_decimal(&s) => Ok(single("$numberDecimal", Value::String(s))),
        Value::String(s) => Err(invalid(format!("$numberDecimal {s:?} is not a decimal number"))),
        _ => Err(invalid("$numberDecimal takes a string")),
    }
}

fn binary(content: Value) -> Result<Value> {
    let shape = || invalid("$binary takes {\"base64\": \"<base64>\", \"subType\": \"<2 hex digits>\"}");
    let Value::Object(fields) = content else {
        return Err(shape());
    };
    if fields.len() != 2 {
        return Err(shape());
    }
    let (Some(Value::String(base64)), Some(Value::String(sub_type))) = (fields.get("base64"), fields.get("subType"))
    else {
        return Err(shape());
    };
    if !text::is_canonical_base64(base64) {
        return Err(invalid("$binary base64 is not padded, canonical RFC 4648 base64"));
    }
    if sub_type.len() != 2 || !sub_type.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("$binary subType is 2 hex digits"));
    }
    let mut out = Document::with_capacity(2);
    out.insert("base64".into(), Value::String(base64.clone()));
    out.insert("subType".into(), Value::String(sub_type.to_ascii_lowercase()));
    Ok(single("$binary", Value::Object(out)))
}
