use super::*;
use crate::error::{Code, Violation};
use crate::value::{self, canonicalize};
use proptest::prelude::*;
use serde_json::json;

fn parse(update: Value) -> Result<Update> {
    Update::parse(update, &Limits::default())
}

fn doc(value: Value) -> Document {
    value.as_object().expect("a document").clone()
}

fn applied(start: Value, update: Value) -> Result<Value> {
    parse(update)?.apply(&doc(start), &Limits::default()).map(Value::Object)
}

/// Compares exactly, field order included.
fn assert_applies(start: Value, update: Value, expected: Value) {
    let got = applied(start, update).expect("should apply");
    assert_eq!(serde_json::to_string(&got).unwrap(), serde_json::to_string(&expected).unwrap());
}

fn assert_refused(result: Result<impl std::fmt::Debug>, code: Code, path: Option<&str>) -> Violation {
    let error = result.expect_err("should be refused");
    assert_eq!((error.code(), error.path()), (code, path), "{error}");
    error
}

#[test]
fn an_update_must_be_a_non_empty_object_of_known_operators() {
    assert_refused(parse(json!([])), Code::InvalidUpdate, None);
    assert_refused(parse(json!({})), Code::InvalidUpdate, None);
    assert_refused(parse(json!({"$rename": {"a": "b"}})), Code::InvalidUpdate, None);
    assert_refused(parse(json!({"title": "x"})), Code::InvalidUpdate, None);
    assert_refused(parse(json!({"$set": {}})), Code::InvalidUpdate, None);
    assert_refused(parse(json!({"$set": [1]})), Code::InvalidUpdate, None);
}

#[test]
fn overlapping_paths_are_refused_at_the_later_one() {
    assert_refused(parse(json!({"$set": {"a": 1, "a.b": 2}})), Code::InvalidUpdate, Some("a.b"));
    assert_refused(parse(json!({"$set": {"a.b": 1}, "$unset": {"a": ""}})), Code::InvalidUpdate, Some("a"));
    assert!(parse(json!({"$set": {"a": 1, "ab": 2}})).is_ok());
}

#[test]
fn more_than_256_paths_are_refused() {
    let fields = |n: usize| Value::Object((0..n).map(|i| (format!("f{i}"), json!(1))).collect());
    assert!(parse(json!({ "$set": fields(256) })).is_ok());
    assert_refused(parse(json!({ "$set": fields(257) })), Code::InvalidUpdate, None);
}

#[test]
fn bad_values_are_invalid_documents_located_inside_the_value() {
    let result = parse(json!({"$set": {"a.b": {"c": [{"$where": "1"}]}}}));
    assert_refused(result, Code::InvalidDocument, Some("a.b.c.0.$where"));
    let result = parse(json!({"$push": {"tags": {"$each": [1, {"$oid": "x"}]}}}));
    assert_refused(result, Code::InvalidDocument, Some("tags.$each.1"));
}

#[test]
fn inc_takes_only_numbers_but_accepts_number_wrappers() {
    let update = parse(json!({"$inc": {"n": {"$numberLong": "5"}}})).unwrap();
    assert_eq!(update.to_value(), json!({"$inc": {"n": 5}}));
    assert_refused(parse(json!({"$inc": {"n": "1"}})), Code::InvalidUpdate, Some("n"));
    assert_refused(parse(json!({"$inc": {"n": {"$numberDecimal": "1"}}})), Code::InvalidUpdate, Some("n"));
}

#[test]
fn each_must_be_the_only_key_and_hold_an_array() {
    assert_refused(parse(json!({"$push": {"t": {"$each": [1], "$slice": 2}}})), Code::InvalidUpdate, Some("t"));
    assert_refused(parse(json!({"$push": {"t": {"$each": 1}}})), Code::InvalidUpdate, Some("t"));
}

