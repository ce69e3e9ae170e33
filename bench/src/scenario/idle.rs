//! Scenario 4: the database load of an idle bridge, from FerretDB's per-command request counters,
//! against an idle application holding a driver connection, each over the same time.

use super::{insert_objects, versions, Ctx, Result};
use crate::http::delta;
use crate::report::{Row, Section, Verdict};
use crate::stats::{num, ratio};
use std::collections::BTreeMap;
use std::time::Duration;

/// The commands that read collections: what an idle server should not send at all.
pub const SCANS: [&str; 6] = ["find", "aggregate", "count", "distinct", "getMore", "findAndModify"];

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("The idle bridge's database load");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

/// Commands per second by name over `secs` of waiting.
async fn commands_while_waiting(ctx: &Ctx, secs: Duration) -> Result<BTreeMap<String, f64>> {
    let before = ctx.services.db_commands().await?;
    tokio::time::sleep(secs).await;
    let after = ctx.services.db_commands().await?;
    Ok(delta(&after, &before).into_iter().map(|(k, v)| (k, v / secs.as_secs_f64())).collect())
}

fn describe(rates: &BTreeMap<String, f64>) -> String {
    if rates.is_empty() {
        return "none".into();
    }
    rates.iter().map(|(k, v)| format!("`{k}` {}/s", num(*v))).collect::<Vec<_>>().join(", ")
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let secs = ctx.plan.idle;
    let settle = Duration::from_secs(3);

    // The baseline: an application connected with the driver, doing nothing.
    let driver = ctx.driver("bench_idle", 1).await?;
    tokio::time::sleep(settle).await;
    // Half as long: it only sends the driver's heartbeats (one `hello` per 10 s).
    let baseline_secs = secs / 2;
    let baseline = commands_while_waiting(ctx, baseline_secs).await?;
    driver.shutdown().await;

    // The bridge, after some objects went through it (so it has events and collections).
    let world = ctx.world("idle").await?;
    let objects = if ctx.plan.quick { 10 } else { 100 };
    insert_objects(&world.fleet, &versions(objects), 0, objects, 8, ctx.plan.timeout * 2).await?;
    super::settle(&world.bridge).await;
    tokio::time::sleep(settle).await;
    let bridge = commands_while_waiting(ctx, secs).await?;
    drop(world);

    let total = |m: &BTreeMap<String, f64>| m.values().sum::<f64>();
    let scans = |m: &BTreeMap<String, f64>| SCANS.iter().filter_map(|s| m.get(*s)).sum::<f64>();
    section.rows.push(Row::new("database commands/s, idle", "idle app with a driver connection").values(
        num(total(&baseline)),
        num(total(&bridge)),
        ratio(total(&bridge), total(&baseline)),
    ));
    let (bridge_scans, base_scans) = (scans(&bridge), scans(&baseline));
    let mut scan_row = Row::new("queries (scans)/s, idle: goal 0", "idle app with a driver connection").values(
        num(base_scans),
        num(bridge_scans),
        ratio(bridge_scans, base_scans),
    );
    scan_row.verdict = Some(if bridge_scans == 0.0 { Verdict::Met } else { Verdict::Missed });
    section.rows.push(scan_row);
    section.notes.push(format!(
        "- From FerretDB's `ferretdb_client_requests_total` by command (queries = {}):\n  \
         - idle bridge ({objects} objects inserted before, then left alone), over {} s: {}\n  \
         - baseline, an idle driver client, over {} s: {}",
        SCANS.map(|s| format!("`{s}`")).join(", "),
        secs.as_secs_f64(),
        describe(&bridge),
        baseline_secs.as_secs_f64(),
        describe(&baseline)
    ));
    Ok(())
}
