//! The browser scenario's rows (the ingest rate against mqtt.js, the growth of the cost per event)
//! and its table. A side that did not show all N within the runner's limit still says something:
//! it was slower than N in that time (an upper bound of its rate), and its first `shown` events
//! cost at least the time waited over `shown` each (a lower bound of its cost per event).

use super::{Samples, COLLECTION, MQTTJS, SIDES, STORE, VMM};
use crate::config::Plan;
use crate::report::{Goal, Row, Section, Verdict};
use crate::stats::{count, num, ratio};
use std::fmt::Write as _;

/// vmm's rate against mqtt.js's at the goal's size, at least.
const RATE_GOAL: f64 = 1.0;
/// The cost per event is flat when it grows by at most this much from the smallest size to the
/// largest.
const FLAT: f64 = 1.25;

/// What a side did at one size.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fig {
    /// Every run showed all N: their median, in ms from the first publish.
    Done(f64),
    /// A run did not show all N: `shown` of them after `waited_ms` (none if it failed first).
    Short { shown: u64, waited_ms: Option<f64> },
    /// Not run: a smaller size already ran out of time, or the scenario stopped.
    Missing,
}

impl Fig {
    fn of(samples: &Samples, n: u64, side: &'static str) -> Fig {
        let runs = samples.runs.get(&(n, side)).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(short) = runs.iter().find(|s| s.ms.is_none()) {
            return Fig::Short { shown: short.shown, waited_ms: short.waited_ms };
        }
        let mut done: Vec<f64> = runs.iter().filter_map(|s| s.ms).collect();
        done.sort_by(f64::total_cmp);
        match done.len() {
            0 => Fig::Missing,
            k if k % 2 == 1 => Fig::Done(done[k / 2]),
            k => Fig::Done((done[k / 2 - 1] + done[k / 2]) / 2.0),
        }
    }

    fn ms(self) -> Option<f64> {
        if let Fig::Done(ms) = self {
            Some(ms)
        } else {
            None
        }
    }

    /// Events per second.
    fn rate(self, n: u64) -> Option<f64> {
        self.ms().map(|ms| n as f64 / (ms / 1e3))
    }

    /// Less than this many events per second, when not all were shown in time.
    fn rate_below(self, n: u64) -> Option<f64> {
        match self {
            Fig::Short { waited_ms: Some(w), .. } => Some(n as f64 / (w / 1e3)),
            _ => None,
        }
    }

    fn us_per_event(self, n: u64) -> Option<f64> {
        self.ms().map(|ms| ms * 1e3 / n as f64)
    }

    /// At least this many µs per event (each of the events shown cost at least that, on average).
    fn us_above(self) -> Option<f64> {
        match self {
            Fig::Short { shown, waited_ms: Some(w) } if shown > 0 => Some(w * 1e3 / shown as f64),
            _ => None,
        }
    }

    /// Why there is no exact figure.
    fn why(self, n: u64) -> String {
        match self {
            Fig::Done(_) => String::new(),
            Fig::Short { shown, waited_ms: Some(w) } => {
                format!("{} of {} shown in {:.1} s", count(shown), count(n), w / 1e3)
            }
            Fig::Short { .. } => "the run failed".into(),
            Fig::Missing => "not run".into(),
        }
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "n/a".into())
}

pub(super) fn report(plan: &Plan, samples: &Samples, section: &mut Section) {
    let sizes = &plan.browser_sizes;
    // The goal's size: 10,000 events (issue 9), or the middle size of another plan.
    let goal_n = if sizes.contains(&10_000) { 10_000 } else { sizes.get(sizes.len() / 2).copied().unwrap_or(0) };
    for &n in sizes {
        section.rows.push(rate_row(samples, n, (n == goal_n).then_some(Goal::AtLeast(RATE_GOAL))));
    }
    if let (Some(&small), Some(&large)) = (sizes.iter().min(), sizes.iter().max()) {
        if large > small {
            section.rows.push(growth_row(samples, sizes, VMM, "vmm + Vue", Some(Goal::AtMost(FLAT))));
            section.rows.push(growth_row(samples, sizes, STORE, "vmm store alone", None));
            section.rows.push(growth_row(samples, sizes, MQTTJS, "mqtt.js", None));
        }
    }
    section.notes.push(table(samples, sizes));
    section.notes.push(method(plan));
}

