//! The JSON Schemas of `protocol/schemas/` (PROTOCOL.md §4), checked against themselves, against
//! the examples of `docs/PROTOCOL.md` and against every message in the conformance vectors.
//!
//! # Which objects of `protocol/vectors/` are validated
//!
//! Every `*.json` file under `protocol/vectors/` (recursively) is walked, and every JSON object
//! found anywhere in it whose `"type"` is one of the seven message types (`request`, `event`,
//! `reject`, `failure`, `replay`, `load`, `snapshot`) MUST validate against that type's schema,
//! **except** objects
//!
//! - below a key that equals `"raw"` or `"payload_text"`,
//! - below a key that starts with `"invalid"` (`"invalid_request"`, `"invalid_payload"`, …), or
//! - inside an object that has `"invalid": true` (a case marked invalid: all of it is skipped).
//!
//! Put every deliberately broken message under such a key, or mark its case. That includes
//! requests the bridge rejects as `invalid_document` or `invalid_update` for a reason the schema
//! sees (a `$where` key, an unknown operator, a bad path), not only `malformed` ones: the schemas
//! check those too. A message is validated as a whole, and the walk does not look inside it for
//! more messages (the events of a replay are checked as part of the replay; a document field
//! named `type` inside a message is not mistaken for a message).
//!
//! The examples of `docs/PROTOCOL.md` (every ```` ```json ```` block, which may hold one object
//! or several one after the other) are validated the same way, except those that elide content
//! with a `"..."` key (the replay example's placeholder event).

use jsonschema::{Registry, Validator};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The seven message types, each validated by `schemas/{type}.schema.json`.
const MESSAGE_TYPES: [&str; 7] = ["request", "event", "reject", "failure", "replay", "load", "snapshot"];

/// The base of every schema's `$id`; relative `$ref`s such as `common.schema.json#/$defs/rid`
/// resolve against it.
const ID_BASE: &str = "https://vmm.dev/schemas/v1/";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema_file(name: &str) -> Value {
    read_json(&crate_dir().join("schemas").join(format!("{name}.schema.json")))
}

/// One compiled validator per message type. `common.schema.json` is registered under its `$id`,
/// so that the message schemas' relative `$ref`s resolve offline (the crate is built without
/// its HTTP and file retrievers).
fn validators() -> &'static BTreeMap<&'static str, Validator> {
    static VALIDATORS: OnceLock<BTreeMap<&'static str, Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        let common = schema_file("common");
        let registry = Registry::new()
            .add(format!("{ID_BASE}common.schema.json"), common)
            .and_then(|builder| builder.prepare())
            .expect("common.schema.json registers");
        MESSAGE_TYPES
            .iter()
            .map(|&ty| {
                let validator = jsonschema::options()
                    .offline()
                    .with_registry(&registry)
                    .build(&schema_file(ty))
                    .unwrap_or_else(|e| panic!("{ty}.schema.json does not compile: {e}"));
                (ty, validator)
            })
            .collect()
    })
}

/// The message type of `value`, if it is an object whose `type` is one of the seven.
fn message_type(value: &Value) -> Option<&'static str> {
    let ty = value.as_object()?.get("type")?.as_str()?;
    MESSAGE_TYPES.iter().copied().find(|&t| t == ty)
}

/// The schema errors of `message` (which must have a message type), each as the JSON Pointer of
/// the offending value within the message and the error.
fn schema_errors(message: &Value) -> Vec<(String, String)> {
    let ty = message_type(message).expect("a message type");
    validators()[ty]
        .iter_errors(message)
        .map(|e| (e.instance_path().to_string(), format!("{ty}.schema.json: {e}")))
        .collect()
}

/// `errors` one a line, each prefixed with `prefix`.
fn error_lines(prefix: &str, pointer: &str, errors: &[(String, String)]) -> String {
    errors.iter().map(|(at, error)| format!("{prefix}\"{pointer}{at}\": {error}\n")).collect()
}

