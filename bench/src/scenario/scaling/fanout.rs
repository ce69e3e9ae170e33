//! Fan-out: the same load while W more MQTT connections follow every event of the collection, as
//! the users of an application that shows it do. Each event is then delivered W more times: the
//! broker's work grows with W; the bridges' and the database's do not.

use super::{one_run, Collection, Point};
use crate::mqtt::{Conn, Handler};
use crate::procs::Bridge;
use crate::scenario::{Ctx, Result};
use crate::vmm::Fleet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Connections subscribed to `{p}/v1/evt/{collection}/+`, counting what they receive.
pub(super) struct Watchers {
    conns: Vec<Conn>,
    pub(super) received: Arc<AtomicU64>,
}

impl Watchers {
    pub(super) fn len(&self) -> usize {
        self.conns.len()
    }

    pub(super) fn new() -> Watchers {
        Watchers { conns: Vec::new(), received: Arc::default() }
    }

    /// Connects more watchers until there are `n`, each holding its subscription (SUBACK).
    async fn grow_to(&mut self, port: u16, prefix: &str, collection: &str, n: usize) -> Result<()> {
        let received = self.received.clone();
        let handler: Handler = Arc::new(move |_, _, _| {
            received.fetch_add(1, Ordering::Relaxed);
        });
        let topic = format!("{prefix}/v1/evt/{collection}/+");
        while self.conns.len() < n {
            let id = format!("{prefix}-w{}", self.conns.len());
            self.conns.push(Conn::connect(port, &id, std::slice::from_ref(&topic), handler.clone()).await?);
        }
        Ok(())
    }
}

/// One run per watcher count, on `coll` with `clients` clients and the bridges given; the
/// watchers are disconnected at the end.
pub(super) async fn measure(
    ctx: &Ctx,
    fleet: &Arc<Fleet>,
    bridges: &[Bridge],
    coll: &Collection,
    clients: usize,
) -> Result<Vec<Point>> {
    let mut watchers = Watchers::new();
    let mut points = Vec::new();
    let prefix = fleet.prefix().to_string();
    // The collection was seeded before the others, whose seeding emptied the cache of it.
    super::warm_up(fleet, bridges, coll).await;
    for &w in &ctx.plan.scaling.watchers {
        watchers.grow_to(ctx.services.mqtt_port, &prefix, &coll.name, w).await?;
        let mut point = one_run(ctx, fleet, bridges, coll, clients, Some(&watchers)).await;
        point.watchers = w;
        let failed = super::check(bridges, &point.run);
        points.push(point);
        failed?;
    }
    Ok(points)
}
