//! The closed-loop load: `slots` workers, each with one request in flight at a time, for a
//! warm-up and then a measured window, bounded in time and in count.
//!
//! Throughput counts the requests that completed inside the window. Latency counts every request
//! that *started* inside the window, also those that finish after it (the run waits for them),
//! so a slow system's long requests are not left out of its percentiles.

use crate::stats::Summary;
use crate::vmm::{Done, Outcome};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
    /// At most this many requests are started in all (warm-up included).
    pub max_requests: u64,
}

/// The figures of one run.
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub label: String,
    pub in_flight: usize,
    /// Requests completed inside the window, and the window's length.
    pub completed: u64,
    pub secs: f64,
    pub rps: f64,
    /// Latency of the successful requests started in the window.
    pub ok: Summary,
    /// Latency of the `conflict` rejects started in the window.
    pub conflicts: Summary,
    /// Other rejects, timeouts and publish failures (whole run), and the first one seen.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Every request started, warm-up included.
    pub started: u64,
    /// The longest any request of the run took (warm-up included, any outcome): a request that
    /// spans the whole window shows here, not in the percentiles.
    pub slowest: Duration,
}

impl Run {
    pub fn p50_ms(&self) -> f64 {
        self.ok.p50.as_secs_f64() * 1000.0
    }
    pub fn p99_ms(&self) -> f64 {
        self.ok.p99.as_secs_f64() * 1000.0
    }
}

/// Runs `op(slot, i)` in `slots` concurrent loops (`i` counts each slot's requests).
pub async fn closed_loop<F, Fut>(label: &str, slots: usize, window: Window, op: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Done> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let t0 = begin + window.warmup;
    let t1 = t0 + window.measure;
    let mut tasks = Vec::new();
    for slot in 0..slots {
        let (op, started) = (op.clone(), started.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for i in 0.. {
                if Instant::now() >= t1 || started.fetch_add(1, Ordering::Relaxed) >= window.max_requests {
                    break;
                }
                done.push(op(slot, i).await);
            }
            done
        }));
    }
    let mut all: Vec<Done> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    summarise(label, slots, t0, t1, all)
}

fn summarise(label: &str, slots: usize, t0: Instant, t1: Instant, all: Vec<Done>) -> Run {
    // A run stopped by its count ends with its last completion, not at t1.
    let last = all.iter().map(|d| d.end).max().unwrap_or(t1);
    let end = last.min(t1);
    let secs = end.saturating_duration_since(t0).as_secs_f64();
    let mut run = Run { label: label.to_string(), in_flight: slots, started: all.len() as u64, ..Run::default() };
    let (mut ok, mut conflicts) = (Vec::new(), Vec::new());
    for d in &all {
        run.slowest = run.slowest.max(d.end - d.start);
        let good = matches!(d.outcome, Outcome::Applied { .. });
        let conflict = matches!(&d.outcome, Outcome::Rejected { code, .. } if code == "conflict");
        if (good || conflict) && d.end >= t0 && d.end <= end {
            run.completed += 1;
        }
        if d.start >= t0 && d.start < t1 {
            if good {
                ok.push(d.end - d.start);
            } else if conflict {
                conflicts.push(d.end - d.start);
            }
        }
        if !good && !conflict {
            run.errors += 1;
            run.first_error.get_or_insert_with(|| format!("{:?}", d.outcome));
        }
    }
    run.secs = secs;
    run.rps = if secs > 0.0 { run.completed as f64 / secs } else { 0.0 };
    run.ok = Summary::of(ok);
    run.conflicts = Summary::of(conflicts);
    run
}

/// A well-mixed 64-bit value of `seed` (splitmix64): a stateless way to pick objects at random.
pub fn spread(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(start: Instant, ms: u64, outcome: Outcome) -> Done {
        Done { start, end: start + Duration::from_millis(ms), outcome }
    }

    #[test]
    fn window_counts_completions_and_started_latencies() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let before = t0 - Duration::from_millis(50);
        let all = vec![
            done(before, 100, Outcome::Applied { version: 1 }), // completes in the window: counted, no latency
            done(t0, 10, Outcome::Applied { version: 2 }),
            done(t0 + Duration::from_millis(990), 500, Outcome::Applied { version: 3 }), // latency only
            done(t0, 20, Outcome::Rejected { code: "conflict".into(), current: Some(4) }),
            done(t0, 5, Outcome::Timeout),
        ];
        let run = summarise("x", 2, t0, t1, all);
        assert_eq!(run.completed, 3);
        assert_eq!(run.ok.n, 2);
        assert_eq!(run.conflicts.n, 1);
        assert_eq!(run.errors, 1);
        assert!((run.secs - 1.0).abs() < 1e-9);
        assert_eq!(run.slowest, Duration::from_millis(500));
    }

    #[tokio::test]
    async fn stops_at_the_count() {
        let w = Window { warmup: Duration::ZERO, measure: Duration::from_secs(10), max_requests: 7 };
        let run = closed_loop("n", 3, w, |_, _| async {
            let start = Instant::now();
            Done { start, end: start + Duration::from_millis(1), outcome: Outcome::Applied { version: 1 } }
        })
        .await;
        assert_eq!(run.started, 7);
        assert!(run.secs < 1.0);
    }

    #[test]
    fn spread_spreads() {
        let mut seen = [0u32; 8];
        for i in 0..8000 {
            seen[(spread(i) % 8) as usize] += 1;
        }
        assert!(seen.iter().all(|n| (800..1200).contains(n)), "{seen:?}");
    }
}
