//! The scaling scenario's report: the goals-table rows, the matrix of every run with where the
//! CPU went, and the fan-out runs.

use super::{bridges, Point};
use crate::cpu::MACHINE;
use crate::report::{Row, Section};
use crate::stats::{count, ms, num, ratio};
use std::fmt::Write as _;

/// The goals-table rows (each bridge count's best run per collection against the baseline), the
/// matrix of every run, and the raw runs.
pub(super) fn runs(section: &mut Section, points: &[Point], fewest: usize) {
    let find =
        |b: usize, c: usize, n: usize| points.iter().find(|p| p.bridges == b && p.clients == c && p.objects == n);
    let distinct = |v: Vec<usize>| v.into_iter().collect::<std::collections::BTreeSet<_>>();
    let sizes = distinct(points.iter().map(|p| p.objects).collect());
    let bridge_counts = distinct(points.iter().map(|p| p.bridges).collect());
    for &n in &sizes {
        let Some(base) = find(1, fewest, n) else { continue };
        for &b in &bridge_counts {
            let at = points.iter().filter(|p| p.bridges == b && p.objects == n);
            let Some(best) = at.max_by(|x, y| x.run.rps.total_cmp(&y.run.rps)) else { continue };
            section.rows.push(
                Row::new(
                    format!(
                        "peak update req/s, {}, {} objects (at {} clients)",
                        bridges(b),
                        count(n as u64),
                        count(best.clients as u64)
                    ),
                    format!("1 bridge, {fewest} clients, same objects"),
                )
                .values(num(base.run.rps), num(best.run.rps), ratio(best.run.rps, base.run.rps)),
            );
        }
    }
    let mut table = format!(
        "| objects | bridges | clients | req/s | ÷ 1 bridge, fewest clients | ÷ 1 bridge, same clients | p50 ms | p99 ms \
         | errors | db ops per request | object reads per request | {CORES_HEAD}\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{CORES_RULE}\n",
    );
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "n/a".into());
    for p in points {
        let base = find(1, fewest, p.objects).map(|q| q.run.rps);
        let one = find(1, p.clients, p.objects).map(|q| q.run.rps);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            count(p.objects as u64),
            p.bridges,
            count(p.clients as u64),
            num(p.run.rps),
            times(base.and_then(|b| ratio(p.run.rps, b))),
            times(one.and_then(|b| ratio(p.run.rps, b))),
            ms(p.run.ok.p50),
            ms(p.run.ok.p99),
            p.run.errors,
            opt(p.ops_per_request),
            opt(p.reads_per_request),
            cores(p),
        );
    }
    section.notes.push(format!(
        "\nEvery run (req/s: updates answered per second, applied or conflict; {CORES_NOTE}):\n\n{table}",
    ));
    section.runs.extend(points.iter().map(|p| p.run.clone()));
}

/// The fan-out runs: the same load with more and more watchers of the collection.
pub(super) fn fan_out(section: &mut Section, points: &[Point]) {
    let Some(base) = points.iter().find(|p| p.watchers == 0).or(points.first()) else { return };
    let mut table = format!(
        "| watchers | req/s | ÷ no watchers | p50 ms | p99 ms | errors | events delivered to watchers /s | \
         {CORES_HEAD}\n|---:|---:|---:|---:|---:|---:|---:|{CORES_RULE}\n"
    );
    for p in points {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            count(p.watchers as u64),
            num(p.run.rps),
            times(ratio(p.run.rps, base.run.rps)),
            ms(p.run.ok.p50),
            ms(p.run.ok.p99),
            p.run.errors,
            num(p.delivered),
            cores(p),
        );
        if p.watchers > 0 {
            section.rows.push(
                Row::new(
                    format!("update req/s with {} watchers of the collection (fan-out)", count(p.watchers as u64)),
                    "no watchers",
                )
                .values(num(base.run.rps), num(p.run.rps), ratio(p.run.rps, base.run.rps)),
            );
        }
    }
    section.notes.push(format!(
        "\nFan-out, 1 bridge, {} clients, {} objects, while W more MQTT connections follow every event of the \
         collection (`{{p}}/v1/evt/{{collection}}/+`, QoS 1) and count what they receive, as the users of an \
         application showing it do ({CORES_NOTE}):\n\n{table}",
        count(base.clients as u64),
        count(base.objects as u64),
    ));
    section.runs.extend(points.iter().map(|p| p.run.clone()));
}

const CORES_HEAD: &str = "cores: bridges | mosquitto | ferretdb | bench | other processes |";
const CORES_RULE: &str = "---:|---:|---:|---:|---:|";
const CORES_NOTE: &str = "cores: CPU time over the measured window ÷ its length, so 1.00 is one core busy; \
     \"bench\" is this program's clients, \"other processes\" the rest of the machine's busy time: what else \
     ran meanwhile";

/// The cores columns of a run.
fn cores(p: &Point) -> String {
    let core = |name: &str| p.cores.get(name).map(|v| num(*v)).unwrap_or_else(|| "n/a".into());
    let ours: f64 = p.cores.iter().filter(|(k, _)| k.as_str() != MACHINE).map(|(_, v)| v).sum();
    let others = p.cores.get(MACHINE).map(|m| num((m - ours).max(0.0))).unwrap_or_else(|| "n/a".into());
    format!("{} | {} | {} | {} | {others}", core("bridges"), core("mosquitto"), core("ferretdb"), core("bench"))
}

fn times(r: Option<f64>) -> String {
    r.map(|v| format!("{}×", num(v))).unwrap_or_else(|| "n/a".into())
}