fn assert_valid(message: &Value) {
    let errors = schema_errors(message);
    assert!(errors.is_empty(), "{message}\n{}", error_lines("  ", "", &errors));
}

fn assert_invalid(message: &Value) {
    assert!(!schema_errors(message).is_empty(), "accepted: {message}");
}

// ---------------------------------------------------------------------------------------------
// 1. The schema files themselves.

#[test]
fn every_schema_file_is_a_valid_draft_2020_12_schema_with_its_id() {
    let dir = crate_dir().join("schemas");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("protocol/schemas/")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".schema.json"))
        .collect();
    names.sort();
    let mut expected: Vec<String> =
        MESSAGE_TYPES.iter().chain(["common"].iter()).map(|t| format!("{t}.schema.json")).collect();
    expected.sort();
    assert_eq!(names, expected, "one schema per message type, plus common.schema.json");

    for name in &names {
        let schema = read_json(&dir.join(name));
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{name} is not a valid schema: {e} at {}", e.instance_path());
        }
        assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
        assert_eq!(schema["$id"], format!("{ID_BASE}{name}"), "{name}");
        assert!(schema["title"].is_string(), "{name} has a title");
        assert!(schema["description"].is_string(), "{name} has a description");
    }
}

#[test]
fn every_message_schema_compiles_and_allows_no_unknown_fields() {
    let common = schema_file("common");
    for ty in MESSAGE_TYPES {
        assert!(validators().contains_key(ty));
        let schema = schema_file(ty);
        // The event schema is a reference to the shared definition, which replay reuses.
        let body = if ty == "event" { &common["$defs"]["event"] } else { &schema };
        assert_eq!(body["additionalProperties"], false, "{ty}: unknown fields are malformed (§4)");
        assert_eq!(body["properties"]["type"]["const"], ty, "{ty}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The examples of PROTOCOL.md.

/// The contents of every ```` ```json ```` block of `markdown`.
fn json_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == "```json" => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unclosed ```json block");
    blocks
}

/// Whether `value` has a key `"..."` anywhere: an example that elides content.
fn elides_content(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("...") || map.values().any(elides_content),
        Value::Array(items) => items.iter().any(elides_content),
        _ => false,
    }
}

#[test]
fn every_message_example_in_the_protocol_document_validates_against_its_schema() {
    let path = crate_dir().join("../docs/PROTOCOL.md");
    let markdown = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut validated, mut elided) = (0, 0);
    let mut failures = Vec::new();
    for block in json_blocks(&markdown) {
        // A block holds one object, possibly over several lines, or several objects in a row.
        for value in serde_json::Deserializer::from_str(&block).into_iter::<Value>() {
            let value = value.unwrap_or_else(|e| panic!("a ```json block of PROTOCOL.md: {e}\n{block}"));
            if message_type(&value).is_none() {
                continue;
            }
            if elides_content(&value) {
                elided += 1;
                continue;
            }
            let errors = schema_errors(&value);
            if !errors.is_empty() {
                failures.push(format!("{value}\n{}", error_lines("  ", "", &errors)));
            }
            validated += 1;
        }
    }
    println!("PROTOCOL.md: {validated} message examples validated, {elided} skipped (elided)");
    assert!(failures.is_empty(), "examples that break their schema:\n{}", failures.concat());
    assert!(validated >= 8, "only {validated} message examples found in PROTOCOL.md");
}

// ---------------------------------------------------------------------------------------------
// 3. The messages of the conformance vectors.

/// Whether the objects below `key` are left alone: deliberately invalid payloads (module docs).
fn holds_invalid_payloads(key: &str) -> bool {
    key == "raw" || key == "payload_text" || key.starts_with("invalid")
}

