//! Values on their way out to JS: JSON text for the browser's `JSON.parse`, written in one pass
//! that also notes whether a JS walk (`revive` of `js/values.js`) is needed afterwards.
//!
//! Two things differ from `serde_json::to_string`:
//!
//! - an integer outside ±(2^53−1) is written as `{"$numberLong": "<digits>"}`: `JSON.parse` would
//!   round it to the nearest double, and only Rust still knows the exact value;
//! - every `$`-wrapper (§3.1 of the protocol: `$oid`, `$date`, `$binary`, `$numberDecimal`, and
//!   the `$numberLong` just written) is noted. A document without one (the common case) needs no
//!   walk in JS at all, so it costs what `JSON.parse` costs. For an array of documents (`list`,
//!   `entries`, a listener's batch) the elements holding one are listed, and only they are walked.
//!
//! Pure Rust, so that its tests run natively; `convert.rs` does the crossing into JS.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use vmm_protocol::value::is_wrapper;
use vmm_protocol::{Document, Value};

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE: i64 = (1 << 53) - 1;

/// JSON text, and which parts of it hold a wrapper.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) text: String,
    pub(crate) wrappers: Wrappers,
}

/// Where the wrappers of a [`Written`] are.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wrappers {
    /// None: the parsed value is final.
    None,
    /// Somewhere in the value.
    Some,
    /// In these elements of the top-level array (ascending), and nowhere else.
    Items(Vec<u32>),
}

/// What can be written with the scan: a value or a document.
pub(crate) trait Node {
    /// Serialises `self`, setting `seen` when a wrapper is written.
    fn scan<S: Serializer>(&self, seen: &Cell<bool>, s: S) -> Result<S::Ok, S::Error>;
}

struct Scan<'a, T: ?Sized> {
    value: &'a T,
    seen: &'a Cell<bool>,
}

impl<T: Node + ?Sized> Serialize for Scan<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.scan(self.seen, s)
    }
}

impl Node for Value {
    fn scan<S: Serializer>(&self, seen: &Cell<bool>, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Number(n) => match unsafe_integer(n) {
                Some(digits) => {
                    seen.set(true);
                    let mut map = s.serialize_map(Some(1))?;
                    map.serialize_entry("$numberLong", &digits)?;
                    map.end()
                }
                None => n.serialize(s),
            },
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Scan { value: item, seen })?;
                }
                seq.end()
            }
            Value::Object(map) if is_wrapper(map) => {
                // A wrapper's content is strings (and `$date`'s `$numberLong` string): written as is.
                seen.set(true);
                map.serialize(s)
            }
            Value::Object(map) => map.scan(seen, s),
            other => other.serialize(s),
        }
    }
}

impl Node for Document {
    fn scan<S: Serializer>(&self, seen: &Cell<bool>, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (key, value) in self {
            map.serialize_entry(key, &Scan { value, seen })?;
        }
        map.end()
    }
}

/// The digits of an integer that a JS number cannot hold exactly; `None` for any other number.
fn unsafe_integer(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return (!(-MAX_SAFE..=MAX_SAFE).contains(&i)).then(|| i.to_string());
    }
    // Above i64::MAX: not canonical (§3.1 refuses it), but written exactly all the same.
    n.as_u64().map(|u| u.to_string())
}

/// Cannot fail: the keys are strings and our `Serialize`s raise no error. Not `expect`: its
/// message would link serde_json's error formatting into the wasm.
fn text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// One value or document.
pub(crate) fn write<T: Node + ?Sized>(value: &T) -> Written {
    let seen = Cell::new(false);
    let text = text(&Scan { value, seen: &seen });
    Written { text, wrappers: if seen.get() { Wrappers::Some } else { Wrappers::None } }
}

struct Items<'a, T> {
    items: &'a [T],
    marked: RefCell<Vec<u32>>,
}

impl<T: Node> Serialize for Items<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.items.len()))?;
        for (i, value) in self.items.iter().enumerate() {
            let seen = Cell::new(false);
            seq.serialize_element(&Scan { value, seen: &seen })?;
            if seen.get() {
                self.marked.borrow_mut().push(i as u32);
            }
        }
        seq.end()
    }
}

