//! The string grammars inside wrappers: integers, doubles, decimals and base64.
//!
//! Rust's own parsers are more lenient than Extended JSON (`"+1"`, `"inf"`, `".5"`), so each
//! string is first matched against an explicit grammar, the same one every implementation can
//! write with a regular expression.

/// `-?[0-9]+` (leading zeros allowed), within `min..=max`.
pub(super) fn parse_integer(s: &str, min: i64, max: i64) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`, the JSON number grammar except that leading zeros
/// are allowed. The result may be infinite when the text overflows; callers refuse that.
pub(super) fn parse_double(s: &str) -> Option<f64> {
    is_decimal_number(s).then(|| super::float::parse(s))
}

/// A Decimal128 string: a number of the [`parse_double`] grammar, or `NaN`, `Infinity`,
/// `-Infinity` (the spellings MongoDB writes). The value is kept as an opaque string.
pub(super) fn is_decimal(s: &str) -> bool {
    matches!(s, "NaN" | "Infinity" | "-Infinity") || is_decimal_number(s)
}

fn is_decimal_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(integer)
        && fraction.is_none_or(digits)
        && exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)))
}

/// Padded RFC 4648 base64 (standard alphabet) whose unused trailing bits are zero, so that one
/// byte string has exactly one spelling and the wrapper needs no re-encoding to be canonical.
pub(super) fn is_canonical_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    if padding > 2 {
        return false;
    }
    let data = &bytes[..bytes.len() - padding];
    let Some(sextets) = data.iter().map(|&b| sextet(b)).collect::<Option<Vec<u8>>>() else {
        return false;
    };
    // With one `=` the last character carries 4 bits of data and 2 unused; with two, 2 and 4.
    let unused_mask = match padding {
        1 => 0b11,
        2 => 0b1111,
        _ => 0,
    };
    sextets.last().is_none_or(|last| last & unused_mask == 0)
}

fn sextet(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_accept_a_minus_sign_and_leading_zeros_but_nothing_else() {
        assert_eq!(parse_integer("-007", i64::MIN, i64::MAX), Some(-7));
        for bad in ["", "-", "+1", " 1", "1 ", "1.0", "1e3", "0x10"] {
            assert_eq!(parse_integer(bad, i64::MIN, i64::MAX), None, "{bad:?}");
        }
    }

    #[test]
    fn integers_outside_the_range_are_refused() {
        assert_eq!(parse_integer("2147483648", i32::MIN.into(), i32::MAX.into()), None);
        assert_eq!(parse_integer("9223372036854775808", i64::MIN, i64::MAX), None);
        assert_eq!(parse_integer("-9223372036854775808", i64::MIN, i64::MAX), Some(i64::MIN));
    }

    #[test]
    fn doubles_follow_the_json_number_grammar() {
        assert_eq!(parse_double("1"), Some(1.0));
        assert_eq!(parse_double("-1.5e+3"), Some(-1500.0));
        assert_eq!(parse_double("1E-2"), Some(0.01));
        for bad in ["", ".5", "5.", "+1", "inf", "NaN", "Infinity", "1e", "1e+", "1.e3", "--1"] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn decimals_also_accept_the_special_values_mongodb_writes() {
        for good in ["NaN", "Infinity", "-Infinity", "1.10", "-0", "1E+6144"] {
            assert!(is_decimal(good), "{good:?}");
        }
        for bad in ["nan", "-NaN", "inf", "1,5", "", "0x1"] {
            assert!(!is_decimal(bad), "{bad:?}");
        }
    }

    #[test]
    fn base64_must_be_padded_and_have_zero_unused_bits() {
        for good in ["", "QQ==", "QUI=", "QUJD", "+/+/"] {
            assert!(is_canonical_base64(good), "{good:?}");
        }
        for bad in ["QQ", "QR==", "QUJ=", "Q===", "QUJD=", "QU JD", "QU-_", "=QUJ"] {
            assert!(!is_canonical_base64(bad), "{bad:?}");
        }
    }
}
