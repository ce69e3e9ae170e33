//! Extended JSON values and documents (PROTOCOL.md §3).
//!
//! Values are plain [`serde_json::Value`]s (with `preserve_order`, so fields keep their place).
//! What this module adds is the protocol's view of them:
//!
//! - [`canonicalize`] brings any value to its canonical form (§3.1) and checks the rules every
//!   value obeys (§3.5): field names, nesting depth, integer range, the `$`-wrappers;
//! - [`canonicalize_document`] does the same for a whole document and adds the document-only rules
//!   (`_vmm` fields, size);
//! - [`equal()`] is the protocol's equality (§3.2): numbers by mathematical value, field order
//!   ignored.
//!
//! Every function of this crate that compares, stores or forwards a value expects it in canonical
//! form; [`equal()`] in particular compares wrappers structurally and does not canonicalise.
//!
//! Layout: `canonical` walks a value, `wrapper` canonicalises the `$`-wrappers (with `date` for
//! `$date` and `text` for the number and base64 grammars), `equal` compares.

mod canonical;
mod date;
mod equal;
mod float;
mod text;
mod wrapper;

use crate::error::{Result, Violation};
use crate::limits::Limits;

pub(crate) use canonical::field_name_problem;
pub use equal::equal;
pub use serde_json::Value;

/// A document: a JSON object whose fields keep their order.
pub type Document = serde_json::Map<String, Value>;

/// Brings a value to canonical form (§3.1) and checks the value rules of §3.5.
///
/// Field names must be 1 to 255 UTF-8 bytes without a leading `$` (except the wrappers of §3.1),
/// `.` or NUL; documents and arrays nest at most `limits.max_depth` deep (the value itself, if a
/// document or an array, counts 1; wrappers count 0); integers lie in the signed 64-bit range.
/// Wrappers come out canonical: `$numberInt`, `$numberLong` and `$numberDouble` become plain
/// numbers, `$oid` and the `$binary` subType lower case, `$date` one of its two canonical forms.
///
/// Errors are [`Code::InvalidDocument`](crate::Code::InvalidDocument), located at the dotted path
/// of the offending field inside the value (no path when the value itself is at fault). The first
/// fault in document order is reported.
pub fn canonicalize(mut value: Value, limits: &Limits) -> Result<Value> {
    canonical::walk(&mut value, limits)?;
    Ok(value)
}

/// Canonicalises a whole document (§3.5): it must be a JSON object that is not a wrapper, obey
/// [`canonicalize`]'s rules, have no top-level field starting with `_vmm`, and serialise to at
/// most `limits.max_document` bytes. The `_id` is not checked here: only the caller knows which
/// id the document must carry.
pub fn canonicalize_document(value: Value, limits: &Limits) -> Result<Document> {
    match &value {
        Value::Object(map) if !is_wrapper(map) => {}
        Value::Object(_) => {
            return Err(Violation::invalid_document("a document cannot be a $-wrapper"));
        }
        _ => return Err(Violation::invalid_document("a document must be a JSON object")),
    }
    let canonical = canonicalize(value, limits)?;
    let size = serialized_len(&canonical);
    let Value::Object(doc) = canonical else { unreachable!("canonicalising a non-wrapper object gives an object") };
    if let Some(key) = doc.keys().find(|key| key.starts_with("_vmm")) {
        return Err(Violation::invalid_document("top-level fields starting with _vmm are reserved").at(key.as_str()));
    }
    if size > limits.max_document {
        return Err(Violation::invalid_document(format!(
            "the document serialises to {size} bytes, more than the limit of {}",
            limits.max_document
        )));
    }
    Ok(doc)
}

/// The nesting depth of a value: 0 for a scalar or a wrapper, and for a document or an array 1
/// more than its deepest element.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) if !is_wrapper(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The length in bytes of the value's compact JSON serialisation, computed without building it.
pub fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Cannot fail: the counter never does and a Value's keys are strings. Not `expect`: its
    // message would link the formatting of serde_json's (and std::io's) errors into the wasm.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Whether an object is one of the `$`-wrappers of §3.1: exactly one field, named `$oid`,
/// `$date`, `$numberInt`, `$numberLong`, `$numberDouble`, `$numberDecimal` or `$binary`. Only the
/// shape is looked at; [`canonicalize`] checks the content.
pub fn is_wrapper(map: &Document) -> bool {
    map.len() == 1 && map.keys().all(|key| wrapper::NAMES.contains(&key.as_str()))
}

#[cfg(test)]
pub(crate) mod tests;
