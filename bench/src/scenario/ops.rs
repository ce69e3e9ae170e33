//! Scenario 6: database operations per update on objects nobody else writes: the bridge's own
//! `vmm_db_operations_total` against `vmm_requests_total{outcome="applied"}`, and, as a
//! cross-check, FerretDB's command count per request against the driver's for `update_one`.

use super::{driver_updates, insert_objects, object_id, versions, vmm_updates, Ctx, Result, PLAIN};
use crate::http::{delta, Metrics};
use crate::load::Window;
use crate::procs::Bridge;
use crate::report::{Goal, Row, Section};
use crate::stats::{count, num, ratio};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Slots (and objects: one each) of the run.
const IN_FLIGHT: usize = 8;
/// The drivers' server monitoring, not caused by requests.
const MONITORING: [&str; 4] = ["hello", "isMaster", "ismaster", "ping"];

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("Database operations per update");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

/// The bridge's operation counter (summed over labels, if it has it) and applied requests.
async fn bridge_counters(bridge: &Bridge) -> Result<(Option<f64>, f64)> {
    let m: Metrics = bridge.metrics().await?;
    Ok((m.sum("vmm_db_operations_total"), m.sum_where("vmm_requests_total", "outcome", "applied")))
}

/// FerretDB commands between two readings, without the drivers' monitoring, per `requests`.
fn per_request(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, requests: f64) -> (f64, String) {
    let d = delta(after, before);
    let counted: f64 = d.iter().filter(|(k, _)| !MONITORING.contains(&k.as_str())).map(|(_, v)| v).sum();
    let detail = d
        .iter()
        .map(|(k, v)| format!("`{k}` {:.3} ({} in all)", v / requests.max(1.0), count(*v as u64)))
        .collect::<Vec<_>>()
        .join(", ");
    (counted / requests.max(1.0), detail)
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let plan = &ctx.plan;
    let world = ctx.world("ops").await?;
    let driver = Arc::new(ctx.driver(&world.database, IN_FLIGHT).await?);
    let v = versions(IN_FLIGHT);
    insert_objects(&world.fleet, &v, 0, IN_FLIGHT, IN_FLIGHT, plan.timeout * 2).await?;
    driver.preload(PLAIN, (0..IN_FLIGHT).map(object_id)).await?;
    // Counted by number, not time: no warm-up inside the window (the warm-up run comes first).
    let w = Window { warmup: Duration::ZERO, measure: Duration::from_secs(30), max_requests: plan.ops_requests };
    let warm = Window { max_requests: IN_FLIGHT as u64, ..w };
    vmm_updates("warm-up", &world.fleet, &v, IN_FLIGHT, IN_FLIGHT, warm).await;
    super::settle(&world.bridge).await;

    let (ops0, applied0) = bridge_counters(&world.bridge).await?;
    let db0 = ctx.services.db_commands().await?;
    let mut run =
        vmm_updates(&format!("vmm update ×{IN_FLIGHT} (operations)"), &world.fleet, &v, IN_FLIGHT, IN_FLIGHT, w).await;
    super::settle(&world.bridge).await;
    let (ops1, applied1) = bridge_counters(&world.bridge).await?;
    let db1 = ctx.services.db_commands().await?;
    let applied = applied1 - applied0;

    let d0 = ctx.services.db_commands().await?;
    let base =
        driver_updates(&format!("driver update_one ×{IN_FLIGHT} (operations)"), &driver, IN_FLIGHT, IN_FLIGHT, w).await;
    let d1 = ctx.services.db_commands().await?;
    let driver_requests = base.started as f64 - base.errors as f64;

    let ops_row = Row::new("database operations per update (bridge's `vmm_db_operations_total`)", "driver update_one")
        .goal(Goal::AtMost(3.0));
    section.rows.push(match (ops0, ops1) {
        (Some(a), Some(b)) if applied > 0.0 => {
            let per = (b - a) / applied;
            ops_row.values("1".into(), num(per), Some(per))
        }
        (Some(_), Some(_)) => ops_row.values("1".into(), "n/a (no update was applied)".into(), None),
        _ => ops_row.values("1".into(), "n/a (bridge exposes no counter)".into(), None),
    });
    let (vmm_cmds, vmm_detail) = per_request(&db0, &db1, applied);
    let (drv_cmds, drv_detail) = per_request(&d0, &d1, driver_requests);
    section.rows.push(Row::new("FerretDB commands per update (cross-check)", "driver update_one, measured").values(
        num(drv_cmds),
        num(vmm_cmds),
        ratio(vmm_cmds, drv_cmds),
    ));
    section.notes.push(format!(
        "- {} updates applied by the bridge (its `vmm_requests_total{{outcome=\"applied\"}}` delta), {} by the \
         driver, each slot on its own object. FerretDB commands per request, by command (monitoring `hello`/`ping` \
         listed but not counted):\n  - bridge: {}\n  - driver: {}",
        count(applied as u64),
        count(driver_requests as u64),
        if vmm_detail.is_empty() { "none".into() } else { vmm_detail },
        if drv_detail.is_empty() { "none".into() } else { drv_detail },
    ));
    run.label = format!("{} ({} applied per /metrics)", run.label, count(applied as u64));
    section.runs.push(run);
    section.runs.push(base);
    Ok(())
}