/// vmm + Vue's events/s against mqtt.js's at `n` events.
fn rate_row(samples: &Samples, n: u64, goal: Option<Goal>) -> Row {
    let (base, vmm) = (Fig::of(samples, n, MQTTJS), Fig::of(samples, n, VMM));
    let (b, v) = (base.rate(n), vmm.rate(n));
    let value = match (v, vmm.rate_below(n)) {
        (Some(v), _) => num(v),
        (None, Some(below)) => format!("< {} ({})", num(below), vmm.why(n)),
        (None, None) => format!("n/a ({})", vmm.why(n)),
    };
    let mut row = Row::new(
        format!("ingest events/s, {} insert events, shown through useCollection", count(n)),
        "mqtt.js: JSON.parse into a Map",
    )
    .values(opt(b), value, b.zip(v).and_then(|(b, v)| ratio(v, b)));
    row.goal = goal;
    // Slower than the bound is enough to miss a goal of a higher rate.
    if let (Some(Goal::AtLeast(g)), Some(b), Some(below)) = (goal, b, vmm.rate_below(n)) {
        if below / b < g {
            row.verdict = Some(Verdict::Missed);
        }
    }
    row
}

/// A side's µs per event at the largest size against the smallest.
fn growth_row(samples: &Samples, sizes: &[u64], side: &'static str, name: &str, goal: Option<Goal>) -> Row {
    let small = *sizes.iter().min().expect("sizes");
    let large = *sizes.iter().max().expect("sizes");
    let first = Fig::of(samples, small, side).us_per_event(small);
    let last = Fig::of(samples, large, side);
    let mut row = Row::new(
        format!("{name} µs per event at {} events vs at {}", count(large), count(small)),
        format!("{name} at {}", count(small)),
    );
    row.goal = goal;
    if let Some(us) = last.us_per_event(large) {
        return row.values(opt(first), num(us), first.and_then(|f| ratio(us, f)));
    }
    // The largest size that ran out of time says the cost had grown at least that much.
    let short = sizes.iter().filter(|&&n| n > small).find_map(|&n| {
        let f = Fig::of(samples, n, side);
        f.us_above().map(|us| (n, f, us))
    });
    let Some((n, f, above)) = short else {
        return row.values(opt(first), format!("n/a ({})", last.why(large)), None);
    };
    let at = if n == large { String::new() } else { format!(" at {}; {} not run", count(n), count(large)) };
    row = row.values(opt(first), format!("> {}{at} ({})", num(above), f.why(n)), None);
    if let (Some(Goal::AtMost(g)), Some(first)) = (goal, first) {
        if above / first > g {
            row.verdict = Some(Verdict::Missed);
        }
    }
    row
}

fn table(samples: &Samples, sizes: &[u64]) -> String {
    let mut out = String::from(
        "| events | mqtt.js ms | vmm store alone ms | vmm + Vue ms | mqtt.js events/s | store alone events/s | \
         vmm + Vue events/s | vmm + Vue ÷ mqtt.js | mqtt.js µs/event | store alone µs/event | vmm + Vue µs/event | \
         broker acked all, ms: median (max) |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut runs = String::new();
    for &n in sizes {
        let figs = SIDES.map(|side| Fig::of(samples, n, side));
        let cell = |f: Fig, v: Option<f64>| v.map(num).unwrap_or_else(|| f.why(n));
        let [m, s, v] = figs;
        let ratio = m.rate(n).zip(v.rate(n)).and_then(|(m, v)| ratio(v, m));
        let acked = acked(samples, n);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {acked} |",
            count(n),
            cell(m, m.ms()),
            cell(s, s.ms()),
            cell(v, v.ms()),
            cell(m, m.rate(n)),
            cell(s, s.rate(n)),
            cell(v, v.rate(n)),
            ratio.map(|r| format!("{}×", num(r))).unwrap_or_else(|| "n/a".into()),
            cell(m, m.us_per_event(n)),
            cell(s, s.us_per_event(n)),
            cell(v, v.us_per_event(n)),
        );
        let per_side: Vec<String> =
            SIDES.iter().map(|&side| format!("{side} {}", runs_text(samples, n, side))).collect();
        let _ = writeln!(runs, "- {} events, each run in ms: {}.", count(n), per_side.join("; "));
    }
    format!("{out}\n{}", runs.trim_end())
}

/// How long the broker took to acknowledge every event of a run: the median and the longest run.
fn acked(samples: &Samples, n: u64) -> String {
    let mut ms: Vec<f64> = samples.publish.get(&n).into_iter().flatten().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    match (ms.get(ms.len() / 2), ms.last()) {
        (Some(median), Some(max)) => format!("{median:.0} ({max:.0})"),
        _ => String::new(),
    }
}

