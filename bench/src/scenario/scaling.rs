//! Scenario 8: how a deployment grows. 1, 2 and 4 bridges in one shared-subscription group (the
//! broker hands each request to one member of `$share/{group}/…`) serve N clients, each one MQTT
//! connection with one update in flight, on collections of 1,000, 10,000 and 50,000 objects
//! seeded through the bridge. Every run is compared with the run of 1 bridge and the fewest
//! clients on the same collection, in the same run. Each run also records where the machine's
//! CPU went (the bridges, the broker, the database, the bench's own clients, anything else) and
//! what a request cost the bridges in database operations, so that the report can say which one
//! the machine ran out of.

use super::{insert_into, updates_in, versions, Ctx, Result, Versions};
use crate::cpu::{Snapshot, MACHINE};
use crate::http::delta;
use crate::load::Run;
use crate::procs::Bridge;
use crate::report::{Row, Section};
use crate::stats::{count, ms, num, ratio};
use crate::vmm::Fleet;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Inserts in flight while seeding.
const SEED_IN_FLIGHT: usize = 64;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("Scaling: bridges behind a shared subscription, clients and collection sizes");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

/// One seeded collection: its name, its objects (fewer than asked if the seeding ran out of
/// time) and the versions the bench knows.
struct Collection {
    name: String,
    objects: usize,
    versions: Versions,
}

/// One measured run and what it cost.
struct Point {
    bridges: usize,
    clients: usize,
    objects: usize,
    run: Run,
    /// Cores used during the measured window, by process name (and [`MACHINE`]).
    cores: BTreeMap<String, f64>,
    /// Per request answered (applied or conflict), summed over the bridges' `/metrics`.
    ops_per_request: Option<f64>,
    reads_per_request: Option<f64>,
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let plan = &ctx.plan.scaling;
    let database = "bench_scaling".to_string();
    let prefix = format!("bench-{}-scaling", ctx.tag);
    let mut bridges = vec![Bridge::start(&ctx.bridge_bin, &ctx.services, &database, &prefix).await?];
    let most = *plan.clients.last().unwrap_or(&1);
    let started = Instant::now();
    let fleet = Arc::new(Fleet::connect(ctx.services.mqtt_port, &prefix, most, ctx.plan.timeout).await?);
    section.notes.push(format!(
        "- {} MQTT clients (and one observer of every event) connected and subscribed in {:.1} s.",
        count(most as u64),
        started.elapsed().as_secs_f64()
    ));
    fleet.wait_served(super::VMM, Duration::from_secs(60)).await?;

    let collections = seed(ctx, &fleet, &bridges, section).await?;
    let mut points: Vec<Point> = Vec::new();
    'grow: for &b in &plan.bridges {
        while bridges.len() < b {
            let member = bridges.len();
            bridges.push(Bridge::start_member(&ctx.bridge_bin, &ctx.services, &database, &prefix, member).await?);
        }
        for coll in &collections {
            // The most clients first: they touch every object of a small collection in their
            // first round, so the runs after them (the baseline's among them) find the bridges'
            // caches as a long-running bridge has them, not emptied by the seeding of the others.
            for &c in plan.clients.iter().rev() {
                let point = one_run(ctx, &fleet, &bridges, coll, c).await;
                let failed = check(&bridges, &point.run);
                points.push(point);
                if let Err(e) = failed {
                    section.notes.push(format!("- **Stopped:** {e}"));
                    break 'grow;
                }
            }
        }
    }
    report(section, &points, plan.clients.first().copied().unwrap_or(1));
    section.notes.push(format!(
        "- Each run: {} s warm-up, {} s measured, or 3 ms and 6 ms per client if longer (1,000 clients: \
         3 s and 6 s); the client counts run from the most to the fewest. A client is one MQTT connection (clean session, QoS 1) \
         with one request in flight: it sends its next update when the previous one's outcome arrives, \
         on a random object among those only it writes (object k belongs to client k mod N), based on \
         the version it last saw. Requests go to `{{p}}/v1/req/{{client}}/{{collection}}`; the bridges \
         subscribe to `$share/{{group}}/{{p}}/v1/req/+/+` and Mosquitto hands each request to one of them. \
         Latency is the publish of a request → the receipt of its event by one observer subscribed to \
         every event topic; no client subscribes to the collection's events, so the broker delivers each \
         event once (fan-out to many watchers is not measured here). Bridges are added between runs, \
         never removed; all run with their defaults (32 workers each).",
        ctx.plan.warmup.as_secs_f64(),
        plan.window.as_secs_f64()
    ));
    Ok(())
}