#[test]
fn to_value_keeps_the_written_order_and_canonical_values() {
    let update =
        parse(json!({"$unset": {"z": 1}, "$set": {"b": {"$oid": "65A1F0C2E4B0A1B2C3D4E5F6"}, "a": 1}})).unwrap();
    let text = serde_json::to_string(&update).unwrap();
    assert_eq!(text, r#"{"$unset":{"z":1},"$set":{"b":{"$oid":"65a1f0c2e4b0a1b2c3d4e5f6"},"a":1}}"#);
    assert_eq!(update.paths().map(Path::as_str).collect::<Vec<_>>(), ["z", "b", "a"]);
}

#[test]
fn updates_overlap_when_any_of_their_paths_do() {
    let a = parse(json!({"$set": {"x": 1, "y.z": 2}})).unwrap();
    assert!(a.overlaps(&parse(json!({"$unset": {"y": 1}})).unwrap()));
    assert!(!a.overlaps(&parse(json!({"$inc": {"yz": 1, "w": 1}})).unwrap()));
}

#[test]
fn set_keeps_existing_fields_in_place_and_appends_new_ones() {
    assert_applies(json!({"a": 1, "b": 2}), json!({"$set": {"c": 3, "a": 9}}), json!({"a": 9, "b": 2, "c": 3}));
}

#[test]
fn set_creates_missing_intermediate_documents() {
    assert_applies(json!({"x": 0}), json!({"$set": {"a.b.c": 1}}), json!({"x": 0, "a": {"b": {"c": 1}}}));
}

#[test]
fn set_at_the_length_of_an_array_appends_and_past_it_is_refused() {
    assert_applies(json!({"t": [1]}), json!({"$set": {"t.1": 2}}), json!({"t": [1, 2]}));
    assert_applies(json!({"t": [1]}), json!({"$set": {"t.1.a": 2}}), json!({"t": [1, {"a": 2}]}));
    assert_refused(applied(json!({"t": [1]}), json!({"$set": {"t.2": 2}})), Code::InvalidUpdate, Some("t.2"));
}

#[test]
fn set_refuses_non_index_segments_in_arrays() {
    assert_refused(applied(json!({"t": [1]}), json!({"$set": {"t.01": 2}})), Code::InvalidUpdate, Some("t.01"));
    assert_refused(applied(json!({"t": [1]}), json!({"$set": {"t.x": 2}})), Code::InvalidUpdate, Some("t.x"));
}

#[test]
fn set_refuses_to_create_a_field_inside_a_scalar_or_a_wrapper() {
    assert_refused(applied(json!({"a": "s"}), json!({"$set": {"a.b": 1}})), Code::InvalidUpdate, Some("a.b"));
    let start = json!({"d": {"$date": "2024-01-01T00:00:00.000Z"}});
    assert_refused(applied(start, json!({"$set": {"d.x": 1}})), Code::InvalidUpdate, Some("d.x"));
}

#[test]
fn unset_removes_a_field_and_keeps_the_order_of_the_rest() {
    assert_applies(json!({"a": 1, "b": 2, "c": 3}), json!({"$unset": {"a": ""}}), json!({"b": 2, "c": 3}));
}

#[test]
fn unset_of_something_missing_or_below_a_scalar_does_nothing() {
    let start = json!({"a": 1, "t": [1]});
    assert_applies(start.clone(), json!({"$unset": {"x.y": 1, "a.b": 1, "t.5": 1}}), start);
}

#[test]
fn unset_of_an_array_element_sets_it_to_null() {
    assert_applies(json!({"t": [1, 2, 3]}), json!({"$unset": {"t.1": true}}), json!({"t": [1, null, 3]}));
}

#[test]
fn inc_adds_integers_and_refuses_overflow() {
    assert_applies(json!({"n": 1}), json!({"$inc": {"n": -3}}), json!({"n": -2}));
    let overflow = applied(json!({"n": i64::MAX}), json!({"$inc": {"n": 1}}));
    assert_refused(overflow, Code::InvalidUpdate, Some("n"));
}

#[test]
fn inc_of_an_integer_by_a_double_gives_a_double() {
    assert_applies(json!({"n": 1}), json!({"$inc": {"n": 1.0}}), json!({"n": 2.0}));
    let infinite = applied(json!({"n": 1.7e308}), json!({"$inc": {"n": 1.7e308}}));
    assert_refused(infinite, Code::InvalidUpdate, Some("n"));
}

#[test]
fn inc_creates_a_missing_field_and_refuses_non_numbers() {
    assert_applies(json!({}), json!({"$inc": {"a.n": 2}}), json!({"a": {"n": 2}}));
    assert_refused(applied(json!({"n": null}), json!({"$inc": {"n": 1}})), Code::InvalidUpdate, Some("n"));
    let decimal = json!({"n": {"$numberDecimal": "1"}});
    assert_refused(applied(decimal, json!({"$inc": {"n": 1}})), Code::InvalidUpdate, Some("n"));
}

#[test]
fn push_appends_one_value_or_each_value() {
    assert_applies(json!({"t": [1]}), json!({"$push": {"t": [2]}}), json!({"t": [1, [2]]}));
    assert_applies(json!({"t": [1]}), json!({"$push": {"t": {"$each": [2, 3]}}}), json!({"t": [1, 2, 3]}));
    assert_applies(json!({}), json!({"$push": {"t": 1}}), json!({"t": [1]}));
    assert_refused(applied(json!({"t": {}}), json!({"$push": {"t": 1}})), Code::InvalidUpdate, Some("t"));
}

#[test]
fn pull_removes_equal_elements_and_matching_documents() {
    assert_applies(json!({"t": [1, 2.0, "2", 2]}), json!({"$pull": {"t": 2}}), json!({"t": [1, "2"]}));
    let start = json!({"items": [{"id": 3, "n": 1}, {"id": 4}, {"id": 3.0}, 3]});
    assert_applies(start, json!({"$pull": {"items": {"id": 3}}}), json!({"items": [{"id": 4}, 3]}));
}

#[test]
fn pull_of_something_missing_does_nothing_but_a_non_array_is_refused() {
    assert_applies(json!({"a": 1}), json!({"$pull": {"t": 1, "a.b": 1}}), json!({"a": 1}));
    assert_refused(applied(json!({"t": "x"}), json!({"$pull": {"t": 1}})), Code::InvalidUpdate, Some("t"));
}

#[test]
fn a_failing_path_leaves_the_document_untouched() {
    let start = doc(json!({"a": 1, "s": "x"}));
    let update = parse(json!({"$set": {"a": 2}, "$inc": {"s": 1}})).unwrap();
    assert!(update.apply(&start, &Limits::default()).is_err());
    assert_eq!(start, doc(json!({"a": 1, "s": "x"})));
}

#[test]
fn a_result_too_deep_or_too_large_is_an_invalid_document() {
    let limits = Limits { max_depth: 2, ..Limits::default() };
    let update = Update::parse(json!({"$set": {"a.b": {}}}), &limits).unwrap();
    assert_refused(update.apply(&Document::new(), &limits), Code::InvalidDocument, None);
    let limits = Limits { max_document: 10, ..Limits::default() };
    let update = Update::parse(json!({"$set": {"a": "0123456789"}}), &limits).unwrap();
    assert_refused(update.apply(&Document::new(), &limits), Code::InvalidDocument, None);
}

/// Paths of one to three segments over a small alphabet, so that overlaps happen.
fn any_path() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-c]", 1..4).prop_map(|segments| segments.join("."))
}