fn runs_text(samples: &Samples, n: u64, side: &'static str) -> String {
    let runs = samples.runs.get(&(n, side)).map(Vec::as_slice).unwrap_or(&[]);
    if runs.is_empty() {
        return "not run".into();
    }
    let text: Vec<String> = runs
        .iter()
        .map(|s| match (s.ms, &s.error, s.waited_ms) {
            (Some(ms), _, _) => format!("{ms:.0}"),
            (None, Some(e), _) => format!("failed ({})", e.replace('|', "/")),
            (None, None, w) => Fig::Short { shown: s.shown, waited_ms: w }.why(n),
        })
        .collect();
    text.join(", ")
}

fn method(plan: &Plan) -> String {
    format!(
        "- Up to {} runs per size and side, each in a fresh Chromium context, the median reported; a side runs again \
         only while it has spent under 20 s on a size, and is not run at larger sizes once it did not show every event \
         within 20 s + 4 ms per event. Events: the protocol's insert events of new objects (string ids, version 1, \
         the bench's document), published in id order at QoS 1 over TCP by one client with up to 1,000 \
         unacknowledged. Every page subscribes to `{{p}}/v1/evt/{COLLECTION}/+` at QoS 1 on the same WebSockets \
         listener. Time: from the first publish to every event shown, on the machine's wall clock in both \
         processes: vmm + Vue, the DOM holds N rows after a Vue update; vmm store alone, `list()` holds N documents \
         (checked once the last id is there); mqtt.js, the Map holds N entries. A bridge serves the prefix (its \
         database stays empty), so the store's load is answered and the store is online before the first event. \
         Flat cost per event: at most {FLAT}× from the smallest size to the largest.",
        plan.browser_repeat
    )
}

#[cfg(test)]
mod tests {
    use super::super::Sample;
    use super::*;

    fn samples(runs: &[(u64, &'static str, Option<f64>, u64)]) -> Samples {
        let mut s = Samples::default();
        for &(n, side, ms, shown) in runs {
            let waited_ms = ms.is_none().then_some(1_000.0);
            s.runs.entry((n, side)).or_default().push(Sample { ms, shown, waited_ms, error: None });
        }
        s
    }

    #[test]
    fn medians_and_runs_that_ran_out_of_time() {
        let s = samples(&[(10, VMM, Some(3.0), 10), (10, VMM, Some(1.0), 10), (10, VMM, Some(2.0), 10)]);
        assert_eq!(Fig::of(&s, 10, VMM), Fig::Done(2.0));
        assert_eq!(Fig::of(&s, 10, MQTTJS), Fig::Missing);
        let s = samples(&[(10, VMM, Some(1.0), 10), (10, VMM, None, 4)]);
        let f = Fig::of(&s, 10, VMM);
        assert_eq!(f, Fig::Short { shown: 4, waited_ms: Some(1_000.0) });
        assert_eq!((f.rate_below(10), f.us_above()), (Some(10.0), Some(250_000.0)));
    }

    #[test]
    fn a_side_that_ran_out_of_time_misses_its_goals() {
        // mqtt.js: 100 events in 10 ms; vmm: 40 of 100 shown after 1 s.
        let s = samples(&[(10, MQTTJS, Some(1.0), 10), (10, VMM, Some(10.0), 10), (100, MQTTJS, Some(10.0), 100)]);
        let mut s2 = samples(&[(100, VMM, None, 40)]);
        s2.runs.extend(s.runs);
        let row = rate_row(&s2, 100, Some(Goal::AtLeast(1.0)));
        assert_eq!(row.verdict(), Some(Verdict::Missed));
        assert!(row.value.starts_with("< 100 (40 of 100 shown in 1.0 s)"), "{}", row.value);
        // 1,000 µs per event at 10; at least 25,000 at 100.
        let row = growth_row(&s2, &[10, 100, 1000], VMM, "vmm", Some(Goal::AtMost(FLAT)));
        assert_eq!(row.verdict(), Some(Verdict::Missed));
        assert!(row.value.starts_with("> 25000 at 100; 1,000 not run"), "{}", row.value);
        let row = growth_row(&s2, &[10, 100], MQTTJS, "mqtt.js", None);
        assert_eq!((row.ratio, row.verdict()), (Some(1.0), None));
    }
}
