//! Scenario 5: the bridge's resident memory idle, right after many updates at high concurrency, and
//! a while later.

use super::{insert_objects, versions, vmm_updates, Ctx, Result};
use crate::load::Window;
use crate::report::{Goal, Row, Section};
use crate::stats::{count, num, ratio};
use std::time::Duration;

const IN_FLIGHT: usize = 64;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("The bridge's memory (VmRSS)");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

fn mib(kib: u64) -> String {
    format!("{} MiB", num(kib as f64 / 1024.0))
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let plan = &ctx.plan;
    let world = ctx.world("rss").await?;
    let v = versions(IN_FLIGHT);
    insert_objects(&world.fleet, &v, 0, IN_FLIGHT, IN_FLIGHT.min(16), plan.timeout * 4).await?;
    super::settle(&world.bridge).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (idle, _) = world.bridge.proc.memory_kib()?;

    let w = Window { warmup: Duration::ZERO, measure: plan.rss_limit, max_requests: plan.rss_requests };
    let run =
        vmm_updates(&format!("vmm update ×{IN_FLIGHT} (memory)"), &world.fleet, &v, IN_FLIGHT, IN_FLIGHT, w).await;
    if let Err(e) = super::check(&world, &run) {
        section.runs.push(run);
        return Err(e);
    }
    let (after, peak) = world.bridge.proc.memory_kib()?;
    let done = run.started;
    tokio::time::sleep(plan.rss_wait).await;
    let (later, _) = world.bridge.proc.memory_kib()?;

    let requests = count(done);
    section.rows.push(Row::new(format!("RSS after {requests} updates"), "idle RSS").values(
        mib(idle),
        mib(after),
        ratio(after as f64, idle as f64),
    ));
    section.rows.push(
        Row::new(format!("RSS {} s after them", plan.rss_wait.as_secs()), "idle RSS")
            .values(mib(idle), mib(later), ratio(later as f64, idle as f64))
            .goal(Goal::AtMost(1.2)),
    );
    let capped = if done < plan.rss_requests {
        format!(
            " **Capped by time:** {requests} of the {} requests asked for were sent in {} s.",
            count(plan.rss_requests),
            plan.rss_limit.as_secs()
        )
    } else {
        String::new()
    };
    section.notes.push(format!(
        "- {requests} updates sent at {IN_FLIGHT} in flight, {} applied, {} errors; peak RSS (VmHWM) {}; \
         the last reading {} s after the run ended.{capped}",
        count(run.ok.n as u64),
        run.errors,
        mib(peak),
        plan.rss_wait.as_secs()
    ));
    section.runs.push(run);
    Ok(())
}
