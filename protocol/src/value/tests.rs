use super::*;
use crate::error::Code;
use proptest::prelude::*;
use serde_json::json;

fn canon(value: Value) -> Result<Value> {
    canonicalize(value, &Limits::default())
}

fn refused_at(value: Value) -> Option<String> {
    let error = canon(value).expect_err("should be refused");
    assert_eq!(error.code(), Code::InvalidDocument);
    error.path().map(str::to_string)
}

/// A value nested `levels` documents deep: `{"a": {"a": ... 1}}`.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!({ "a": inner }))
}

#[test]
fn plain_json_is_already_canonical() {
    let value = json!({"s": "x", "n": -3, "d": 1.5, "b": true, "z": null, "a": [1, {"k": []}]});
    assert_eq!(canon(value.clone()).unwrap(), value);
}

#[test]
fn number_wrappers_become_plain_numbers() {
    assert_eq!(canon(json!({"$numberInt": "-12"})).unwrap(), json!(-12));
    assert_eq!(canon(json!({"$numberLong": "9223372036854775807"})).unwrap(), json!(i64::MAX));
    assert_eq!(canon(json!({"$numberDouble": "2"})).unwrap(), json!(2.0));
    assert_eq!(serde_json::to_string(&canon(json!({"$numberDouble": "2"})).unwrap()).unwrap(), "2.0");
}

#[test]
fn a_number_int_outside_32_bits_is_refused() {
    assert_eq!(refused_at(json!({"x": {"$numberInt": "2147483648"}})).as_deref(), Some("x"));
}

#[test]
fn non_finite_doubles_are_refused() {
    for text in ["NaN", "Infinity", "-Infinity", "1e400"] {
        assert_eq!(refused_at(json!({"x": {"$numberDouble": text}})).as_deref(), Some("x"));
    }
}

