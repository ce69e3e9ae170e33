//! Scenario 8: how a deployment grows. 1, 2 and 4 bridges in one shared-subscription group (the
//! broker hands each request to one member of `$share/{group}/…`) serve N clients, each one MQTT
//! connection with one update in flight, on collections of 1,000, 10,000 and 20,000 objects
//! seeded through the bridge (50,000 take minutes to seed on 2 cores: `--scaling-sizes`). Every
//! run is compared with the run of 1 bridge and the fewest clients on the same collection, in the
//! same run. Each run also records where the machine's CPU went (the bridges, the broker, the
//! database, the bench's own clients, anything else) and what a request cost the bridges in
//! database operations, so that the report can say which one the machine ran out of. Fan-out
//! runs (fanout.rs) add connections that watch the collection: the broker's share.

mod fanout;
mod table;

use super::{insert_into, learn, object_id, updates_in, versions, Ctx, Result, Versions};
use crate::cpu::Snapshot;
use crate::http::delta;
use crate::load::Run;
use crate::procs::Bridge;
use crate::report::Section;
use crate::stats::{count, num};
use crate::vmm::Fleet;
use fanout::Watchers;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Connections following every event of the collection besides (fan-out runs only).
    watchers: usize,
    /// Events they received per second, in the measured window.
    delivered: f64,
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
    // The fan-out runs first, with one bridge: the broker's share of the work as watchers grow.
    let middle = plan.clients[plan.clients.len() / 2];
    let fanned = fanout::measure(ctx, &fleet, &bridges, &collections[0], middle).await;
    match &fanned {
        Ok(points) => table::fan_out(section, points),
        Err(e) => section.notes.push(format!("- **The fan-out runs stopped:** {e}")),
    }
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
                let point = one_run(ctx, &fleet, &bridges, coll, c, None).await;
                let failed = check(&bridges, &point.run);
                points.push(point);
                if let Err(e) = failed {
                    section.notes.push(format!("- **Stopped:** {e}"));
                    break 'grow;
                }
            }
        }
    }
    table::runs(section, &points, plan.clients.first().copied().unwrap_or(1));
    section.notes.push(format!(
        "- Each run: {} s warm-up, {} s measured, or 2 ms and 5 ms per client if longer (1,000 clients: \
         2 s and 5 s); the client counts run from the most to the fewest. A client is one MQTT connection (clean session, QoS 1) \
         with one request in flight: it sends its next update when the previous one's outcome arrives, \
         on a random object among those only it writes (object k belongs to client k mod N), based on \
         the version it last saw. Requests go to `{{p}}/v1/req/{{client}}/{{collection}}`; the bridges \
         subscribe to `$share/{{group}}/{{p}}/v1/req/+/+` and Mosquitto hands each request to one of them. \
         Latency is the publish of a request → the receipt of its event by one observer subscribed to \
         every event topic; no client subscribes to the collection's events, so the broker delivers each \
         event once (the fan-out runs above add watchers). Bridges are added between runs, \
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

async fn one_run(
    ctx: &Ctx,
    fleet: &Arc<Fleet>,
    bridges: &[Bridge],
    coll: &Collection,
    clients: usize,
    watchers: Option<&Watchers>,
) -> Point {
    let w = window(ctx, clients);
    let label = format!(
        "{}, {} clients, {} objects",
        self::bridges(bridges.len()),
        count(clients as u64),
        count(coll.objects as u64)
    );
    let before = counters(bridges).await;
    // CPU is read over the measured window only, beside the load.
    let processes = processes(ctx, bridges);
    let received = watchers.map(|w| w.received.clone()).unwrap_or_default();
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(w.warmup).await;
        let (a, got) = (Snapshot::take(&processes), received.load(Ordering::Relaxed));
        tokio::time::sleep(w.measure).await;
        let delivered = (received.load(Ordering::Relaxed) - got) as f64 / w.measure.as_secs_f64();
        (Snapshot::take(&processes).cores_since(&a), delivered)
    });
    let label = match watchers {
        Some(w) => format!("{label}, {} watchers", w.len()),
        None => label,
    };
    let run = updates_in(&label, fleet, &coll.name, &coll.versions, coll.objects, clients, w).await;
    let (cores, delivered) = sampler.await.unwrap_or_default();
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
        watchers: 0,
        delivered,
        run,
        cores,
        ops_per_request: (answered > 0.0).then(|| ops / answered),
        reads_per_request: per("object_find"),
    }
}

/// Updates every object of `coll` once, 64 at a time, and waits for the outcomes: the bridges'
/// caches then hold the collection (if it fits) as a bridge serving it for a while has it.
async fn warm_up(fleet: &Arc<Fleet>, bridges: &[Bridge], coll: &Collection) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for slot in 0..SEED_IN_FLIGHT.min(coll.objects) {
        let (fleet, versions, next, name) = (fleet.clone(), coll.versions.clone(), next.clone(), coll.name.clone());
        let n = coll.objects;
        tasks.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let base = versions[k].load(Ordering::Relaxed);
                learn(&versions[k], &fleet.update(slot, &name, &object_id(k), base, 0).await);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    settle(bridges).await;
}

/// A run's warm-up and window: longer with many clients, since a thousand clients with one
/// request each in flight take seconds for one round on this machine (at ~300 requests/s), and a
/// window must hold rounds, not the first wave.
fn window(ctx: &Ctx, clients: usize) -> crate::load::Window {
    let per_client = |ms: u64| Duration::from_millis(ms * clients as u64);
    crate::load::Window {
        warmup: ctx.plan.warmup.max(per_client(2)),
        measure: ctx.plan.scaling.window.max(per_client(5)),
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