/// Escapes one JSON Pointer reference token (RFC 6901).
fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Collects the messages in `value` (at JSON Pointer `pointer`) by the rule of the module docs.
fn collect_messages<'v>(value: &'v Value, pointer: String, found: &mut Vec<(String, &'v Value)>) {
    if message_type(value).is_some() {
        found.push((pointer, value));
        return;
    }
    match value {
        Value::Object(map) if map.get("invalid") == Some(&Value::Bool(true)) => {}
        Value::Object(map) => {
            for (key, child) in map.iter().filter(|(key, _)| !holds_invalid_payloads(key)) {
                collect_messages(child, format!("{pointer}/{}", pointer_token(key)), found);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                collect_messages(child, format!("{pointer}/{index}"), found);
            }
        }
        _ => {}
    }
}

fn json_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            files.push(path);
        }
    }
}

#[test]
fn every_message_in_the_conformance_vectors_validates_against_its_schema() {
    let root = crate_dir().join("vectors");
    let mut files = Vec::new();
    json_files(&root, &mut files);
    files.sort();
    let (mut validated, mut failures) = (0, Vec::new());
    for file in &files {
        let vectors = read_json(file);
        let mut found = Vec::new();
        collect_messages(&vectors, String::new(), &mut found);
        for (pointer, message) in found {
            validated += 1;
            let errors = schema_errors(message);
            let file = file.strip_prefix(&root).unwrap_or(file).display();
            failures.push(error_lines(&format!("vectors/{file}: "), &pointer, &errors));
        }
    }
    println!("vectors: {validated} messages validated in {} files", files.len());
    let failures = failures.concat();
    assert!(failures.is_empty(), "vector messages that break their schema:\n{failures}");
}

#[test]
fn the_vector_walk_skips_raw_and_invalid_keys_and_invalid_cases_and_does_not_descend_into_messages() {
    let vectors = json!({"cases": [
        {"request": {"type": "request", "doc": {"type": "event"}}},
        {"raw": {"type": "request"}, "invalid_request": {"type": "load"}, "invalid": [{"type": "event"}]},
        {"steps": [{"receive": {"type": "failure"}}, {"type": "not-a-message"}]},
        {"invalid": true, "request": {"type": "request"}},
        {"invalid": false, "request": {"type": "request"}}
    ]});
    let mut found = Vec::new();
    collect_messages(&vectors, String::new(), &mut found);
    let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pointers, ["/cases/0/request", "/cases/2/steps/0/receive", "/cases/4/request"]);
}

// ---------------------------------------------------------------------------------------------
// 4. Messages the schemas refuse. Each starts from a valid message and breaks one rule.

const OID: &str = "65a1f0c2e4b0a1b2c3d4e5f6";

fn update_request() -> Value {
    json!({"type": "request", "rid": "k3x9-17", "collection": "tasks", "id": {"$oid": OID},
           "base": 3, "op": "update", "update": {"$set": {"title": "Buy milk"}}})
}

fn insert_request() -> Value {
    json!({"type": "request", "rid": "k3x9-16", "collection": "tasks", "id": 42, "base": 0,
           "op": "insert", "doc": {"_id": 42, "title": "Buy milk", "tags": ["a", {"b": 1}]}})
}

fn snapshot_replay() -> Value {
    json!({"type": "replay", "collection": "tasks", "id": "note-1", "from": 3,
           "snapshot": {"id": "note-1", "version": 5, "doc": {"_id": "note-1", "n": 1}}})
}

fn event() -> Value {
    json!({"type": "event", "collection": "tasks", "id": "note-1", "prev": 3, "version": 4,
           "client": "alice", "rid": "r1", "op": "delete"})
}

/// `base` with `changes` merged in; a `null` change removes the field.
fn with(base: Value, changes: Value) -> Value {
    let mut message = base;
    for (key, change) in changes.as_object().unwrap() {
        let fields = message.as_object_mut().unwrap();
        if change.is_null() {
            fields.remove(key);
        } else {
            fields.insert(key.clone(), change.clone());
        }
    }
    message
}

