//! Decimal text to the nearest double (ties to even): what `str::parse::<f64>` returns, in a
//! fraction of its code. Core's parser (Eisel–Lemire over a 10 KB table of powers of five, with
//! a decimal fallback) was 14.7 KB of the browser package gzipped, for the `$numberDouble`
//! wrapper alone.
//!
//! Two paths: Clinger's fast path when the digits and the power of ten are both exact doubles (one
//! IEEE multiplication or division, so one correct rounding), and otherwise exact big-integer
//! arithmetic: the quotient of digits × 10^e by a power of two, rounded on its remainder. The
//! tests check both against core's parser bit for bit, halfway points included.

use std::cmp::Ordering;

/// Significant digits kept; the digits after them only tell whether something non-zero was cut.
/// A point halfway between two doubles has at most 767 significant digits, so a value cut at 800
/// lies on the same side of every halfway point as the full value.
const MAX_DIGITS: usize = 800;

/// The value of `s`, which matches `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?` (the caller checked).
/// Too large a value gives an infinity, too small a zero, both with the sign of `s`.
pub(super) fn parse(s: &str) -> f64 {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], exponent_value(&s[i + 1..])),
        None => (s, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // A fraction is at most a payload long, far from overflowing.
    let magnitude = nearest(integer.bytes().chain(fraction.bytes()), exponent - fraction.len() as i64);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// `[+-]?[0-9]+`, saturated far beyond any double's range.
fn exponent_value(s: &str) -> i64 {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let value = digits.bytes().fold(0_i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
    if negative {
        -value
    } else {
        value
    }
}

/// The double nearest to `digits` × 10^`exp10`.
fn nearest(digits: impl Iterator<Item = u8>, mut exp10: i64) -> f64 {
    let mut kept = Vec::new();
    let mut sticky = false;
    for d in digits.map(|b| b - b'0').skip_while(|&d| d == 0) {
        if kept.len() < MAX_DIGITS {
            kept.push(d);
        } else {
            sticky |= d != 0;
            exp10 += 1;
        }
    }
    while kept.last() == Some(&0) {
        kept.pop();
        exp10 += 1;
    }
    let n = kept.len() as i64;
    // The value lies in [10^(n - 1 + exp10), 10^(n + exp10)): beyond f64::MAX (1.8e308) or
    // below half the smallest subnormal (2.5e-324), the answer is known.
    if n == 0 || n + exp10 < -324 {
        return 0.0;
    }
    if n - 1 + exp10 > 308 {
        return f64::INFINITY;
    }
    if n <= 15 && (-22..=22).contains(&exp10) {
        let mantissa = kept.iter().fold(0_u64, |acc, &d| acc * 10 + u64::from(d)) as f64;
        let power = (0..exp10.abs()).fold(1.0, |p, _| p * 10.0);
        return if exp10 < 0 { mantissa / power } else { mantissa * power };
    }
    exact(&kept, exp10, sticky)
}

/// Correctly rounded `digits` × 10^`exp10` by big-integer division: finds `k` with
/// 2^52 ≤ q = ⌊num / (den·2^k)⌋ < 2^53 (or `k` at the subnormal exponent −1074), then rounds
/// `q` on twice the remainder against the divisor.
fn exact(digits: &[u8], exp10: i64, sticky: bool) -> f64 {
    let mut num = Big::from_digits(digits);
    let mut den = Big(vec![1]);
    if exp10 > 0 {
        num.mul_pow10(exp10 as u32);
    } else {
        den.mul_pow10(exp10.unsigned_abs() as u32);
    }
    let mut k = (num.bits() as i64 - den.bits() as i64 - 53).max(-1074);
    let (mut q, mut rem, mut div) = divide(&num, &den, k);
    if q >= 1 << 53 {
        k += 1;
        (q, rem, div) = divide(&num, &den, k);
    }
    let round_up = match rem.shl(1).cmp(&div) {
        Ordering::Greater => true,
        Ordering::Less => false,
        // Exactly halfway for the digits kept: a cut digit breaks the tie upwards.
        Ordering::Equal => sticky || q & 1 == 1,
    };
    q += u64::from(round_up);
    if q == 1 << 53 {
        q >>= 1;
        k += 1;
    }
    if q < 1 << 52 {
        // Only at k = −1074: a subnormal (or zero), whose bits are q itself.
        return f64::from_bits(q);
    }
    let biased = k + 1075;
    if biased >= 2047 {
        return f64::INFINITY;
    }
    f64::from_bits(((biased as u64) << 52) | (q & ((1 << 52) - 1)))
}

/// ⌊num / (den·2^k)⌋, which must be below 2^54, with the remainder and the divisor, both scaled
/// so that the dividend is an integer.
fn divide(num: &Big, den: &Big, k: i64) -> (u64, Big, Big) {
    let (mut rem, div) =
        if k >= 0 { (num.clone(), den.shl(k as u32)) } else { (num.shl(k.unsigned_abs() as u32), den.clone()) };
    let mut q = 0;
    for bit in (0..54).rev() {
        let step = div.shl(bit);
        if rem >= step {
            rem.sub(&step);
            q |= 1 << bit;
        }
    }
    (q, rem, div)
}

/// A non-negative big integer: little-endian 32-bit limbs, no high zero limbs (zero is empty).
#[derive(Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let value = chunk.iter().fold(0, |acc, &d| acc * 10 + u32::from(d));
            big.mul_add(10_u32.pow(chunk.len() as u32), value);
        }
        big
    }

    fn mul_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut exp: u32) {
        while exp > 0 {
            let step = exp.min(9);
            self.mul_add(10_u32.pow(step), 0);
            exp -= step;
        }
    }

    fn bits(&self) -> u32 {
        self.0.last().map_or(0, |top| 32 * self.0.len() as u32 - top.leading_zeros())
    }

    fn shl(&self, shift: u32) -> Big {
        let (limbs, bits) = ((shift / 32) as usize, shift % 32);
        let mut out = vec![0; limbs];
        let mut carry = 0;
        for &limb in &self.0 {
            let wide = (u64::from(limb) << bits) | carry;
            out.push(wide as u32);
            carry = wide >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        let mut big = Big(out);
        big.trim();
        big
    }

    /// `self -= other`, with `other <= self`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let (d, b1) = limb.overflowing_sub(other.0.get(i).copied().unwrap_or(0));
            let (d, b2) = d.overflowing_sub(borrow);
            *limb = d;
            borrow = u32::from(b1 || b2);
        }
        self.trim();
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests;
