//! Runs the conformance vectors `vectors/values.json` (§3) and `vectors/update.json` (§7).
//!
//! Every case runs even when an earlier one fails, and the test then fails listing the names of
//! all failing cases, so that one broken rule does not hide the others.

// The vector files, embedded (declared by the including crate when this runs in wasm).
#[cfg(not(target_arch = "wasm32"))]
mod vector_files;

use serde_json::Value;
use vmm_protocol::update::Update;
use vmm_protocol::value::{self, Document};
use vmm_protocol::{Limits, Violation};

fn load(file: &str) -> Vec<Value> {
    let path = file;
    let text = crate::vector_files::text(file);
    let mut root: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
    assert!(root["description"].is_string(), "{path} has no description");
    match root["cases"].take() {
        Value::Array(cases) if !cases.is_empty() => cases,
        _ => panic!("{path} has no cases"),
    }
}

/// Runs every case and fails with the list of the failing ones.
fn run(file: &str, check: impl Fn(&Value) -> Result<(), String>) -> usize {
    let cases = load(file);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let name = case["name"].as_str().unwrap_or("<a case without a name>");
            check(case).err().map(|why| format!("  {name}: {why}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases of {file} fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

fn limits(case: &Value) -> Limits {
    let mut limits = Limits::default();
    if let Some(given) = case.get("limits") {
        let field = |name: &str| given.get(name).and_then(Value::as_u64).map(|n| n as usize);
        limits.max_depth = field("max_depth").unwrap_or(limits.max_depth);
        limits.max_document = field("max_document").unwrap_or(limits.max_document);
    }
    limits
}

fn text(value: &Value) -> String {
    serde_json::to_string(value).expect("a Value serialises")
}

/// The output must be equal by §3.2 and also written identically (field order, `1` vs `1.0`).
fn same_output(got: &Value, expected: &Value) -> Result<(), String> {
    if value::equal(got, expected) && text(got) == text(expected) {
        Ok(())
    } else {
        Err(format!("expected {}, got {}", text(expected), text(got)))
    }
}

/// Compares an outcome with a case's `output`/`result` or `error` (`path`: null means no path, an
/// absent key means the path is not checked).
fn expect(outcome: Result<Value, Violation>, case: &Value, success_key: &str) -> Result<(), String> {
    match (outcome, case.get("error")) {
        (Ok(got), None) => same_output(&got, &case[success_key]),
        (Ok(got), Some(error)) => Err(format!("expected the error {}, got {}", text(error), text(&got))),
        (Err(e), None) => {
            Err(format!("expected {}, got the error {e} (path {:?})", text(&case[success_key]), e.path()))
        }
        (Err(e), Some(error)) => {
            let code_ok = error["code"].as_str() == Some(e.code().as_str());
            let path_ok = match error.get("path") {
                None => true,
                Some(Value::Null) => e.path().is_none(),
                Some(path) => path.as_str() == e.path(),
            };
            if code_ok && path_ok {
                Ok(())
            } else {
                Err(format!("expected the error {}, got {} at {:?}: {}", text(error), e.code(), e.path(), e.message()))
            }
        }
    }
}

fn check_value_case(case: &Value) -> Result<(), String> {
    let limits = limits(case);
    match case["kind"].as_str() {
        Some("canonical") => expect(value::canonicalize(case["input"].clone(), &limits), case, "output"),
        Some("document") => {
            let outcome = value::canonicalize_document(case["input"].clone(), &limits).map(Value::Object);
            expect(outcome, case, "output")
        }
        Some("equal") => {
            let canonical = |key: &str| {
                value::canonicalize(case[key].clone(), &limits).map_err(|e| format!("{key} is not a valid value: {e}"))
            };
            let (a, b) = (canonical("a")?, canonical("b")?);
            let expected = case["equal"].as_bool().ok_or("\"equal\" is not a boolean")?;
            match (value::equal(&a, &b), value::equal(&b, &a)) {
                (ab, ba) if ab == expected && ba == expected => Ok(()),
                (ab, ba) => Err(format!("expected {expected}, got {ab} for a = b and {ba} for b = a")),
            }
        }
        other => Err(format!("unknown kind {other:?}")),
    }
}

fn check_update_case(case: &Value) -> Result<(), String> {
    let limits = limits(case);
    let doc: Document = value::canonicalize_document(case["doc"].clone(), &limits)
        .map_err(|e| format!("the case's doc is not a valid document: {e}"))?;
    if text(&Value::Object(doc.clone())) != text(&case["doc"]) {
        return Err("the case's doc is not canonical".into());
    }
    let outcome = Update::parse(case["update"].clone(), &limits).and_then(|update| {
        if let Some(canonical) = case.get("canonical") {
            same_output(&update.to_value(), canonical)
                .map_err(|why| Violation::malformed(format!("canonical: {why}")))?;
        }
        let again = Update::parse(update.to_value(), &limits)?;
        if again != update {
            return Err(Violation::malformed("the update parsed from to_value() differs"));
        }
        update.apply(&doc, &limits).map(Value::Object)
    });
    expect(outcome, case, "result")
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_values_vector_passes() {
    let count = run("values.json", check_value_case);
    assert!(count >= 40, "values.json has only {count} cases");
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn every_update_vector_passes() {
    let count = run("update.json", check_update_case);
    assert!(count >= 60, "update.json has only {count} cases");
}