#[test]
fn the_valid_starting_points_of_the_negative_tests_are_accepted() {
    for message in [update_request(), insert_request(), snapshot_replay(), event()] {
        assert_valid(&message);
    }
    assert_valid(&with(update_request(), json!({"policy": "merge"})));
    assert_valid(&with(update_request(), json!({"id": {"$numberLong": "7"}})));
    assert_valid(&with(
        update_request(),
        json!({"update": {"$push": {"tags": {"$each": ["x", {"$date": "2026-11-28T00:00:00.000Z"}]}},
                          "$inc": {"n": 1.5}, "$unset": {"a.b.0": ""}, "$pull": {"items": {"id": 3}}}}),
    ));
    assert_valid(&with(snapshot_replay(), json!({"snapshot": null, "events": [event()]})));
    assert_valid(&json!({"type": "reject", "rid": null, "code": "malformed", "message": "not JSON"}));
    assert_valid(&json!({"type": "load", "lid": "l-3", "collection": "tasks", "ids": [7], "limit": 10}));
    assert_valid(&json!({"type": "snapshot", "lid": "l-1", "collection": "tasks", "objects": [
        {"id": 7, "version": 0, "doc": null}], "next": null}));
}

#[test]
fn a_request_with_an_unknown_field_is_refused() {
    assert_invalid(&with(update_request(), json!({"client": "alice"})));
}

#[test]
fn an_insert_without_doc_is_refused() {
    assert_invalid(&with(insert_request(), json!({"doc": null})));
}

#[test]
fn an_update_with_doc_is_refused() {
    assert_invalid(&with(update_request(), json!({"doc": {"title": "Buy milk"}})));
}

#[test]
fn an_update_without_update_is_refused() {
    assert_invalid(&with(update_request(), json!({"update": null})));
}

#[test]
fn an_insert_with_policy_is_refused() {
    assert_invalid(&with(insert_request(), json!({"policy": "strict"})));
}

#[test]
fn a_delete_with_doc_or_update_is_refused() {
    let delete = with(update_request(), json!({"op": "delete", "update": null}));
    assert_valid(&delete);
    assert_invalid(&with(delete.clone(), json!({"doc": {}})));
    assert_invalid(&with(delete, json!({"update": {"$set": {"a": 1}}})));
}

#[test]
fn a_rid_with_characters_outside_the_token_alphabet_is_refused() {
    for rid in ["k3x9 17", "k3x9/17", "", "é", &"r".repeat(65)] {
        assert_invalid(&with(update_request(), json!({"rid": rid})));
    }
}

#[test]
fn a_version_above_two_to_the_53_minus_one_is_refused() {
    assert_valid(&with(update_request(), json!({"base": 9007199254740991_u64})));
    assert_invalid(&with(update_request(), json!({"base": 9007199254740992_u64})));
    assert_invalid(&with(update_request(), json!({"base": -1})));
    assert_invalid(&with(update_request(), json!({"base": 3.5})));
}

#[test]
fn a_system_collection_is_refused() {
    assert_invalid(&with(update_request(), json!({"collection": "system.users"})));
    assert_invalid(&with(update_request(), json!({"collection": ".tasks"})));
}

#[test]
fn a_collection_name_with_an_empty_part_or_a_reserved_prefix_is_refused() {
    for bad in ["a..b", "x.", "vmm_events", "a$b", "a\u{0}b"] {
        assert_invalid(&with(update_request(), json!({ "collection": bad })));
    }
    assert_invalid(&with(update_request(), json!({ "collection": "a".repeat(121) })));
    for good in ["notes.archive", "a.b.c", "-_x", "vmm", "my_vmm_x", &"a".repeat(120)] {
        assert_valid(&with(update_request(), json!({ "collection": good })));
    }
}

