//! The bridge's metrics: atomic counters and gauges, rendered in the Prometheus text exposition
//! format (version 0.0.4) for `GET /metrics`.
//!
//! A handful of fixed metrics do not justify a metrics library: every one is an atomic, so the
//! hot path never takes a lock, and [`Metrics::render`] writes the text by hand.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::admission::Reason;

/// The request outcomes counted under their own label; any other goes to `other`.
const OUTCOMES: [&str; 12] = [
    "applied",
    "duplicate",
    "malformed",
    "too_large",
    "invalid_document",
    "invalid_update",
    "forbidden",
    "conflict",
    "not_found",
    "refused",
    "rid_reused",
    "internal",
];

/// The upper bounds of the publish-latency histogram's buckets: their labels and nanoseconds.
const BUCKETS: [(&str, u64); 8] = [
    ("0.001", 1_000_000),
    ("0.005", 5_000_000),
    ("0.01", 10_000_000),
    ("0.05", 50_000_000),
    ("0.1", 100_000_000),
    ("0.5", 500_000_000),
    ("1", 1_000_000_000),
    ("5", 5_000_000_000),
];

/// The bridge's metrics. Shared as `Arc<Metrics>`; every method takes `&self` and is lock-free.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per outcome in [`OUTCOMES`] order, then `other`.
    requests: [AtomicU64; OUTCOMES.len() + 1],
    /// Per bucket in [`BUCKETS`] order (not cumulative), then the observations above the last.
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_nanos: AtomicU64,
    replays_events: AtomicU64,
    replays_snapshot: AtomicU64,
    load_pages: AtomicU64,
    /// In an `Arc` of its own so an [`InFlightGuard`] can outlive the borrow of `self` and move
    /// into a task.
    in_flight: Arc<AtomicI64>,
    unpublished: AtomicU64,
    /// Group-committed event insert batches, and the events in them.
    batches: AtomicU64,
    batched: AtomicU64,
    /// Database round trips, by operation.
    db_operations: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
    /// Messages dropped by admission, per reason in [`Reason::ALL`] order.
    dropped: [AtomicU64; Reason::ALL.len()],
    intake_messages: AtomicU64,
    intake_bytes: AtomicU64,
    http_connections: AtomicI64,
    /// HTTP connections closed by the endpoint's cap: refused at once, and idle ones evicted.
    http_refused: AtomicU64,
    http_evicted: AtomicU64,
}

