//! Scenario 9: the MongoDB mirror (`vmm-mirror`, docs/MIRROR.md) at growing collection sizes
//! (the `--sizes` of the scale scenario). Per size, on a fresh bridge, database and target
//! database of the private FerretDB:
//!
//! 1. N objects inserted through the bridge; the mirror started on the empty target: its initial
//!    load (documents: an empty replica has nothing to compare), its time to be in step and its
//!    memory;
//! 2. the mirror stopped (SIGTERM), 1 % of the objects updated and 0.1 % deleted through the
//!    bridge, the mirror started again with `--resync versions` (PROTOCOL.md §12.4);
//! 3. the same with another 1 % and `--resync documents`: the baseline of step 2.
//!
//! "In step" is `/healthz` answering 200 with nothing pending, and the target then read back
//! equal (ids and versions) to what the bench knows the source holds.

mod process;

use super::{insert_objects, object_id, settle, versions, Ctx, Result, World, VMM};
use crate::http::delta;
use crate::report::{Row, Section};
use crate::stats::{count, num, ratio};
use crate::vmm::Outcome;
use process::{InStep, MirrorProc, Versions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Inserts in flight while seeding (as the scale scenario preloads).
const SEED_IN_FLIGHT: usize = 64;
/// Updates and deletes in flight while the mirror is stopped.
const CHANGE_IN_FLIGHT: usize = 16;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("The MongoDB mirror: initial load, and restarts after 1 % changed");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

/// One start of the mirror until it was in step, and what the bridge did meanwhile.
struct Start {
    step: InStep,
    /// Snapshot pages the bridge sent (`vmm_load_pages_total`).
    pages: f64,
    /// CPU seconds FerretDB and the bridge used meanwhile.
    cpu_ferretdb: f64,
    cpu_bridge: f64,
    /// FerretDB's commands meanwhile, by command (the bench's checks of the target included).
    commands: BTreeMap<String, f64>,
    /// Seconds from SIGTERM to the exit.
    stop_secs: f64,
}

impl Start {
    fn metric(&self, name: &str) -> f64 {
        self.step.metrics.sum(name).unwrap_or(0.0)
    }
    fn fetched(&self) -> f64 {
        self.metric("vmm_mirror_fetched_states_total")
    }
    fn listed(&self) -> f64 {
        self.metric("vmm_mirror_listed_versions_total")
    }
    fn writes(&self, outcome: &str) -> f64 {
        self.step.metrics.sum_where("vmm_mirror_writes_total", "outcome", outcome)
    }
}

/// One measured size.
struct Point {
    objects: usize,
    seed_secs: f64,
    /// Objects updated and deleted before each restart.
    updated: usize,
    deleted: usize,
    initial: Start,
    by_versions: Start,
    by_documents: Start,
}

/// How long a start may take to be in step: generous, since on FerretDB each page of a load reads
/// the whole collection (docs/BENCHMARKS.md), so a load costs O(N²); one that needs longer is
/// reported as stopped.
fn limit(objects: usize) -> Duration {
    Duration::from_secs(120) + Duration::from_millis(40) * objects as u32
}

/// Roughly how long the scenario takes at `sizes`, from a run on 2 cores: seeding at ~300
/// inserts/s, and the three starts, whose loads cost O(N²) on FerretDB (29 min at 50,000).
pub fn estimate_secs(sizes: &[u64]) -> f64 {
    sizes.iter().map(|&n| n as f64).map(|n| 10.0 + n / 300.0 + 7e-7 * n * n).sum()
}

/// At most this long seeding one size (or `--preload-secs`, if longer): 50,000 inserts take
/// 1–4 minutes on 2 cores.
const SEED_LIMIT: Duration = Duration::from_secs(300);

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let bin = ctx.bridge_bin.with_file_name("vmm-mirror");
    if !bin.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p vmm-bridge --bin vmm-mirror`",
            bin.display()
        ));
    }
    let mut idle = None;
    let mut points = Vec::new();
    for &size in &ctx.plan.sizes {
        match point(ctx, &bin, size as usize, &mut idle, section).await {
            Ok(p) => points.push(p),
            Err(e) => {
                section.notes.push(format!("- **Stopped at {} objects:** {}", count(size), e.replace('\n', " ")));
                break;
            }
        }
    }
    report(section, &points, idle.unwrap_or(0));
    Ok(())
}

/// Seeds a fresh world with `size` objects and measures the three starts. The first call also
/// measures an idle mirror (an empty collection): the baseline of the memory rows.
async fn point(ctx: &Ctx, bin: &Path, size: usize, idle: &mut Option<u64>, section: &mut Section) -> Result<Point> {
    let world = ctx.world(&format!("mirror{size}")).await?;
    let client = mongodb::Client::with_uri_str(ctx.services.mongodb_uri()).await.map_err(|e| e.to_string())?;
    let target = format!("{}_copy", world.database);
    if idle.is_none() {
        let empty = format!("{}_idle", world.database);
        let mut m = MirrorProc::start(bin, &ctx.services, &world.prefix, &empty, "versions")?;
        let step = m.in_step(&client.database(&empty), &Versions::new(), limit(0)).await?;
        m.stop().await?;
        *idle = Some(step.rss_kib);
    }

    let v = versions(size);
    let seed_limit = ctx.plan.preload.max(SEED_LIMIT);
    let (n, seed_secs) = insert_objects(&world.fleet, &v, 0, size, SEED_IN_FLIGHT, seed_limit).await?;
    settle(&world.bridge).await;
    section.notes.push(format!(
        "- Seeded {} objects through the bridge, {SEED_IN_FLIGHT} in flight, in {seed_secs:.1} s ({} inserts/s).",
        count(n as u64),
        num(n as f64 / seed_secs.max(1e-9))
    ));
    if n < size {
        section.notes.push(format!(
            "- **Seeding stopped at {} of {} objects** after {} s; this size is measured at {}.",
            count(n as u64),
            count(size as u64),
            seed_limit.as_secs(),
            count(n as u64)
        ));
    }
    let mut expected: Versions = (0..n).map(|k| (object_id(k), v[k].load(Ordering::Relaxed))).collect();
    let run = |resync: &'static str, expected: Versions| {
        let (world, client, target) = (&world, &client, &target);
        async move { start(ctx, bin, world, &client.database(target), target, &expected, resync, limit(n)).await }
    };
    let initial = run("versions", expected.clone()).await?;
    let (updated, deleted) = change(&world, &v, &mut expected, n, 1).await?;
    let by_versions = run("versions", expected.clone()).await?;
    change(&world, &v, &mut expected, n, 2).await?;
    let by_documents = run("documents", expected.clone()).await?;
    Ok(Point { objects: n, seed_secs, updated, deleted, initial, by_versions, by_documents })
}

/// Starts the mirror, waits until it is in step, stops it.
#[allow(clippy::too_many_arguments)]
async fn start(
    ctx: &Ctx,
    bin: &Path,
    world: &World,
    target: &mongodb::Database,
    target_name: &str,
    expected: &Versions,
    resync: &str,
    limit: Duration,
) -> Result<Start> {
    let pages = || async { world.bridge.metrics().await.map(|m| m.sum("vmm_load_pages_total").unwrap_or(0.0)) };
    let cpu = || Ok::<_, String>((ctx.services.ferretdb().cpu_secs()?, world.bridge.proc.cpu_secs()?));
    let (pages_before, cpu_before, commands_before) = (pages().await?, cpu()?, ctx.services.db_commands().await?);
    let mut m = MirrorProc::start(bin, &ctx.services, &world.prefix, target_name, resync)?;
    let step = m.in_step(target, expected, limit).await?;
    let (pages_after, cpu_after) = (pages().await?, cpu()?);
    let commands = delta(&ctx.services.db_commands().await?, &commands_before);
    let stop_secs = m.stop().await?;
    Ok(Start {
        step,
        pages: pages_after - pages_before,
        cpu_ferretdb: cpu_after.0 - cpu_before.0,
        cpu_bridge: cpu_after.1 - cpu_before.1,
        commands,
        stop_secs,
    })
}

/// The objects round `round` (1 or 2) of changes updates (1 % of `n`, at least one) and deletes
/// (0.1 %, at least one), spread over the collection; no object is changed in both rounds.
fn picks(n: usize, round: usize) -> (Vec<usize>, Vec<usize>) {
    let u = (n / 100).max(1);
    let s = (n / u).max(1);
    let updates = |r: usize| -> BTreeSet<usize> {
        (0..u).map(|j| j * s + if r == 1 { s / 4 } else { 3 * s / 4 }).filter(|k| *k < n).collect()
    };
    let d = (n / 1000).max(1);
    let t = (n / d).max(1);
    let touched: BTreeSet<usize> = updates(1).union(&updates(2)).copied().collect();
    let deletes = (0..d).map(|j| j * t + t / 2 + round - 1).filter(|k| *k < n && !touched.contains(k)).collect();
    (updates(round).into_iter().collect(), deletes)
}

/// Applies round `round` of changes through the bridge, recording the versions (a deleted object
/// leaves `expected`). Returns how many objects were updated and deleted.
async fn change(
    world: &World,
    v: &super::Versions,
    expected: &mut Versions,
    n: usize,
    round: usize,
) -> Result<(usize, usize)> {
    let (updates, deletes) = picks(n, round);
    let ops: Vec<(usize, bool)> =
        updates.iter().map(|k| (*k, false)).chain(deletes.iter().map(|k| (*k, true))).collect();
    let ops = Arc::new(ops);
    let mut tasks = Vec::new();
    for slot in 0..CHANGE_IN_FLIGHT {
        let (fleet, v, ops) = (world.fleet.clone(), v.clone(), ops.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for &(k, delete) in ops.iter().skip(slot).step_by(CHANGE_IN_FLIGHT) {
                let (id, base) = (object_id(k), v[k].load(Ordering::Relaxed));
                let d = if delete {
                    fleet.delete(slot, VMM, &id, base).await
                } else {
                    fleet.update(slot, VMM, &id, base, round as u64).await
                };
                match d.outcome {
                    Outcome::Applied { version } => {
                        v[k].store(version, Ordering::Relaxed);
                        done.push((k, delete, version));
                    }
                    other => {
                        return Err(format!("{} of {id} failed: {other:?}", if delete { "delete" } else { "update" }))
                    }
                }
            }
            Ok(done)
        }));
    }
    for t in tasks {
        for (k, delete, version) in t.await.map_err(|e| e.to_string())?? {
            if delete {
                expected.remove(&object_id(k));
            } else {
                expected.insert(object_id(k), version);
            }
        }
    }
    settle(&world.bridge).await;
    Ok((updates.len(), deletes.len()))
}

fn mib(kib: u64) -> String {
    format!("{} MiB", num(kib as f64 / 1024.0))
}

/// A count read from a metric (a float): 12,345.
fn whole(v: f64) -> String {
    count(v.max(0.0).round() as u64)
}

fn secs(s: f64) -> String {
    format!("{} s", num(s))
}

fn report(section: &mut Section, points: &[Point], idle: u64) {
    for p in points {
        let at = count(p.objects as u64);
        let (v, d, i) = (&p.by_versions, &p.by_documents, &p.initial);
        section.rows.push(
            Row::new(format!("restart after 1 % changed, by versions: s to in step, {at} objects"), "by documents")
                .values(secs(d.step.secs), secs(v.step.secs), ratio(v.step.secs, d.step.secs)),
        );
        section.rows.push(
            Row::new(format!("restart after 1 % changed, by versions: states fetched, {at} objects"), "by documents")
                .values(whole(d.fetched()), whole(v.fetched()), ratio(v.fetched(), d.fetched())),
        );
        section.rows.push(
            Row::new(
                format!("initial load into an empty target: s to in step, {at} objects"),
                "full reload by documents",
            )
            .values(secs(d.step.secs), secs(i.step.secs), ratio(i.step.secs, d.step.secs)),
        );
        section.rows.push(
            Row::new(format!("mirror VmRSS after the initial load, {at} objects"), "idle mirror, 0 objects").values(
                mib(idle),
                mib(i.step.rss_kib),
                ratio(i.step.rss_kib as f64, idle as f64),
            ),
        );
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        if points.len() > 1 {
            let (a, b) = (count(first.objects as u64), count(last.objects as u64));
            let times = format!("{}× the objects", num(last.objects as f64 / first.objects as f64));
            for (name, f, l) in [
                ("by versions", &first.by_versions, &last.by_versions),
                ("by documents", &first.by_documents, &last.by_documents),
                ("initial load", &first.initial, &last.initial),
            ] {
                section.rows.push(
                    Row::new(format!("{name}: s to in step at {b} vs at {a} objects ({times})"), format!("at {a}"))
                        .values(secs(f.step.secs), secs(l.step.secs), ratio(l.step.secs, f.step.secs)),
                );
            }
        }
    }
    section.notes.push(raw_table(points));
    notes(section, points, idle);
}

/// Every start's raw figures.
fn raw_table(points: &[Point]) -> String {
    let mut out = String::from(
        "\n| start | in step s | /healthz first answered s | loaded s | restored | states fetched | versions listed | \
         bridge pages | writes applied / duplicate | FerretDB findAndModify / find | CPU s FerretDB / bridge / \
         mirror | VmRSS | VmHWM | SIGTERM to exit s |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for p in points {
        let at = count(p.objects as u64);
        for (name, s) in [
            ("initial load", &p.initial),
            ("restart, resync by versions", &p.by_versions),
            ("restart, resync by documents", &p.by_documents),
        ] {
            out.push_str(&format!(
                "| {at} objects: {name} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} / {} | {} / {} / {} | {} | {} | {} |\n",
                num(s.step.secs),
                num(s.step.serving),
                num(s.step.loaded),
                whole(s.metric("vmm_mirror_restored_objects")),
                whole(s.fetched()),
                whole(s.listed()),
                whole(s.pages),
                whole(s.writes("applied")),
                whole(s.writes("duplicate")),
                whole(s.commands.get("findAndModify").copied().unwrap_or(0.0)),
                whole(s.commands.get("find").copied().unwrap_or(0.0)),
                num(s.cpu_ferretdb),
                num(s.cpu_bridge),
                num(s.step.cpu),
                mib(s.step.rss_kib),
                mib(s.step.hwm_kib),
                num(s.stop_secs),
            ));
        }
    }
    out
}

fn notes(section: &mut Section, points: &[Point], idle: u64) {
    if let Some(p) = points.first() {
        section.notes.push(format!(
            "- Before each restart the mirror was stopped with SIGTERM and 1 % of the objects were updated and \
             0.1 % deleted through the bridge (at {}: {} and {}), other objects each time.",
            count(p.objects as u64),
            p.updated,
            p.deleted
        ));
    }
    let per_object: Vec<String> = points
        .iter()
        .map(|p| {
            let kib = p.initial.step.rss_kib.saturating_sub(idle) as f64 / p.objects.max(1) as f64;
            format!("{} KiB at {}", num(kib), count(p.objects as u64))
        })
        .collect();
    if !per_object.is_empty() {
        section.notes.push(format!(
            "- Memory per object after the initial load, (VmRSS − the idle mirror's {}) ÷ objects: {}.",
            mib(idle),
            per_object.join(", ")
        ));
    }
    let early: u32 =
        points.iter().flat_map(|p| [&p.initial, &p.by_versions, &p.by_documents]).map(|s| s.step.early).sum();
    if early > 0 {
        section.notes.push(format!(
            "- **`/healthz` said in step (200, nothing pending) {early} time(s) before the target equalled the \
             source**; the times above run until it did."
        ));
    }
    let slow = points.iter().map(|p| p.seed_secs).sum::<f64>();
    section.notes.push(format!(
        "- \"In step\": `/healthz` 200 with `pending` 0 and no collection loading, then the target's ids and \
         `_vmm_v` read back equal to the source's (asked every 50 ms; times from the start of the process). \
         Seeding took {slow:.0} s in all."
    ));
}

#[cfg(test)]
mod tests {
    use super::picks;
    use std::collections::BTreeSet;

    #[test]
    fn rounds_change_one_percent_and_delete_a_few_other_objects() {
        for n in [20, 50, 100, 1_000, 10_000, 50_000] {
            let (u1, d1) = picks(n, 1);
            let (u2, d2) = picks(n, 2);
            assert_eq!(u1.len(), (n / 100).max(1), "n {n}");
            assert_eq!(u2.len(), u1.len());
            assert!(!d1.is_empty() && !d2.is_empty(), "n {n}");
            let all: BTreeSet<usize> = u1.iter().chain(&u2).chain(&d1).chain(&d2).copied().collect();
            assert_eq!(all.len(), u1.len() + u2.len() + d1.len() + d2.len(), "n {n}: an object changed twice");
            assert!(all.iter().all(|k| *k < n));
        }
    }
}
