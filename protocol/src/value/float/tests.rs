//! `parse` against core's parser, bit for bit: hard cases, random decimals, shortest and long
//! forms of random doubles, and the exact halfway points between neighbouring doubles.

use super::parse;
use proptest::prelude::*;

fn same_as_core(text: &str) -> std::result::Result<(), TestCaseError> {
    let expected: f64 = text.parse().unwrap();
    let got = parse(text);
    prop_assert_eq!(got.to_bits(), expected.to_bits(), "{}: {:e} instead of {:e}", text, got, expected);
    Ok(())
}

/// The digits of (2m + 1) · 2^(e − 1), exactly, as `<integer>e<exponent>`: a point halfway
/// between the double m · 2^e and the next one. Decimal arithmetic on digit vectors, independent
/// of the implementation's binary big integers.
fn halfway(m: u64, e: i32) -> String {
    let mut digits: Vec<u8> = (2 * m + 1).to_string().bytes().rev().map(|b| b - b'0').collect();
    let p = e - 1;
    let times = |digits: &mut Vec<u8>, f: u8| {
        let mut carry = 0;
        for d in digits.iter_mut() {
            let v = *d * f + carry;
            *d = v % 10;
            carry = v / 10;
        }
        if carry > 0 {
            digits.push(carry);
        }
    };
    for _ in 0..p.unsigned_abs() {
        times(&mut digits, if p > 0 { 2 } else { 5 });
    }
    let text: String = digits.iter().rev().map(|d| char::from(b'0' + d)).collect();
    format!("{text}e{}", p.min(0))
}

#[test]
fn hard_cases_agree_with_core() {
    for text in [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "000",
        "0e999999999999",
        "1e-99999999999999",
        "1e99999999999999",
        "1",
        "-1",
        "0.1",
        "0.3",
        "1.5",
        "123456789012345678901234567890",
        "9007199254740993",
        "9007199254740992.5",
        "9007199254740993.0000000000000000001",
        "1e22",
        "1e23",
        "8.98846567431158e307",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "2e308",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "5e-324",
        "1e-400",
        "-1e-400",
        "1e400",
        "-1e400",
        "1E+2",
        "1e-0",
        "00001.00001000e0003",
        "0.000000000000000000001",
        "123.456e-789",
        "6.02214076e23",
        "3.141592653589793238462643383279",
        "7.2057594037927933e16",
    ] {
        same_as_core(text).unwrap();
    }
    assert!(parse("1e400").is_infinite() && parse("-1e400") < 0.0);
    assert!(parse("-1e-400") == 0.0 && parse("-1e-400").is_sign_negative());
}

#[test]
fn digits_beyond_800_still_break_a_tie() {
    // 2^53 + 1 is halfway between 2^53 and 2^53 + 2; anything after it rounds up.
    let tie = "9007199254740993";
    same_as_core(tie).unwrap();
    for zeros in [10, 783, 784, 785, 900, 5000] {
        same_as_core(&format!("{tie}.{}1", "0".repeat(zeros))).unwrap();
        same_as_core(&format!("{tie}{}1e-{}", "0".repeat(zeros), zeros + 1)).unwrap();
    }
}

proptest! {
    #[test]
    fn random_decimals_agree_with_core(
        integer in "[0-9]{1,30}",
        fraction in proptest::option::of("[0-9]{1,30}"),
        exponent in proptest::option::of(-400_i32..400),
        negative: bool,
    ) {
        let mut text = String::new();
        if negative { text.push('-'); }
        text.push_str(&integer);
        if let Some(f) = fraction { text.push('.'); text.push_str(&f); }
        if let Some(e) = exponent { text.push_str(&format!("e{e}")); }
        same_as_core(&text)?;
    }

    #[test]
    fn long_mantissas_agree_with_core(digits in "[1-9][0-9]{10,900}", exponent in -1300_i32..400) {
        same_as_core(&format!("{digits}e{exponent}"))?;
    }

    #[test]
    fn every_double_reads_back_from_its_shortest_and_its_long_forms(bits: u64, precision in 0_usize..40) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        same_as_core(&format!("{x:e}"))?;
        same_as_core(&format!("{x:.precision$e}"))?;
        same_as_core(&format!("{x:.precision$}"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn halfway_points_round_to_even_and_anything_beyond_them_rounds_away(
        m in (1_u64 << 52)..(1 << 53),
        e in -1074_i32..972,
    ) {
        let text = halfway(m, e);
        same_as_core(&text)?;
        let (digits, exponent) = text.split_once('e').unwrap();
        let exponent: i64 = exponent.parse().unwrap();
        // Just above and just below: plus or minus 1 in the tenth digit after the last one.
        same_as_core(&format!("{digits}0000000001e{}", exponent - 10))?;
        let mut below = format!("{digits}0000000000").into_bytes();
        let nonzero = below.iter().rposition(|&d| d != b'0').unwrap();
        below[nonzero] -= 1;
        below[nonzero + 1..].fill(b'9');
        same_as_core(&format!("{}e{}", String::from_utf8(below).unwrap(), exponent - 10))?;
    }

    #[test]
    fn subnormal_halfway_points_round_to_even(m in 0_u64..(1 << 52)) {
        same_as_core(&halfway(m, -1074))?;
    }
}
