//! Scenario 1: requests/s and latency of vmm updates and inserts at 1, 8 and 64 in flight, against
//! the driver's `update_one` and `insert_one` at the same concurrency on the same database, and
//! the MQTT round trip the latency goal allows on top of the driver's.

use super::{check, driver_updates, insert_objects, object_id, versions, vmm_updates, Ctx, Result, PLAIN, VMM};
use crate::load::{closed_loop, Run};
use crate::mqtt;
use crate::report::{Goal, Row, Section};
use crate::stats::{ms, num, ratio, Summary};
use std::sync::Arc;
use std::time::Duration;

pub async fn run(ctx: &Ctx) -> Section {
    let mut section = Section::new("Throughput and latency: vmm requests against the driver");
    match measure(ctx, &mut section).await {
        Ok(()) => section,
        Err(e) => section.failed(&e),
    }
}

async fn measure(ctx: &Ctx, section: &mut Section) -> Result<()> {
    let plan = &ctx.plan;
    let max_in_flight = plan.in_flight.iter().copied().max().unwrap_or(1);
    let world = ctx.world("throughput").await?;
    let driver = Arc::new(ctx.driver(&world.database, max_in_flight).await?);

    let rtt = mqtt::round_trip(ctx.services.mqtt_port, &format!("{}/rtt", world.prefix), plan.rtt_samples).await?;
    section.notes.push(format!(
        "- MQTT round trip (QoS 1 publish to a topic the same client subscribes to, one at a time, {} samples): \
         p50 {} ms, p99 {} ms, max {} ms.",
        rtt.n,
        ms(rtt.p50),
        ms(rtt.p99),
        ms(rtt.max)
    ));

    // One object per slot for the updates, inserted through the bridge (and by the driver).
    let objects = max_in_flight;
    let versions = versions(objects);
    let (inserted, _) =
        insert_objects(&world.fleet, &versions, 0, objects, max_in_flight.min(16), plan.timeout * 4).await?;
    if inserted < objects {
        return Err(format!("only {inserted} of {objects} objects were inserted through the bridge in time"));
    }
    driver.preload(PLAIN, (0..objects).map(object_id)).await?;

    for op in ["update", "insert"] {
        for &c in &plan.in_flight {
            let w = ctx.window();
            let (base, vmm) = if op == "update" {
                let d = driver_updates(&format!("driver update_one ×{c}"), &driver, objects, c, w).await;
                let v = vmm_updates(&format!("vmm update ×{c}"), &world.fleet, &versions, objects, c, w).await;
                (d, v)
            } else {
                let d = {
                    let driver = driver.clone();
                    closed_loop(&format!("driver insert_one ×{c}"), c, w, move |slot, i| {
                        let driver = driver.clone();
                        async move { driver.insert(PLAIN, &format!("i{c}-{slot}-{i}"), i).await }
                    })
                    .await
                };
                let v = {
                    let fleet = world.fleet.clone();
                    closed_loop(&format!("vmm insert ×{c}"), c, w, move |slot, i| {
                        let fleet = fleet.clone();
                        async move { fleet.insert(slot, VMM, &format!("i{c}-{slot}-{i}"), i).await }
                    })
                    .await
                };
                (d, v)
            };
            // The bridge's work left over from this run must not slow the next driver run.
            super::settle(&world.bridge).await;
            section.rows.extend(rows(op, c, &base, &vmm, &rtt));
            let checked = check(&world, &vmm);
            section.runs.push(base);
            section.runs.push(vmm);
            checked?;
        }
    }
    section.notes.push(format!(
        "- Each run: {} s warm-up, {} s measured; requests spread over {} MQTT clients; vmm latency is the \
         publish of the request → receipt of its event (client + rid) by a subscriber of the event topics; \
         the driver's pool holds {} connections. Updates `$set` one field of an object only that slot \
         writes; inserts write new objects of the same shape.",
        plan.warmup.as_secs_f64(),
        plan.window.as_secs_f64(),
        world.fleet.len(),
        max_in_flight + 4
    ));
    Ok(())
}

/// The rows of one (operation, in flight) pair: throughput, p50 and p99.
fn rows(op: &str, c: usize, base: &Run, vmm: &Run, rtt: &Summary) -> Vec<Row> {
    let allowed = |driver: Duration, mqtt: Duration| {
        let sum = driver + mqtt;
        (format!("{} + {} = {}", ms(driver), ms(mqtt), ms(sum)), sum.as_secs_f64() * 1000.0)
    };
    let mut throughput = Row::new(format!("{op} req/s, {c} in flight"), format!("driver {op}_one")).values(
        num(base.rps),
        num(vmm.rps),
        ratio(vmm.rps, base.rps),
    );
    if c >= 8 {
        throughput = throughput.goal(Goal::AtLeast(0.8));
    }
    let (p50_text, p50_allowed) = allowed(base.ok.p50, rtt.p50);
    let p50 = Row::new(format!("{op} p50 ms, {c} in flight"), "driver p50 + MQTT RTT p50").values(
        p50_text,
        ms(vmm.ok.p50),
        ratio(vmm.p50_ms(), p50_allowed),
    );
    let (p99_text, p99_allowed) = allowed(base.ok.p99, rtt.p99);
    let p99 = Row::new(format!("{op} p99 ms, {c} in flight"), "driver p99 + MQTT RTT p99")
        .values(p99_text, ms(vmm.ok.p99), ratio(vmm.p99_ms(), p99_allowed))
        .goal(Goal::AtMost(1.25));
    let mut rows = vec![throughput, p50, p99];
    if vmm.ok.n == 0 {
        // No successful request: the ratios above are meaningless.
        for r in &mut rows {
            r.ratio = None;
            r.value = format!("no request succeeded ({} errors)", vmm.errors);
        }
    }
    rows
}
