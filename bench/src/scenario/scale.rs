//! Scenario 2: the same updates at growing numbers of objects and events (1,000, 10,000 and
//! 50,000 by default). The objects are inserted through the bridge at high concurrency, so its
//! event log holds one event per object; the driver's collection gets as many objects.

use super::{driver_updates, insert_objects, object_id, versions, vmm_updates, Ctx, Result, PLAIN};
use crate::load::Run;
use crate::report::{Goal, Row, Section};
use crate::stats::{count, ms, num, ratio};
use std::sync::Arc;
use std::time::Instant;

/// Inserts in flight while preloading.
const PRELOAD_IN_FLIGHT: usize = 64;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("Scale: updates at growing numbers of objects and events");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

/// One measured size: the objects (and events) reached and the two runs.
struct Point {
    objects: usize,
    driver: Run,
    vmm: Run,
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let plan = &ctx.plan;
    let c = plan.scale_in_flight;
    let world = ctx.world("scale").await?;
    let driver = Arc::new(ctx.driver(&world.database, c.max(PRELOAD_IN_FLIGHT)).await?);
    let largest = *plan.sizes.last().unwrap_or(&0) as usize;
    let versions = versions(largest);
    let started = Instant::now();
    let mut loaded = 0;
    let mut points: Vec<Point> = Vec::new();
    for &size in &plan.sizes {
        let size = size as usize;
        let left = plan.preload.saturating_sub(started.elapsed());
        let (applied, secs) = insert_objects(&world.fleet, &versions, loaded, size, PRELOAD_IN_FLIGHT, left).await?;
        super::settle(&world.bridge).await;
        section.notes.push(format!(
            "- Preloaded objects {}…{} through the bridge, {PRELOAD_IN_FLIGHT} in flight: {} inserts in {secs:.1} s \
             ({} req/s).",
            count(loaded as u64),
            count((loaded + applied) as u64),
            count(applied as u64),
            num(applied as f64 / secs.max(1e-9))
        ));
        driver.preload(PLAIN, (loaded..loaded + applied).map(object_id)).await?;
        loaded += applied;
        if loaded < size {
            section.notes.push(format!(
                "- **The preload stopped at {} of {} objects** after the {} s it may take in all; the point is \
                 measured at {} objects.",
                count(loaded as u64),
                count(size as u64),
                plan.preload.as_secs(),
                count(loaded as u64)
            ));
        }
        if loaded < c || points.last().is_some_and(|p| p.objects == loaded) {
            break;
        }
        let n = loaded;
        let w = ctx.window();
        let d = driver_updates(&format!("driver update_one ×{c}, {} objects", count(n as u64)), &driver, n, c, w).await;
        let label = format!("vmm update ×{c}, {} objects+events", count(n as u64));
        let v = vmm_updates(&label, &world.fleet, &versions, n, c, w).await;
        super::settle(&world.bridge).await;
        let checked = super::check(&world, &v);
        points.push(Point { objects: n, driver: d, vmm: v });
        if let Err(e) = checked {
            section.notes.push(format!("- **Stopped:** {e}"));
            break;
        }
        if loaded < size {
            break;
        }
    }
    for p in &points {
        let at = count(p.objects as u64);
        section.rows.push(
            Row::new(format!("update req/s at {at} objects, {c} in flight"), "driver update_one").values(
                num(p.driver.rps),
                num(p.vmm.rps),
                ratio(p.vmm.rps, p.driver.rps),
            ),
        );
        section.rows.push(Row::new(format!("update p99 ms at {at} objects, {c} in flight"), "driver p99").values(
            ms(p.driver.ok.p99),
            ms(p.vmm.ok.p99),
            ratio(p.vmm.p99_ms(), p.driver.p99_ms()),
        ));
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let (a, b) = (count(first.objects as u64), count(last.objects as u64));
        section.rows.push(
            Row::new(format!("vmm update req/s at {b} vs at {a}"), format!("vmm at {a}"))
                .values(num(first.vmm.rps), num(last.vmm.rps), ratio(last.vmm.rps, first.vmm.rps))
                .goal(Goal::AtLeast(0.8)),
        );
        // How much the database itself slows down: what the ratio below corrects for.
        section.rows.push(
            Row::new(format!("driver update_one req/s at {b} vs at {a}"), format!("driver at {a}")).values(
                num(first.driver.rps),
                num(last.driver.rps),
                ratio(last.driver.rps, first.driver.rps),
            ),
        );
        let r_first = ratio(first.vmm.rps, first.driver.rps);
        let r_last = ratio(last.vmm.rps, last.driver.rps);
        let show = |r: Option<f64>| r.map(|v| format!("{}×", num(v))).unwrap_or_else(|| "n/a".into());
        section.rows.push(
            Row::new(format!("vmm ÷ driver req/s at {b} vs at {a}"), format!("the ratio at {a}"))
                .values(show(r_first), show(r_last), r_first.zip(r_last).and_then(|(f, l)| ratio(l, f)))
                .goal(Goal::AtLeast(0.8)),
        );
        if points.len() < 2 {
            section.notes.push("- Only one size was measured: the scale goals compare it with itself.".into());
        }
    }
    for p in points {
        section.runs.push(p.driver);
        section.runs.push(p.vmm);
    }
    section.notes.push(format!(
        "- Each slot updates random objects among those only it writes (object k belongs to slot k mod {c}); \
         the event log holds one event per object plus one per update measured before."
    ));
    Ok(())
}
