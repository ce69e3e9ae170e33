//! The walk behind [`canonicalize`](super::canonicalize): field names, depth, numbers, and the
//! hand-off of wrappers to the `wrapper` module.

use super::{is_wrapper, wrapper, Value};
use crate::error::{Result, Violation};
use crate::limits::Limits;

/// Where the walk is, as a chain of borrowed segments: the dotted path is only built when an error
/// needs it, so a valid document costs no string allocation per field.
#[derive(Clone, Copy)]
enum Loc<'a> {
    Root,
    Key(&'a Loc<'a>, &'a str),
    Index(&'a Loc<'a>, usize),
}

impl Loc<'_> {
    fn render(&self) -> String {
        match self {
            Loc::Root => String::new(),
            Loc::Key(parent, key) => join(parent.render(), key),
            Loc::Index(parent, index) => join(parent.render(), &index.to_string()),
        }
    }

    /// Locates an error here; at the root there is no path to give.
    fn locate(&self, violation: Violation) -> Violation {
        let path = self.render();
        if path.is_empty() {
            violation
        } else {
            violation.at(path)
        }
    }
}

fn join(parent: String, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_string()
    } else {
        format!("{parent}.{segment}")
    }
}

/// Canonicalises in place: only wrappers are replaced, so documents keep their maps (no field is
/// moved or hashed again).
pub(super) fn walk(value: &mut Value, limits: &Limits) -> Result<()> {
    walk_at(value, &Loc::Root, 0, limits)
}

/// `level` is the number of documents and arrays around `value`.
fn walk_at(value: &mut Value, loc: &Loc<'_>, level: usize, limits: &Limits) -> Result<()> {
    match value {
        Value::Number(n) => number(n).map_err(|e| loc.locate(e)),
        Value::Array(items) => {
            check_depth(level + 1, loc, limits)?;
            for (i, item) in items.iter_mut().enumerate() {
                walk_at(item, &Loc::Index(loc, i), level + 1, limits)?;
            }
            Ok(())
        }
        Value::Object(map) if is_wrapper(map) => {
            *value = wrapper::canonicalize(std::mem::take(map)).map_err(|e| loc.locate(e))?;
            Ok(())
        }
        Value::Object(map) => {
            check_depth(level + 1, loc, limits)?;
            for (key, child) in map.iter_mut() {
                let child_loc = Loc::Key(loc, key);
                if let Some(problem) = field_name_problem(key) {
                    return Err(child_loc.locate(Violation::invalid_document(problem)));
                }
                walk_at(child, &child_loc, level + 1, limits)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_depth(level: usize, loc: &Loc<'_>, limits: &Limits) -> Result<()> {
    if level > limits.max_depth {
        return Err(loc.locate(Violation::invalid_document(format!(
            "documents and arrays nest deeper than {} levels",
            limits.max_depth
        ))));
    }
    Ok(())
}

/// What is wrong with a field name by the rules of §3.5, if anything. Update paths share these
/// rules for their segments (§7.1) but report them with another code, hence no `Violation` here.
pub(crate) fn field_name_problem(name: &str) -> Option<&'static str> {
    let problem = if name.is_empty() {
        "a field name cannot be empty"
    } else if name.len() > Limits::MAX_FIELD_NAME {
        "a field name is at most 255 UTF-8 bytes"
    } else if name.starts_with('$') {
        "a field name cannot start with $ (only the wrappers of §3.1 may)"
    } else if name.contains('.') {
        "a field name cannot contain ."
    } else if name.contains('\0') {
        "a field name cannot contain NUL"
    } else {
        return None;
    };
    Some(problem)
}

/// serde_json already refuses NaN and infinities, so the only bad number left is an integer
/// above `i64::MAX` (parsed as `u64`). Integers below `i64::MIN` reach us as doubles: serde_json
/// without `arbitrary_precision` cannot tell `-9223372036854775809` from `-9.223372036854776e18`.
fn number(n: &serde_json::Number) -> Result<()> {
    if n.is_u64() && !n.is_i64() {
        return Err(Violation::invalid_document(format!("the integer {n} is outside the signed 64-bit range")));
    }
    Ok(())
}
