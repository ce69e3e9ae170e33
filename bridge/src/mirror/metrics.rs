//! The mirror's counters, rendered for `GET /metrics` (Prometheus text format 0.0.4) with the
//! gauges read at that moment.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::target::Outcome;

/// Counters shared by the mirror's tasks; lock-free.
#[derive(Debug, Default)]
pub struct MirrorMetrics {
    applied: AtomicU64,
    duplicate: AtomicU64,
    stale: AtomicU64,
    errors: AtomicU64,
    repairs: AtomicU64,
    restored: AtomicU64,
    foreign: AtomicU64,
}

/// What `/metrics` reads at the moment of the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Objects changed and not yet written.
    pub pending: usize,
    /// The age of the oldest of them, in seconds.
    pub lag_seconds: f64,
    /// Object states the loads received (documents fetched).
    pub fetched_states: u64,
    /// Versions entries the loads received (§12.4).
    pub listed_versions: u64,
}

impl MirrorMetrics {
    /// A write and what it found.
    pub fn write(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Applied => &self.applied,
            Outcome::Duplicate => &self.duplicate,
            Outcome::Stale => &self.stale,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A write that failed (it is retried).
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A write found lost by its recheck, queued again.
    pub fn repair(&self) {
        self.repairs.fetch_add(1, Ordering::Relaxed);
    }

    /// What the start-up read from the target: objects restored, documents no mirror wrote.
    pub fn restored(&self, objects: usize, foreign: usize) {
        self.restored.fetch_add(objects as u64, Ordering::Relaxed);
        self.foreign.fetch_add(foreign as u64, Ordering::Relaxed);
    }

    /// Writes by outcome: `applied`, `duplicate`, `stale`.
    pub fn writes(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Applied => self.applied.load(Ordering::Relaxed),
            Outcome::Duplicate => self.duplicate.load(Ordering::Relaxed),
            Outcome::Stale => self.stale.load(Ordering::Relaxed),
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn render(&self, gauges: Gauges) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::with_capacity(1024);
        let w = &mut out;
        let mut metric = |name: &str, kind: &str, help: &str, lines: &[(&str, String)]| {
            let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(w, "{name}{labels} {value}");
            }
        };
        metric(
            "vmm_mirror_writes_total",
            "counter",
            "Writes to the target, by what they found: applied (made current), duplicate (already there), stale (a newer version was there).",
            &[
                ("{outcome=\"applied\"}", load(&self.applied).to_string()),
                ("{outcome=\"duplicate\"}", load(&self.duplicate).to_string()),
                ("{outcome=\"stale\"}", load(&self.stale).to_string()),
            ],
        );
        metric(
            "vmm_mirror_write_errors_total",
            "counter",
            "Writes the target failed (retried).",
            &[("", load(&self.errors).to_string())],
        );
        metric(
            "vmm_mirror_repairs_total",
            "counter",
            "Writes a later check found overwritten by an older version (a database whose findAndModify is not atomic), written again.",
            &[("", load(&self.repairs).to_string())],
        );
        metric(
            "vmm_mirror_restored_objects",
            "gauge",
            "Objects read back from the target at start-up.",
            &[("", load(&self.restored).to_string())],
        );
        metric(
            "vmm_mirror_foreign_documents",
            "gauge",
            "Documents of the mirrored collections that no mirror wrote (no version field), seen at start-up.",
            &[("", load(&self.foreign).to_string())],
        );
        metric(
            "vmm_mirror_fetched_states_total",
            "counter",
            "Object states received in snapshot pages.",
            &[("", gauges.fetched_states.to_string())],
        );
        metric(
            "vmm_mirror_listed_versions_total",
            "counter",
            "Entries of versions pages received (resync by versions).",
            &[("", gauges.listed_versions.to_string())],
        );
        metric(
            "vmm_mirror_pending_objects",
            "gauge",
            "Objects changed and not yet written to the target.",
            &[("", gauges.pending.to_string())],
        );
        metric(
            "vmm_mirror_lag_seconds",
            "gauge",
            "Age of the oldest change not yet written to the target.",
            &[("", format!("{:.3}", gauges.lag_seconds))],
        );
        out
    }
}
