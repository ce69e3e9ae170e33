//! Applying an update to a document (§7.1, §7.2).
//!
//! Each path is applied in two steps: walk to the value that holds its last segment (the
//! *container*), creating missing documents on the way for the operators that create (`$set`,
//! `$inc`, `$push`), then let the operator act on the last segment. The operators that only
//! remove (`$unset`, `$pull`) treat anything missing on the way as "nothing to do".

use super::parse::Operations;
use super::{Operator, Path};
use crate::error::{Result, Violation};
use crate::limits::Limits;
use crate::value::{self, Document, Value};
use serde_json::Number;

pub(super) fn apply(operations: &Operations, doc: &Document, limits: &Limits) -> Result<Document> {
    let mut root = Value::Object(doc.clone());
    for (op, entries) in operations {
        for (path, operand) in entries {
            apply_one(*op, &mut root, path, operand)
                .map_err(|message| Violation::invalid_update(message).at(path.as_str()))?;
        }
    }
    if value::depth(&root) > limits.max_depth {
        return Err(Violation::invalid_document(format!(
            "the updated document would nest deeper than {} levels",
            limits.max_depth
        )));
    }
    let size = value::serialized_len(&root);
    if size > limits.max_document {
        return Err(Violation::invalid_document(format!(
            "the updated document would serialise to {size} bytes, more than the limit of {}",
            limits.max_document
        )));
    }
    let Value::Object(doc) = root else { unreachable!("the root stays a document") };
    Ok(doc)
}

/// Why a path cannot apply; the caller adds the code and the path.
type Outcome = std::result::Result<(), String>;

fn apply_one(op: Operator, root: &mut Value, path: &Path, operand: &Value) -> Outcome {
    let (last, parents) = path.segments().split_last().expect("a path has at least one segment");
    let creates = matches!(op, Operator::Set | Operator::Inc | Operator::Push);
    let Some(container) = walk(root, parents, creates)? else {
        return Ok(()); // absent, for $unset and $pull
    };
    match op {
        Operator::Set => write(container, last, |slot| {
            *slot = Some(operand.clone());
            Ok(())
        }),
        Operator::Inc => write(container, last, |slot| {
            let sum = match slot.as_ref() {
                None => operand.clone(),
                Some(current) => add(current, operand)?,
            };
            *slot = Some(sum);
            Ok(())
        }),
        Operator::Push => write(container, last, |slot| {
            let items: Vec<Value> = match operand.as_object().and_then(|map| map.get("$each")) {
                Some(Value::Array(each)) => each.clone(),
                _ => vec![operand.clone()],
            };
            match slot {
                None => *slot = Some(Value::Array(items)),
                Some(Value::Array(array)) => array.extend(items),
                Some(other) => return Err(format!("$push needs an array, found {}", kind(other))),
            }
            Ok(())
        }),
        Operator::Unset => unset(container, last),
        Operator::Pull => pull(container, last, operand),
    }
}

/// Walks `segments` from `root`. With `create`, missing fields (and the element just past the end
/// of an array) become empty documents and a scalar on the way is an error; without it, both mean
/// the path is absent (`Ok(None)`). A segment that is not an index is an error in an array either
/// way (§7.1).
fn walk<'v>(
    root: &'v mut Value,
    segments: &[String],
    create: bool,
) -> std::result::Result<Option<&'v mut Value>, String> {
    let mut current = root;
    for segment in segments {
        if !is_container(current) {
            if create {
                return Err(format!("cannot create field {segment:?} inside {}", kind(current)));
            }
            return Ok(None);
        }
        current = match current {
            Value::Array(items) => {
                let len = items.len();
                let i = index(segment, len)?;
                if i == len && create {
                    items.push(Value::Object(Document::new()));
                }
                match items.get_mut(i) {
                    Some(child) => child,
                    None if create => return Err(past_the_end(i, len)),
                    None => return Ok(None),
                }
            }
            Value::Object(map) => {
                if create && !map.contains_key(segment) {
                    map.insert(segment.clone(), Value::Object(Document::new()));
                }
                match map.get_mut(segment) {
                    Some(child) => child,
                    None => return Ok(None),
                }
            }
            _ => unreachable!("is_container admits documents and arrays only"),
        };
    }
    Ok(Some(current))
}

