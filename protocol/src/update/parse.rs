//! Reading an update (§7.1, §7.2): everything that can be checked without a document.

use super::{Operator, Path};
use crate::error::{Result, Violation};
use crate::limits::Limits;
use crate::value::{self, Value};

pub(super) type Operations = Vec<(Operator, Vec<(Path, Value)>)>;

pub(super) fn parse(value: Value, limits: &Limits) -> Result<Operations> {
    let Value::Object(operators) = value else {
        return Err(Violation::invalid_update("an update must be a JSON object of operators"));
    };
    if operators.is_empty() {
        return Err(Violation::invalid_update("an update needs at least one operator"));
    }
    let mut seen: Vec<Path> = Vec::new();
    let mut operations = Vec::with_capacity(operators.len());
    for (name, fields) in operators {
        let op = Operator::from_name(&name).ok_or_else(|| {
            Violation::invalid_update(format!(
                "{name:?} is not an operator of the update language ($set, $unset, $inc, $push, $pull)"
            ))
        })?;
        let Value::Object(fields) = fields else {
            return Err(Violation::invalid_update(format!("{name} takes an object of paths")));
        };
        if fields.is_empty() {
            return Err(Violation::invalid_update(format!("{name} needs at least one path")));
        }
        let mut entries = Vec::with_capacity(fields.len());
        for (text, value) in fields {
            let path = Path::parse(&text)?;
            if seen.len() == Limits::MAX_UPDATE_PATHS {
                return Err(Violation::invalid_update(format!(
                    "an update has at most {} paths",
                    Limits::MAX_UPDATE_PATHS
                )));
            }
            if let Some(other) = seen.iter().find(|other| other.overlaps(&path)) {
                return Err(Violation::invalid_update(format!("{path} overlaps {other}")).at(text));
            }
            let value = operand(op, value, &path, limits)?;
            seen.push(path.clone());
            entries.push((path, value));
        }
        operations.push((op, entries));
    }
    Ok(operations)
}

/// Checks and canonicalises the value an operator gives a path.
fn operand(op: Operator, value: Value, path: &Path, limits: &Limits) -> Result<Value> {
    match op {
        Operator::Set | Operator::Unset | Operator::Pull => canonical(value, path.as_str(), limits),
        Operator::Inc => match canonical(value, path.as_str(), limits)? {
            number @ Value::Number(_) => Ok(number),
            _ => Err(Violation::invalid_update("$inc takes a number (not a Decimal128)").at(path.as_str())),
        },
        Operator::Push => match value {
            Value::Object(mut map) if map.contains_key("$each") => {
                let each = map.shift_remove("$each").expect("checked above");
                if !map.is_empty() {
                    return Err(Violation::invalid_update("$each is the only key allowed beside it").at(path.as_str()));
                }
                let Value::Array(items) = each else {
                    return Err(Violation::invalid_update("$each takes an array").at(path.as_str()));
                };
                let prefix = format!("{path}.$each");
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| canonical(item, &format!("{prefix}.{i}"), limits))
                    .collect::<Result<Vec<_>>>()?;
                let mut map = value::Document::with_capacity(1);
                map.insert("$each".into(), Value::Array(items));
                Ok(Value::Object(map))
            }
            value => canonical(value, path.as_str(), limits),
        },
    }
}

/// Canonicalises a value and locates its errors below `prefix`, where the value sits.
fn canonical(value: Value, prefix: &str, limits: &Limits) -> Result<Value> {
    value::canonicalize(value, limits).map_err(|e| {
        let path = match e.path() {
            Some(inner) => format!("{prefix}.{inner}"),
            None => prefix.to_string(),
        };
        Violation::new(e.code(), e.message()).at(path)
    })
}