/// An array of values or documents, with the elements that hold a wrapper.
pub(crate) fn write_items<T: Node>(items: &[T]) -> Written {
    let all = Items { items, marked: RefCell::new(Vec::new()) };
    let text = text(&all);
    let marked = all.marked.into_inner();
    Written { text, wrappers: if marked.is_empty() { Wrappers::None } else { Wrappers::Items(marked) } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(value: Value) -> Document {
        let Value::Object(map) = value else { panic!("not an object") };
        map
    }

    #[test]
    fn a_plain_document_is_written_as_serde_json_writes_it_and_needs_no_walk() {
        let d = doc(
            json!({"_id": "t1", "title": "milk", "n": 9007199254740991_i64, "x": -2.5, "tags": [1, "a", null, {"b": true}]}),
        );
        let w = write(&d);
        assert_eq!(w.text, serde_json::to_string(&d).unwrap());
        assert_eq!(w.wrappers, Wrappers::None);
    }

    #[test]
    fn integers_past_the_safe_range_are_written_as_number_long_and_noted() {
        let v = json!({"a": 9007199254740992_i64, "b": -9007199254740992_i64, "c": i64::MIN, "d": [1_152_921_504_606_846_977_i64], "safe": -9007199254740991_i64});
        let w = write(&v);
        assert_eq!(
            w.text,
            r#"{"a":{"$numberLong":"9007199254740992"},"b":{"$numberLong":"-9007199254740992"},"c":{"$numberLong":"-9223372036854775808"},"d":[{"$numberLong":"1152921504606846977"}],"safe":-9007199254740991}"#
        );
        assert_eq!(w.wrappers, Wrappers::Some);
    }

    #[test]
    fn a_large_double_stays_a_double() {
        let w = write(&json!({"x": 1e300, "y": 9007199254740993.0}));
        assert_eq!(w.wrappers, Wrappers::None);
        assert_eq!(w.text, r#"{"x":1e+300,"y":9007199254740992.0}"#);
    }

    #[test]
    fn every_wrapper_is_noted_wherever_it_sits() {
        for wrapper in [
            json!({"$oid": "0123456789abcdef01234567"}),
            json!({"$date": "2024-01-02T03:04:05.006Z"}),
            json!({"$date": {"$numberLong": "-1"}}),
            json!({"$binary": {"base64": "AAE=", "subType": "00"}}),
            json!({"$numberDecimal": "1.50"}),
        ] {
            let v = json!({"a": [{"b": [wrapper.clone()]}]});
            let w = write(&v);
            assert_eq!(w.wrappers, Wrappers::Some, "{wrapper}");
            assert_eq!(w.text, serde_json::to_string(&v).unwrap(), "a wrapper is written as is");
        }
    }

    #[test]
    fn an_object_with_a_dollar_key_and_another_key_is_not_a_wrapper() {
        // Not a valid document (§3.1), but the writer only looks at the shape, as `is_wrapper`.
        let w = write(&json!({"a": {"$oid": "0123456789abcdef01234567", "b": 1}}));
        assert_eq!(w.wrappers, Wrappers::None);
    }

    #[test]
    fn an_array_of_documents_lists_the_elements_that_hold_a_wrapper() {
        let docs = vec![
            doc(json!({"_id": "a"})),
            doc(json!({"_id": {"$oid": "0123456789abcdef01234567"}})),
            doc(json!({"_id": "c", "n": 1})),
            doc(json!({"_id": "d", "deep": [[{"n": 18014398509481984_i64}]]})),
        ];
        let w = write_items(&docs);
        assert_eq!(w.wrappers, Wrappers::Items(vec![1, 3]));
        assert!(w.text.starts_with(r#"[{"_id":"a"},{"_id":{"$oid":"#));
        assert!(w.text.ends_with(r#"{"n":{"$numberLong":"18014398509481984"}}]]}]"#));
    }

    #[test]
    fn an_array_without_wrappers_needs_no_walk() {
        let changes =
            vec![json!({"key": "sa", "id": "a", "doc": {"_id": "a"}}), json!({"key": "sb", "id": "b", "doc": null})];
        let w = write_items(&changes);
        assert_eq!(w.wrappers, Wrappers::None);
        assert_eq!(w.text, serde_json::to_string(&changes).unwrap());
        assert_eq!(write_items::<Value>(&[]).text, "[]");
    }

    #[test]
    fn field_order_and_string_escapes_are_kept() {
        let d = doc(json!({"z": "a\"b\\c\n\u{1}é", "a": 1, "m": {"y": 1, "b": 2}}));
        let w = write(&d);
        assert_eq!(w.text, serde_json::to_string(&d).unwrap());
        assert!(w.text.starts_with(r#"{"z":"#));
    }
}