/// Seeds one collection per size through the first bridge, within the seeding time in all.
async fn seed(ctx: &Ctx, fleet: &Arc<Fleet>, bridges: &[Bridge], section: &mut Section) -> Result<Vec<Collection>> {
    let plan = &ctx.plan.scaling;
    let started = Instant::now();
    let mut out = Vec::new();
    for &size in &plan.sizes {
        let size = size as usize;
        let name = format!("scaling{size}");
        let versions = versions(size);
        let left = plan.seed.saturating_sub(started.elapsed());
        let (applied, secs) = insert_into(fleet, &name, &versions, 0, size, SEED_IN_FLIGHT, left).await?;
        settle(bridges).await;
        section.notes.push(format!(
            "- Seeded `{name}` through one bridge, {SEED_IN_FLIGHT} inserts in flight: {} objects in {secs:.1} s \
             ({} inserts/s).",
            count(applied as u64),
            num(applied as f64 / secs.max(1e-9))
        ));
        if applied < size {
            section.notes.push(format!(
                "- **The seeding stopped at {} of {} objects** after the {} s it may take in all; that collection \
                 is measured at {} objects and no larger one is seeded.",
                count(applied as u64),
                count(size as u64),
                plan.seed.as_secs(),
                count(applied as u64)
            ));
        }
        if applied == 0 {
            break;
        }
        out.push(Collection { name, objects: applied, versions });
        if applied < size {
            break;
        }
    }
    if out.is_empty() {
        return Err("no object could be seeded".into());
    }
    Ok(out)
}

async fn one_run(ctx: &Ctx, fleet: &Arc<Fleet>, bridges: &[Bridge], coll: &Collection, clients: usize) -> Point {
    let w = window(ctx, clients);
    let label =
        format!("{}, {} clients, {} objects", self::bridges(bridges.len()), clients, count(coll.objects as u64));
    let before = counters(bridges).await;
    // CPU is read over the measured window only, beside the load.
    let processes = processes(ctx, bridges);
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(w.warmup).await;
        let a = Snapshot::take(&processes);
        tokio::time::sleep(w.measure).await;
        Snapshot::take(&processes).cores_since(&a)
    });
    let run = updates_in(&label, fleet, &coll.name, &coll.versions, coll.objects, clients, w).await;
    let cores = sampler.await.unwrap_or_default();
    settle(bridges).await;
    let after = counters(bridges).await;
    let per = |name: &str| {
        let answered = after.1 - before.1;
        (answered > 0.0).then(|| (after.0.get(name).unwrap_or(&0.0) - before.0.get(name).unwrap_or(&0.0)) / answered)
    };
    let ops = delta(&after.0, &before.0).values().sum::<f64>();
    let answered = after.1 - before.1;
    Point {
        bridges: bridges.len(),
        clients,
        objects: coll.objects,
        run,
        cores,
        ops_per_request: (answered > 0.0).then(|| ops / answered),
        reads_per_request: per("object_find"),
    }
}

/// A run's warm-up and window: longer with many clients, since a thousand clients with one
/// request each in flight take seconds for one round on this machine (at ~300 requests/s), and a
/// window must hold rounds, not the first wave.
fn window(ctx: &Ctx, clients: usize) -> crate::load::Window {
    let per_client = |ms: u64| Duration::from_millis(ms * clients as u64);
    crate::load::Window {
        warmup: ctx.plan.warmup.max(per_client(3)),
        measure: ctx.plan.scaling.window.max(per_client(6)),
        max_requests: ctx.plan.max_requests,
    }
}

/// The processes whose CPU time a run reads.
fn processes(ctx: &Ctx, bridges: &[Bridge]) -> Vec<(String, u32)> {
    let (mosquitto, ferretdb) = ctx.services.pids();
    let mut out = vec![
        ("mosquitto".to_string(), mosquitto),
        ("ferretdb".to_string(), ferretdb),
        ("bench".to_string(), std::process::id()),
    ];
    out.extend(bridges.iter().map(|b| ("bridges".to_string(), b.proc.pid())));
    out
}

