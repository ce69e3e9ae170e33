//! Scenario 3: a hot object. Every client updates the same object, each based on the version it
//! last learnt from its own outcomes (its events, and the `current` of its rejects), so many
//! requests carry a stale base and are rejected with `conflict`. Compares how fast a conflict is
//! answered with how fast a success is.

use super::{insert_objects, learn, object_id, versions, Ctx, Result, VMM};
use crate::load::{closed_loop, Window};
use crate::report::{Goal, Row, Section};
use crate::stats::{ms, num, ratio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("A hot object: conflict rejects against successes");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let world = ctx.world("hot").await?;
    let slots = world.fleet.len();
    let inserted = versions(1);
    insert_objects(&world.fleet, &inserted, 0, 1, 1, ctx.plan.timeout).await?;
    let first = inserted[0].load(Ordering::Relaxed);
    if first == 0 {
        return Err("the hot object could not be inserted".into());
    }
    // Each client's own idea of the object's version.
    let known: Arc<Vec<AtomicU64>> = Arc::new((0..slots).map(|_| AtomicU64::new(first)).collect());
    let fleet = world.fleet.clone();
    // No warm-up: a reject that takes longer than the whole window must still be counted.
    let w = Window { warmup: Duration::ZERO, measure: ctx.plan.hot, max_requests: ctx.plan.max_requests };
    let run = closed_loop(&format!("vmm update of one object ×{slots}"), slots, w, move |slot, i| {
        let (fleet, known) = (fleet.clone(), known.clone());
        async move {
            let base = known[slot].load(Ordering::Relaxed);
            let done = fleet.update(slot, VMM, &object_id(0), base, i + 1).await;
            learn(&known[slot], &done);
            done
        }
    })
    .await;
    let (ok, conflicts) = (run.ok, run.conflicts);
    let mut p50 = Row::new(format!("conflict reject p50 ms, {slots} clients on one object"), "success p50")
        .values(ms(ok.p50), ms(conflicts.p50), ratio(conflicts.p50.as_secs_f64(), ok.p50.as_secs_f64()))
        .goal(Goal::AtMost(1.2));
    let mut p99 = Row::new(format!("conflict reject p99 ms, {slots} clients on one object"), "success p99").values(
        ms(ok.p99),
        ms(conflicts.p99),
        ratio(conflicts.p99.as_secs_f64(), ok.p99.as_secs_f64()),
    );
    if ok.n == 0 || conflicts.n == 0 {
        for r in [&mut p50, &mut p99] {
            r.ratio = None;
            r.value = format!("{} successes, {} conflicts: nothing to compare", ok.n, conflicts.n);
        }
    }
    section.rows.extend([p50, p99]);
    let total = ok.n + conflicts.n;
    section.notes.push(format!(
        "- {} requests: {} applied, {} rejected with conflict ({}%); {} other errors. Slowest success {} ms, \
         slowest conflict reject {} ms.",
        total,
        ok.n,
        conflicts.n,
        num(100.0 * conflicts.n as f64 / total.max(1) as f64),
        run.errors,
        ms(ok.max),
        ms(conflicts.max)
    ));
    section.runs.push(run);
    Ok(())
}
