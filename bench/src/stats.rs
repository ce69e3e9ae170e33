//! Latency summaries and the number formats of the report.

use std::time::Duration;

/// A latency distribution: count and nearest-rank percentiles.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Summary {
    pub fn of(mut samples: Vec<Duration>) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest sample with at least q of the samples at or below it.
            let rank = (q * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1]
        };
        Summary { n: samples.len(), p50: at(0.50), p90: at(0.90), p99: at(0.99), max: samples[samples.len() - 1] }
    }
}

/// Milliseconds with a precision that suits the value.
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A rate or a count with a precision that suits the value.
pub fn num(v: f64) -> String {
    // An empty float sum is -0.0; print it as 0.
    let v = v + 0.0;
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An integer with thousands separators: 50000 → "50,000".
pub fn count(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `a / b`, or `None` when `b` is zero or either is not a number.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    let r = a / b;
    (b != 0.0 && r.is_finite()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of((1..=100).map(Duration::from_millis).collect());
        assert_eq!((s.n, s.p50, s.p99, s.max), (100, ms_(50), ms_(99), ms_(100)));
        let one = Summary::of(vec![ms_(7)]);
        assert_eq!((one.p50, one.p99), (ms_(7), ms_(7)));
        assert_eq!(Summary::of(vec![]).n, 0);
    }

    #[test]
    fn formats() {
        assert_eq!(count(50_000), "50,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(0.123), "0.12");
        assert_eq!(num(Vec::<f64>::new().iter().sum()), "0.00");
        assert_eq!(ms(Duration::from_micros(1500)), "1.50");
        assert_eq!(ratio(1.0, 0.0), None);
    }

    fn ms_(v: u64) -> Duration {
        Duration::from_millis(v)
    }
}