/// Counts one request as in flight until dropped. See [`Metrics::in_flight`].
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard lives"]
pub struct InFlightGuard {
    gauge: Arc<AtomicI64>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.gauge.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a request by its outcome: `applied`, `duplicate`, or a reject code (`conflict`, …).
    /// An outcome outside the known set is counted as `other`.
    pub fn request(&self, outcome: &str) {
        let i = OUTCOMES.iter().position(|o| *o == outcome).unwrap_or(OUTCOMES.len());
        self.requests[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an event the broker acknowledged, `latency` after it was written to the database.
    pub fn published(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let i = BUCKETS.iter().position(|(_, le)| nanos <= *le).unwrap_or(BUCKETS.len());
        self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Counts a failure answered, with a snapshot (`true`) or with the missing events (`false`).
    pub fn replay(&self, snapshot: bool) {
        let counter = if snapshot { &self.replays_snapshot } else { &self.replays_events };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a snapshot page sent.
    pub fn load_page(&self) {
        self.load_pages.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one more request in flight until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlightGuard {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlightGuard { gauge: Arc::clone(&self.in_flight) }
    }

    /// Sets the number of events recorded but not yet acknowledged by the broker, as the outbox
    /// last saw it.
    pub fn unpublished(&self, n: u64) {
        self.unpublished.store(n, Ordering::Relaxed);
    }

    /// Counts one database round trip of the named operation.
    pub fn db_operation(&self, op: &'static str) {
        *self.db_operations.lock().expect("metrics lock").entry(op).or_default() += 1;
    }

    /// Counts one group-committed batch of `n` event inserts.
    pub fn batch(&self, n: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a message dropped by admission (`docs/BRIDGE.md` "Limits").
    pub(crate) fn dropped(&self, reason: Reason) {
        self.dropped[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Sets the messages and bytes waiting in the intake.
    pub(crate) fn intake(&self, messages: usize, bytes: usize) {
        self.intake_messages.store(messages as u64, Ordering::Relaxed);
        self.intake_bytes.store(bytes as u64, Ordering::Relaxed);
    }

    /// Counts an HTTP connection open (`+1`) or closed (`-1`).
    pub(crate) fn http_connection(&self, delta: i64) {
        self.http_connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// Counts an HTTP connection closed by the cap: at once (`evicted == false`: all were busy),
    /// or an idle one to make room for a new one.
    pub(crate) fn http_capped(&self, evicted: bool) {
        let counter = if evicted { &self.http_evicted } else { &self.http_refused };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Database round trips so far, all operations together.
    pub fn db_operations_total(&self) -> u64 {
        self.db_operations.lock().expect("metrics lock").values().sum()
    }

    /// The metrics in the Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(2048);
        // Writing to a String cannot fail.
        let w = &mut out;

        header(
            w,
            "vmm_requests_total",
            "counter",
            "Requests handled, by outcome: applied, duplicate or the reject code.",
        );
        let labels = OUTCOMES.iter().chain(std::iter::once(&"other"));
        for (outcome, count) in labels.zip(&self.requests) {
            let _ = writeln!(w, "vmm_requests_total{{outcome=\"{outcome}\"}} {}", load(count));
        }

        header(w, "vmm_db_operations_total", "counter", "Database round trips, by operation.");
        for (op, n) in self.db_operations.lock().expect("metrics lock").iter() {
            let _ = writeln!(w, "vmm_db_operations_total{{op=\"{op}\"}} {n}");
        }

        header(w, "vmm_event_insert_batches_total", "counter", "Group-committed insertMany calls of events.");
        let _ = writeln!(w, "vmm_event_insert_batches_total {}", load(&self.batches));
        header(w, "vmm_event_insert_batched_total", "counter", "Events inserted by those calls.");
        let _ = writeln!(w, "vmm_event_insert_batched_total {}", load(&self.batched));

        header(w, "vmm_events_published_total", "counter", "Events acknowledged by the broker.");
        // Summed from the histogram's buckets so that it always equals the histogram's count.
        let counts: Vec<u64> = self.latency_buckets.iter().map(load).collect();
        let published: u64 = counts.iter().sum();
        let _ = writeln!(w, "vmm_events_published_total {published}");

        header(
            w,
            "vmm_publish_latency_seconds",
            "histogram",
            "Time from writing an event to the database to the broker's acknowledgement.",
        );
        let mut cumulative = 0;
        for ((le, _), count) in BUCKETS.iter().zip(&counts) {
            cumulative += count;
            let _ = writeln!(w, "vmm_publish_latency_seconds_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(w, "vmm_publish_latency_seconds_bucket{{le=\"+Inf\"}} {published}");
        let sum = Duration::from_nanos(load(&self.latency_sum_nanos)).as_secs_f64();
        let _ = writeln!(w, "vmm_publish_latency_seconds_sum {sum}");
        let _ = writeln!(w, "vmm_publish_latency_seconds_count {published}");

        header(w, "vmm_replays_total", "counter", "Failures answered, by kind: with events or with a snapshot.");
        let _ = writeln!(w, "vmm_replays_total{{kind=\"events\"}} {}", load(&self.replays_events));
        let _ = writeln!(w, "vmm_replays_total{{kind=\"snapshot\"}} {}", load(&self.replays_snapshot));

        header(w, "vmm_load_pages_total", "counter", "Snapshot pages sent.");
        let _ = writeln!(w, "vmm_load_pages_total {}", load(&self.load_pages));

        header(w, "vmm_requests_in_flight", "gauge", "Requests, failures and loads being handled now.");
        let _ = writeln!(w, "vmm_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));

        header(
            w,
            "vmm_events_unpublished",
            "gauge",
            "Events recorded but not yet acknowledged by the broker, as the outbox last saw them.",
        );
        let _ = writeln!(w, "vmm_events_unpublished {}", load(&self.unpublished));
        self.render_limits(w);
        out
    }

    /// The metrics of `docs/BRIDGE.md` "Limits".
    fn render_limits(&self, w: &mut String) {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        header(
            w,
            "vmm_bridge_dropped_total",
            "counter",
            "Incoming messages dropped unhandled, by reason: retained, rate, intake_full, queue_full.",
        );
        for reason in Reason::ALL {
            let _ = writeln!(
                w,
                "vmm_bridge_dropped_total{{reason=\"{}\"}} {}",
                reason.label(),
                load(&self.dropped[reason.index()])
            );
        }
        header(w, "vmm_bridge_intake_messages", "gauge", "Incoming messages waiting to be handled.");
        let _ = writeln!(w, "vmm_bridge_intake_messages {}", load(&self.intake_messages));
        header(w, "vmm_bridge_intake_bytes", "gauge", "Bytes of the incoming messages waiting to be handled.");
        let _ = writeln!(w, "vmm_bridge_intake_bytes {}", load(&self.intake_bytes));
        header(w, "vmm_bridge_http_connections", "gauge", "Open connections to the HTTP endpoint.");
        let _ = writeln!(w, "vmm_bridge_http_connections {}", self.http_connections.load(Ordering::Relaxed));
        header(
            w,
            "vmm_bridge_http_capped_total",
            "counter",
            "HTTP connections closed by the connection cap: refused (all busy) or evicted (idle).",
        );
        let _ = writeln!(w, "vmm_bridge_http_capped_total{{action=\"refused\"}} {}", load(&self.http_refused));
        let _ = writeln!(w, "vmm_bridge_http_capped_total{{action=\"evicted\"}} {}", load(&self.http_evicted));
    }
}

fn header(w: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.strip_prefix(series).is_some_and(|rest| rest.starts_with(' ')))
            .unwrap_or_else(|| panic!("no line for {series} in\n{text}"));
        line[series.len() + 1..].parse().unwrap()
    }

    #[test]
    fn render_counts_requests_by_outcome_and_unknown_ones_as_other() {
        let m = Metrics::default();
        m.request("applied");
        m.request("applied");
        m.request("conflict");
        m.request("surprise");
        let text = m.render();
        assert_eq!(value(&text, "vmm_requests_total{outcome=\"applied\"}"), 2.0);
        assert_eq!(value(&text, "vmm_requests_total{outcome=\"conflict\"}"), 1.0);
        assert_eq!(value(&text, "vmm_requests_total{outcome=\"other\"}"), 1.0);
        assert_eq!(value(&text, "vmm_requests_total{outcome=\"internal\"}"), 0.0);
        assert!(text.contains("# TYPE vmm_requests_total counter\n"));
        assert!(text.contains("# HELP vmm_requests_total "));
    }

    #[test]
    fn render_has_help_and_type_for_every_metric() {
        let text = Metrics::default().render();
        for (name, kind) in [
            ("vmm_requests_total", "counter"),
            ("vmm_events_published_total", "counter"),
            ("vmm_publish_latency_seconds", "histogram"),
            ("vmm_replays_total", "counter"),
            ("vmm_load_pages_total", "counter"),
            ("vmm_requests_in_flight", "gauge"),
            ("vmm_events_unpublished", "gauge"),
            ("vmm_bridge_dropped_total", "counter"),
            ("vmm_bridge_intake_messages", "gauge"),
            ("vmm_bridge_intake_bytes", "gauge"),
            ("vmm_bridge_http_connections", "gauge"),
            ("vmm_bridge_http_capped_total", "counter"),
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}");
            assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name}");
        }
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.published(Duration::from_micros(500)); // ≤ 0.001
        m.published(Duration::from_millis(1)); // ≤ 0.001: the bound is inclusive
        m.published(Duration::from_millis(30)); // ≤ 0.05
        m.published(Duration::from_secs(2)); // ≤ 5
        m.published(Duration::from_secs(60)); // +Inf only
        let text = m.render();
        let bucket = |le: &str| value(&text, &format!("vmm_publish_latency_seconds_bucket{{le=\"{le}\"}}"));
        assert_eq!(bucket("0.001"), 2.0);
        assert_eq!(bucket("0.005"), 2.0);
        assert_eq!(bucket("0.01"), 2.0);
        assert_eq!(bucket("0.05"), 3.0);
        assert_eq!(bucket("0.1"), 3.0);
        assert_eq!(bucket("0.5"), 3.0);
        assert_eq!(bucket("1"), 3.0);
        assert_eq!(bucket("5"), 4.0);
        assert_eq!(bucket("+Inf"), 5.0);
        assert_eq!(value(&text, "vmm_publish_latency_seconds_count"), 5.0);
        assert_eq!(value(&text, "vmm_events_published_total"), 5.0);
        assert!((value(&text, "vmm_publish_latency_seconds_sum") - 62.0315).abs() < 1e-9);
    }

    #[test]
    fn render_shows_replays_load_pages_and_gauges() {
        let m = Arc::new(Metrics::default());
        m.replay(false);
        m.replay(true);
        m.replay(true);
        m.load_page();
        m.unpublished(7);
        let a = m.in_flight();
        let b = m.in_flight();
        let text = m.render();
        assert_eq!(value(&text, "vmm_replays_total{kind=\"events\"}"), 1.0);
        assert_eq!(value(&text, "vmm_replays_total{kind=\"snapshot\"}"), 2.0);
        assert_eq!(value(&text, "vmm_load_pages_total"), 1.0);
        assert_eq!(value(&text, "vmm_events_unpublished"), 7.0);
        assert_eq!(value(&text, "vmm_requests_in_flight"), 2.0);
        drop(a);
        let moved = std::thread::spawn(move || drop(b));
        moved.join().unwrap();
        assert_eq!(value(&m.render(), "vmm_requests_in_flight"), 0.0);
    }

    #[test]
    fn render_counts_drops_by_reason_and_the_intake() {
        let m = Metrics::default();
        m.dropped(Reason::Retained);
        m.dropped(Reason::Rate);
        m.dropped(Reason::Rate);
        m.intake(3, 300);
        m.http_connection(1);
        m.http_capped(true);
        let text = m.render();
        assert_eq!(value(&text, "vmm_bridge_dropped_total{reason=\"retained\"}"), 1.0);
        assert_eq!(value(&text, "vmm_bridge_dropped_total{reason=\"rate\"}"), 2.0);
        assert_eq!(value(&text, "vmm_bridge_dropped_total{reason=\"intake_full\"}"), 0.0);
        assert_eq!(value(&text, "vmm_bridge_dropped_total{reason=\"queue_full\"}"), 0.0);
        assert_eq!(value(&text, "vmm_bridge_intake_messages"), 3.0);
        assert_eq!(value(&text, "vmm_bridge_intake_bytes"), 300.0);
        assert_eq!(value(&text, "vmm_bridge_http_connections"), 1.0);
        assert_eq!(value(&text, "vmm_bridge_http_capped_total{action=\"evicted\"}"), 1.0);
    }
}
