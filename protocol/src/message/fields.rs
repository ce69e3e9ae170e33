//! A strict reader of a message's fields: every field is taken once, typed, and whatever is left
//! at the end is an unknown field, which makes the message `malformed` (§4).

use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::value::{Document, Value};

pub(crate) struct Fields {
    map: Document,
}

impl Fields {
    /// Takes a message object apart; `type` has already been read by the caller.
    pub(crate) fn new(mut map: Document) -> Fields {
        map.shift_remove("type");
        Fields { map }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        self.map.shift_remove(name)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    fn required(&mut self, name: &str) -> Result<Value> {
        self.take(name).ok_or_else(|| Violation::malformed(format!("missing field {name:?}")).at(name))
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<String> {
        match self.required(name)? {
            Value::String(s) => Ok(s),
            _ => Err(wrong_type(name, "a string")),
        }
    }

    pub(crate) fn opt_string(&mut self, name: &str) -> Result<Option<String>> {
        match self.take(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A string field that is present and may be `null`.
    pub(crate) fn nullable_string(&mut self, name: &str) -> Result<Option<String>> {
        match self.required(name)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            _ => Err(wrong_type(name, "a string or null")),
        }
    }

    pub(crate) fn version(&mut self, name: &str) -> Result<u64> {
        let v = self.required(name)?;
        as_version(name, &v)
    }

    pub(crate) fn opt_version(&mut self, name: &str) -> Result<Option<u64>> {
        self.take(name).map(|v| as_version(name, &v)).transpose()
    }

    pub(crate) fn opt_u64(&mut self, name: &str) -> Result<Option<u64>> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| wrong_type(name, "a non-negative integer")),
        }
    }

    pub(crate) fn id(&mut self, name: &str) -> Result<Id> {
        let v = self.required(name)?;
        Id::from_value(&v).map_err(|e| Violation::malformed(e.message()).at(name))
    }

    pub(crate) fn opt_value(&mut self, name: &str) -> Option<Value> {
        self.take(name)
    }

    pub(crate) fn value(&mut self, name: &str) -> Result<Value> {
        self.required(name)
    }

    pub(crate) fn array(&mut self, name: &str) -> Result<Vec<Value>> {
        match self.required(name)? {
            Value::Array(a) => Ok(a),
            _ => Err(wrong_type(name, "an array")),
        }
    }

    /// Ends the reading: any field not taken is unknown.
    pub(crate) fn finish(self) -> Result<()> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(Violation::malformed(format!("unknown field {k:?}")).at(k.clone())),
        }
    }
}

fn as_version(name: &str, v: &Value) -> Result<u64> {
    match v.as_u64() {
        Some(n) if n <= Limits::MAX_VERSION => Ok(n),
        _ => Err(wrong_type(name, "a version (an integer from 0 to 2^53 - 1)")),
    }
}

fn wrong_type(name: &str, expected: &str) -> Violation {
    Violation::malformed(format!("field {name:?} must be {expected}")).at(name)
}

/// Reads a payload into a JSON object, checking its size first and its integer literals after.
pub(crate) fn object(payload: &[u8], limits: &Limits) -> Result<Document> {
    let map = json_object(payload, limits)?;
    check_integer_literals(payload)?;
    Ok(map)
}

/// Reads a payload into a JSON object, checking its size first. A key repeated in any object of
/// the payload makes it `malformed` (§4).
pub(crate) fn json_object(payload: &[u8], limits: &Limits) -> Result<Document> {
    let (map, duplicate) = json_object_and_duplicate(payload, limits)?;
    match duplicate {
        Some(v) => Err(v),
        None => Ok(map),
    }
}

/// Like [`json_object`], but a repeated key is returned beside the object (which keeps each
/// key's first value) instead of in its place, so that a request's reject can still carry the
/// `rid` when that is not the repeated key.
pub(crate) fn json_object_and_duplicate(payload: &[u8], limits: &Limits) -> Result<(Document, Option<Violation>)> {
    if payload.len() > limits.max_payload {
        return Err(Violation::new(
            crate::Code::TooLarge,
            format!("payload of {} bytes exceeds the limit of {} bytes", payload.len(), limits.max_payload),
        ));
    }
    let read = super::strict::read(payload).map_err(|e| Violation::malformed(format!("payload is not JSON: {e}")))?;
    let duplicate = read.duplicate.map(|path| {
        let key = path.rsplit('.').next().unwrap_or_default();
        Violation::malformed(format!("key {key:?} appears more than once in one object")).at(path)
    });
    match read.value {
        Value::Object(map) => Ok((map, duplicate)),
        _ => Err(Violation::malformed("payload is not a JSON object")),
    }
}

/// Refuses integer literals outside the signed 64-bit range, and `-0` (§3.1). A JSON parser
/// without arbitrary precision would silently read them as doubles, turning an invalid value
/// into a different valid one; so the payload's number tokens are checked as text. The payload
/// is already known to be valid JSON.
pub(crate) fn check_integer_literals(payload: &[u8]) -> Result<()> {
    let mut i = 0;
    let mut in_string = false;
    while i < payload.len() {
        let b = payload[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < payload.len() && matches!(payload[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                i += 1;
            }
            let token = &payload[start..i];
            if !token.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
                let text = std::str::from_utf8(token).expect("ASCII digits");
                if text == "-0" || text.parse::<i64>().is_err() {
                    return Err(Violation::invalid_document(format!(
                        "integer literal {text} is outside the signed 64-bit range (or is -0)"
                    )));
                }
            }
            continue;
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_literals_beyond_64_bits_are_refused_even_when_a_double_could_hold_them() {
        for payload in [r#"{"a": 18446744073709551616}"#, r#"{"a": -9223372036854775809}"#, r#"{"a": [-0]}"#] {
            let e = check_integer_literals(payload.as_bytes()).unwrap_err();
            assert_eq!(e.code(), crate::Code::InvalidDocument, "{payload}");
        }
    }

    #[test]
    fn numbers_inside_strings_and_doubles_are_left_alone() {
        let payload = r#"{"s": "18446744073709551616 \" -0", "d": 1e400, "f": -0.0, "i": -9223372036854775808}"#;
        assert!(check_integer_literals(payload.as_bytes()).is_ok());
    }
}