#[test]
fn a_document_with_a_dollar_key_a_dotted_key_or_a_vmm_key_is_refused() {
    for doc in [
        json!({"$where": "1"}),
        json!({"a": {"$where": "1"}}),
        json!({"a": [{"b.c": 1}]}),
        json!({"_vmm_v": 3}),
        json!({"a": {"$oid": OID, "b": 1}}),
        json!({"a": {"$regularExpression": {"pattern": "x", "options": ""}}}),
        json!({"": 1}),
        json!({"_id": true}),
    ] {
        assert_invalid(&with(insert_request(), json!({"doc": doc})));
    }
    // _vmm is reserved at the top level only, and wrappers are values.
    assert_valid(&with(insert_request(), json!({"doc": {"a": {"_vmm": {"$oid": OID}}}})));
}

#[test]
fn an_update_with_an_unknown_operator_an_empty_operator_or_a_bad_path_is_refused() {
    for update in [
        json!({}),
        json!({"$rename": {"a": "b"}}),
        json!({"title": "x"}),
        json!({"$set": {}}),
        json!({"$set": {"a..b": 1}}),
        json!({"$set": {"$x": 1}}),
        json!({"$set": {"_id": 1}}),
        json!({"$set": {"_id.x": 1}}),
        json!({"$set": {"_vmm_v": 1}}),
        json!({"$inc": {"n": "1"}}),
        json!({"$push": {"tags": {"$each": 1}}}),
        json!({"$push": {"tags": {"$each": [], "$slice": 1}}}),
    ] {
        assert_invalid(&with(update_request(), json!({"update": update})));
    }
    assert_valid(&with(update_request(), json!({"update": {"$set": {"_idx": 1, "a._id": 2}}})));
}

#[test]
fn a_reject_with_a_code_outside_the_wire_codes_is_refused() {
    let reject = json!({"type": "reject", "rid": "k3x9-18", "code": "forbidden", "message": "no"});
    assert_valid(&reject);
    for code in ["aborted", "timeout", "teapot"] {
        assert_invalid(&with(reject.clone(), json!({"code": code})));
    }
}

#[test]
fn a_conflict_reject_without_current_is_refused() {
    let reject = json!({"type": "reject", "rid": "k3x9-18", "code": "conflict", "message": "old"});
    assert_invalid(&reject);
    assert_valid(&with(reject, json!({"current": 5})));
}

#[test]
fn a_replay_with_both_events_and_snapshot_or_neither_is_refused() {
    assert_invalid(&with(snapshot_replay(), json!({"events": [event()]})));
    assert_invalid(&with(snapshot_replay(), json!({"snapshot": null})));
    assert_invalid(&with(snapshot_replay(), json!({"snapshot": null, "events": []})));
}

#[test]
fn a_replay_event_that_breaks_the_event_schema_is_refused() {
    let bad_event = with(event(), json!({"op": "insert"}));
    assert_invalid(&bad_event);
    assert_invalid(&with(snapshot_replay(), json!({"snapshot": null, "events": [bad_event]})));
}

#[test]
fn an_object_state_at_version_zero_with_a_document_is_refused() {
    let state = json!({"id": 7, "version": 0, "doc": {"_id": 7}});
    assert_invalid(&with(snapshot_replay(), json!({"snapshot": state})));
}

#[test]
fn a_load_with_ids_may_carry_a_cursor_but_not_an_empty_list_or_a_limit_too_large() {
    let load = json!({"type": "load", "lid": "l-2", "collection": "tasks", "after": "o:1"});
    assert_valid(&load);
    assert_valid(&with(load.clone(), json!({"ids": [7], "after": "i:1"})));
    assert_invalid(&with(load.clone(), json!({"after": null, "ids": []})));
    assert_invalid(&with(load, json!({"limit": 1001})));
}

#[test]
fn an_event_at_version_zero_is_refused() {
    assert_invalid(&with(event(), json!({"prev": 0, "version": 0})));
}