#[test]
fn an_integer_above_the_64_bit_range_is_refused() {
    let value: Value = serde_json::from_str(r#"{"big": [9223372036854775808]}"#).unwrap();
    assert_eq!(refused_at(value).as_deref(), Some("big.0"));
}

#[test]
fn object_ids_are_written_in_lower_case() {
    let value = json!({"$oid": "65A1F0C2E4B0A1B2C3D4E5F6"});
    assert_eq!(canon(value).unwrap(), json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"}));
    assert_eq!(refused_at(json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f"})), None);
}

#[test]
fn dates_in_1970_to_9999_become_utc_strings_with_milliseconds() {
    let value = json!({"$date": "2024-05-06T07:08:09+02:00"});
    assert_eq!(canon(value).unwrap(), json!({"$date": "2024-05-06T05:08:09.000Z"}));
    let value = json!({"$date": {"$numberLong": "1000"}});
    assert_eq!(canon(value).unwrap(), json!({"$date": "1970-01-01T00:00:01.000Z"}));
}

#[test]
fn dates_before_1970_keep_their_milliseconds_as_a_number_long_string() {
    let value = json!({"$date": "1969-12-31T23:59:59Z"});
    assert_eq!(canon(value).unwrap(), json!({"$date": {"$numberLong": "-1000"}}));
}

#[test]
fn decimals_are_kept_as_written() {
    let value = json!({"$numberDecimal": "1.10"});
    assert_eq!(canon(value.clone()).unwrap(), value);
    assert_eq!(refused_at(json!({"$numberDecimal": 1.1})), None);
}

#[test]
fn binary_sub_types_are_written_in_lower_case_and_fields_in_a_fixed_order() {
    let value = json!({"$binary": {"subType": "8A", "base64": "AQI="}});
    let out = canon(value).unwrap();
    assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"$binary":{"base64":"AQI=","subType":"8a"}}"#);
}

#[test]
fn other_dollar_keys_are_refused_at_their_path() {
    assert_eq!(
        refused_at(json!({"a": {"$regularExpression": {"pattern": "x"}}})).as_deref(),
        Some("a.$regularExpression")
    );
    assert_eq!(refused_at(json!({"a": [{"$oid": "65a1f0c2e4b0a1b2c3d4e5f6", "b": 1}]})).as_deref(), Some("a.0.$oid"));
}

#[test]
fn bad_field_names_are_refused_at_their_path() {
    assert_eq!(refused_at(json!({"a": {"": 1}})).as_deref(), Some("a."));
    assert_eq!(refused_at(json!({"a.b": 1})).as_deref(), Some("a.b"));
    assert_eq!(refused_at(json!({"nul\u{0}": 1})).as_deref(), Some("nul\u{0}"));
    let long = "é".repeat(128);
    assert!(refused_at(json!({ long.clone(): 1 })).is_some());
    assert!(canon(json!({ "x".repeat(255): 1 })).is_ok());
}

#[test]
fn the_deepest_allowed_document_has_exactly_max_depth_levels() {
    assert!(canon(nested(32)).is_ok());
    let path = refused_at(nested(33)).unwrap();
    assert_eq!(path, vec!["a"; 32].join("."));
}

#[test]
fn wrappers_do_not_count_as_a_level() {
    let value = (0..31).fold(json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"}), |inner, _| json!({ "a": inner }));
    assert_eq!(depth(&value), 31);
    assert!(canon(value).is_ok());
}

#[test]
fn depth_counts_documents_and_arrays() {
    assert_eq!(depth(&json!(1)), 0);
    assert_eq!(depth(&json!({})), 1);
    assert_eq!(depth(&json!([[], {"a": [1]}])), 3);
    assert_eq!(depth(&json!({"$date": {"$numberLong": "-1"}})), 0);
}

#[test]
fn serialized_len_is_the_length_of_compact_json() {
    let value = json!({"a": [1, 2.5, "é"], "b": null});
    assert_eq!(serialized_len(&value), serde_json::to_string(&value).unwrap().len());
}

#[test]
fn is_wrapper_looks_at_the_shape_only() {
    let map = |v: Value| v.as_object().unwrap().clone();
    assert!(is_wrapper(&map(json!({"$oid": 1}))));
    assert!(!is_wrapper(&map(json!({"$oid": "x", "y": 1}))));
    assert!(!is_wrapper(&map(json!({"$where": "x"}))));
    assert!(!is_wrapper(&map(json!({}))));
}

#[test]
fn a_document_must_be_an_object_and_not_a_wrapper() {
    let limits = Limits::default();
    assert!(canonicalize_document(json!([1]), &limits).is_err());
    assert!(canonicalize_document(json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"}), &limits).is_err());
    assert!(canonicalize_document(json!({}), &limits).unwrap().is_empty());
}

#[test]
fn top_level_vmm_fields_are_refused_but_nested_ones_are_not() {
    let limits = Limits::default();
    let error = canonicalize_document(json!({"a": 1, "_vmm_v": 3}), &limits).unwrap_err();
    assert_eq!((error.code(), error.path()), (Code::InvalidDocument, Some("_vmm_v")));
    assert!(canonicalize_document(json!({"a": {"_vmm_v": 3}}), &limits).is_ok());
}

#[test]
fn a_document_larger_than_max_document_is_refused() {
    let limits = Limits { max_document: 20, ..Limits::default() };
    assert!(canonicalize_document(json!({"a": "x".repeat(12)}), &limits).is_ok()); // 20 bytes
    let error = canonicalize_document(json!({"a": "x".repeat(13)}), &limits).unwrap_err();
    assert_eq!((error.code(), error.path()), (Code::InvalidDocument, None));
}

#[test]
fn canonicalize_document_keeps_field_order() {
    let doc = canonicalize_document(json!({"z": 1, "a": {"$numberLong": "2"}, "m": 3}), &Limits::default()).unwrap();
    assert_eq!(doc.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
}

/// Arbitrary valid input values, wrappers (canonical or not) included.
pub(crate) fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-z]{0,4}".prop_map(Value::from),
        "[0-9a-fA-F]{24}".prop_map(|hex| json!({"$oid": hex})),
        any::<i32>().prop_map(|i| json!({"$numberInt": i.to_string()})),
        (-70_000_000_000_000i64..300_000_000_000_000).prop_map(|ms| json!({"$date": {"$numberLong": ms.to_string()}})),
        "-?[0-9]{1,5}(\\.[0-9]{1,3})?".prop_map(|d| json!({"$numberDecimal": d})),
        "[0-9a-fA-F]{2}".prop_map(|t| json!({"$binary": {"subType": t, "base64": "AQI="}})),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-c_]{1,3}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Reverses the field order of every document, wrappers' contents included.
fn reversed(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        Value::Object(map) => Value::Object(map.iter().rev().map(|(k, v)| (k.clone(), reversed(v))).collect()),
        other => other.clone(),
    }
}

proptest! {
    #[test]
    fn canonicalize_is_idempotent(value in any_value()) {
        let once = canon(value).unwrap();
        let twice = canon(once.clone()).unwrap();
        prop_assert_eq!(serde_json::to_string(&once).unwrap(), serde_json::to_string(&twice).unwrap());
    }

    #[test]
    fn equal_is_reflexive_and_ignores_field_order(value in any_value()) {
        let value = canon(value).unwrap();
        prop_assert!(equal(&value, &value));
        let other = canon(reversed(&value)).unwrap();
        prop_assert!(equal(&value, &other));
        prop_assert!(equal(&other, &value));
    }

    #[test]
    fn equal_is_symmetric(a in any_value(), b in any_value()) {
        let (a, b) = (canon(a).unwrap(), canon(b).unwrap());
        prop_assert_eq!(equal(&a, &b), equal(&b, &a));
    }

    #[test]
    fn an_integer_and_a_double_are_equal_exactly_when_the_double_is_that_integer(i in any::<i64>(), delta in -2i64..=2) {
        let d = (i as f64) + delta as f64;
        let exact = d.fract() == 0.0 && (-9.223372036854776e18..9.223372036854776e18).contains(&d) && d as i64 == i;
        prop_assert_eq!(equal(&json!(i), &json!(d)), exact);
    }

    #[test]
    fn depth_of_a_canonical_value_never_exceeds_the_limit(value in any_value()) {
        let value = canon(value).unwrap();
        prop_assert!(depth(&value) <= Limits::default().max_depth);
    }
}
