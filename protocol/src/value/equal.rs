//! Equality of values (§3.2).

use super::Value;
use serde_json::Number;

/// Whether two canonical values are equal (§3.2): numbers by mathematical value (`1` equals
/// `1.0`, and an integer equals a double only if the double is exactly that integer), strings,
/// booleans and null by identity, arrays element by element in order, documents field by field
/// whatever the order of their fields, wrappers by their (canonical) content.
///
/// Both values should be canonical ([`canonicalize`](super::canonicalize)); a non-canonical
/// wrapper such as `{"$numberInt": "1"}` is compared as the object it is.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Array(xs), Value::Array(ys)) => xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| equal(x, y)),
        // Wrappers are objects too: comparing their fields is comparing their content.
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len() && xs.iter().all(|(k, x)| ys.get(k).is_some_and(|y| equal(x, y)))
        }
        _ => a == b,
    }
}

/// Compares without going through `f64` when an integer is involved: `9007199254740993` is not
/// `9007199254740992.0`, although both become the same double.
fn numbers_equal(x: &Number, y: &Number) -> bool {
    match (integer(x), integer(y)) {
        (Some(i), Some(j)) => i == j,
        (Some(i), None) => integer_equals_double(i, y.as_f64()),
        (None, Some(j)) => integer_equals_double(j, x.as_f64()),
        // `==` on f64 makes -0.0 equal 0.0, as mathematics does; NaN cannot occur in a Value.
        (None, None) => x.as_f64() == y.as_f64(),
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

fn integer_equals_double(i: i128, d: Option<f64>) -> bool {
    // Any double with no fraction and a magnitude below 2^127 converts to i128 exactly.
    d.is_some_and(|d| d.fract() == 0.0 && d.abs() < 1.7e38 && d as i128 == i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_integer_equals_the_double_of_the_same_value() {
        assert!(equal(&json!(1), &json!(1.0)));
        assert!(equal(&json!(-0.0), &json!(0)));
        assert!(!equal(&json!(1), &json!(1.5)));
    }

    #[test]
    fn a_large_integer_is_not_equal_to_a_nearby_double() {
        assert!(!equal(&json!(9_007_199_254_740_993_i64), &json!(9_007_199_254_740_992.0)));
        assert!(equal(&json!(9_007_199_254_740_992_i64), &json!(9_007_199_254_740_992.0)));
        assert!(!equal(&json!(i64::MAX), &json!(9_223_372_036_854_775_807.0)));
        assert!(!equal(&json!(1), &json!(1e300)));
    }

    #[test]
    fn documents_are_equal_whatever_their_field_order() {
        assert!(equal(&json!({"a": 1, "b": [1, {"c": 2, "d": 3}]}), &json!({"b": [1.0, {"d": 3, "c": 2}], "a": 1})));
        assert!(!equal(&json!({"a": 1}), &json!({"a": 1, "b": null})));
    }

    #[test]
    fn arrays_are_compared_in_order() {
        assert!(!equal(&json!([1, 2]), &json!([2, 1])));
        assert!(!equal(&json!([1]), &json!([1, 1])));
    }

    #[test]
    fn values_of_different_types_are_never_equal() {
        assert!(!equal(&json!("1"), &json!(1)));
        assert!(!equal(&json!(null), &json!(false)));
        assert!(!equal(&json!([]), &json!({})));
        assert!(!equal(&json!({"$numberDecimal": "1"}), &json!(1)));
    }
}