proptest! {
    #[test]
    fn an_update_parsed_from_its_own_value_is_the_same_update(
        sets in prop::collection::vec((any_path(), value::tests::any_value()), 1..4),
        unsets in prop::collection::vec(any_path(), 0..3),
    ) {
        let mut update = Document::new();
        update.insert("$set".into(), Value::Object(sets.into_iter().collect()));
        if !unsets.is_empty() {
            update.insert("$unset".into(), Value::Object(unsets.into_iter().map(|p| (p, json!(1))).collect()));
        }
        if let Ok(parsed) = parse(Value::Object(update)) {
            let again = parse(parsed.to_value()).unwrap();
            prop_assert_eq!(serde_json::to_string(&again).unwrap(), serde_json::to_string(&parsed).unwrap());
            prop_assert_eq!(again, parsed);
        }
    }

    #[test]
    fn after_set_the_path_reads_back_the_value(path in any_path(), value in value::tests::any_value()) {
        let update = parse(json!({"$set": { path.clone(): value.clone() }})).unwrap();
        let result = update.apply(&doc(json!({"a": {"b": 1}, "c": [1]})), &Limits::default());
        if let Ok(result) = result {
            let mut cursor = &Value::Object(result);
            for segment in path.split('.') {
                cursor = match cursor {
                    Value::Array(items) => &items[segment.parse::<usize>().unwrap()],
                    other => &other[segment],
                };
            }
            let expected = canonicalize(value, &Limits::default()).unwrap();
            prop_assert!(value::equal(cursor, &expected));
        }
    }
}