/// Lets `change` set, replace or create the value named by `last` in `container`: it sees `None`
/// for a missing field (or the element just past the end of an array) and leaves `Some` behind.
fn write(container: &mut Value, last: &str, change: impl FnOnce(&mut Option<Value>) -> Outcome) -> Outcome {
    match container {
        Value::Object(map) if !value::is_wrapper(map) => {
            let mut slot = map.get_mut(last).map(std::mem::take);
            change(&mut slot)?;
            // `insert` keeps an existing field in its place and appends a new one.
            map.insert(last.to_string(), slot.expect("change leaves a value"));
            Ok(())
        }
        Value::Array(items) => {
            let i = index(last, items.len())?;
            if i > items.len() {
                return Err(past_the_end(i, items.len()));
            }
            let mut slot = items.get_mut(i).map(std::mem::take);
            change(&mut slot)?;
            let new = slot.expect("change leaves a value");
            match items.get_mut(i) {
                Some(element) => *element = new,
                None => items.push(new),
            }
            Ok(())
        }
        scalar => Err(format!("cannot create field {last:?} inside {}", kind(scalar))),
    }
}

fn unset(container: &mut Value, last: &str) -> Outcome {
    match container {
        Value::Object(map) if !value::is_wrapper(map) => {
            // shift_remove, not remove: the remaining fields keep their order.
            map.shift_remove(last);
        }
        Value::Array(items) => {
            let i = index(last, items.len())?;
            if let Some(element) = items.get_mut(i) {
                *element = Value::Null;
            }
        }
        _ => {}
    }
    Ok(())
}

fn pull(container: &mut Value, last: &str, operand: &Value) -> Outcome {
    let target = match container {
        Value::Object(map) if !value::is_wrapper(map) => map.get_mut(last),
        Value::Array(items) => {
            let i = index(last, items.len())?;
            items.get_mut(i)
        }
        _ => None,
    };
    match target {
        None => Ok(()),
        Some(Value::Array(items)) => {
            items.retain(|item| !matches(item, operand));
            Ok(())
        }
        Some(other) => Err(format!("$pull needs an array, found {}", kind(other))),
    }
}

/// Whether `$pull` removes `item`: a document condition matches the documents that have each of
/// its fields with an equal value (other fields do not matter); any other value matches the
/// elements equal to it.
fn matches(item: &Value, condition: &Value) -> bool {
    match (condition, item) {
        (Value::Object(wanted), Value::Object(have)) if !value::is_wrapper(wanted) => {
            !value::is_wrapper(have) && wanted.iter().all(|(k, v)| have.get(k).is_some_and(|h| value::equal(h, v)))
        }
        (Value::Object(wanted), _) if !value::is_wrapper(wanted) => false,
        _ => value::equal(item, condition),
    }
}

/// `$inc`'s arithmetic: integer + integer stays an integer (or fails on overflow); any other mix
/// is computed in doubles.
fn add(current: &Value, increment: &Value) -> std::result::Result<Value, String> {
    let (Value::Number(a), Value::Number(b)) = (current, increment) else {
        return Err(format!("$inc needs a number, found {}", kind(current)));
    };
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.checked_add(y).map(Value::from).ok_or_else(|| format!("{x} + {y} overflows a signed 64-bit integer"));
    }
    let sum = a.as_f64().unwrap_or(f64::NAN) + b.as_f64().unwrap_or(f64::NAN);
    Number::from_f64(sum).map(Value::Number).ok_or_else(|| format!("{a} + {b} is not a finite number"))
}

/// Reads an array index: decimal digits without leading zeros. An index too large for `usize`
/// is valid but past any end, so it saturates.
fn index(segment: &str, len: usize) -> std::result::Result<usize, String> {
    let digits_only = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (segment.len() > 1 && segment.starts_with('0')) {
        return Err(format!("{segment:?} is not an array index (the array has {len} elements)"));
    }
    Ok(segment.parse().unwrap_or(usize::MAX))
}

/// Documents and arrays: what a path can walk through. A wrapper is a scalar.
fn is_container(value: &Value) -> bool {
    match value {
        Value::Array(_) => true,
        Value::Object(map) => !value::is_wrapper(map),
        _ => false,
    }
}

fn past_the_end(i: usize, len: usize) -> String {
    format!("index {i} is past the end of an array of {len} elements (only {len} appends)")
}

fn kind(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Number(_) => "a number".into(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(map) if value::is_wrapper(map) => {
            format!("a {} value", map.keys().next().map_or("", String::as_str))
        }
        Value::Object(_) => "a document".into(),
    }
}