/// The bridges' database operations by name, and their requests answered (applied + conflict),
/// summed over every bridge.
async fn counters(bridges: &[Bridge]) -> (BTreeMap<String, f64>, f64) {
    let mut ops = BTreeMap::new();
    let mut answered = 0.0;
    for b in bridges {
        if let Ok(m) = b.metrics().await {
            for (op, v) in m.by_label("vmm_db_operations_total", "op") {
                *ops.entry(op).or_insert(0.0) += v;
            }
            answered += m.sum_where("vmm_requests_total", "outcome", "applied")
                + m.sum_where("vmm_requests_total", "outcome", "conflict");
        }
    }
    (ops, answered)
}

/// Waits (at most 15 s) until no bridge has an unpublished event, then a moment more.
async fn settle(bridges: &[Bridge]) {
    let start = Instant::now();
    'wait: while start.elapsed() < Duration::from_secs(15) {
        for b in bridges {
            match b.metrics().await {
                Ok(m) if m.sum("vmm_events_unpublished").unwrap_or(0.0) == 0.0 => {}
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'wait;
                }
            }
        }
        break;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// "1 bridge", "4 bridges".
fn bridges(n: usize) -> String {
    if n == 1 {
        "1 bridge".into()
    } else {
        format!("{n} bridges")
    }
}

/// Stops the scenario when a bridge exited or a run had no success at all.
fn check(bridges: &[Bridge], run: &Run) -> Result<()> {
    if let Some(b) = bridges.iter().find(|b| !b.proc.running()) {
        return Err(format!("a bridge exited during {:?}; {}", run.label, b.proc.log_tail()));
    }
    if run.ok.n == 0 && run.conflicts.n == 0 && run.errors > 0 {
        let first = run.first_error.clone().unwrap_or_default();
        return Err(format!("no request of {:?} succeeded ({} errors, first: {first})", run.label, run.errors));
    }
    Ok(())
}

/// The goals-table rows (each bridge count's best run per collection against the baseline), the
/// matrix of every run, and the raw runs.
fn report(section: &mut Section, points: &[Point], fewest: usize) {
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
                        best.clients
                    ),
                    format!("1 bridge, {fewest} clients, same objects"),
                )
                .values(num(base.run.rps), num(best.run.rps), ratio(best.run.rps, base.run.rps)),
            );
        }
    }
    let mut table = String::from(
        "| objects | bridges | clients | req/s | ÷ 1 bridge, fewest clients | ÷ 1 bridge, same clients | p50 ms | p99 ms \
         | errors | db ops per request | object reads per request | cores: bridges | mosquitto | ferretdb | bench \
         | other processes |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let show = |r: Option<f64>| r.map(|v| format!("{}×", num(v))).unwrap_or_else(|| "n/a".into());
    let opt = |v: Option<f64>| v.map(num).unwrap_or_else(|| "n/a".into());
    for p in points {
        let base = find(1, fewest, p.objects).map(|q| q.run.rps);
        let one = find(1, p.clients, p.objects).map(|q| q.run.rps);
        let core = |name: &str| p.cores.get(name).map(|v| num(*v)).unwrap_or_else(|| "n/a".into());
        let ours: f64 = p.cores.iter().filter(|(k, _)| k.as_str() != MACHINE).map(|(_, v)| v).sum();
        let others = p.cores.get(MACHINE).map(|m| num((m - ours).max(0.0))).unwrap_or_else(|| "n/a".into());
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            count(p.objects as u64),
            p.bridges,
            p.clients,
            num(p.run.rps),
            show(base.and_then(|b| ratio(p.run.rps, b))),
            show(one.and_then(|b| ratio(p.run.rps, b))),
            ms(p.run.ok.p50),
            ms(p.run.ok.p99),
            p.run.errors,
            opt(p.ops_per_request),
            opt(p.reads_per_request),
            core("bridges"),
            core("mosquitto"),
            core("ferretdb"),
            core("bench"),
            others,
        );
    }
    section.notes.push(format!(
        "Every run (req/s: updates answered per second, applied or conflict; cores: CPU time over the \
         measured window ÷ its length, so 1.00 is one core busy, of the machine's {}; \"other \
         processes\" is the rest of the machine's busy time: what else ran meanwhile):\n\n{table}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    section.runs.extend(points.iter().map(|p| p.run.clone()));
}
