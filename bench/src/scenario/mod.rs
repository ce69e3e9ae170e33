//! The scenarios, and what they share: a world per scenario (its own database, topic prefix and
//! bridge process), loading objects through the bridge, and the update loops of vmm and the driver.

pub mod browser;
pub mod hot;
pub mod idle;
pub mod mirror;
pub mod ops;
pub mod rss;
pub mod scale;
pub mod scaling;
pub mod throughput;

use crate::config::Plan;
use crate::driver::Driver;
use crate::load::{closed_loop, spread, Run, Window};
use crate::procs::{Bridge, Services};
use crate::vmm::{Done, Fleet, Outcome};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, String>;

/// The collection vmm's requests go to, and the one the driver baseline writes (same database).
pub const VMM: &str = "bench";
pub const PLAIN: &str = "plain";

/// What every scenario gets: the plan, the private services, the bridge binary.
pub struct Ctx {
    pub plan: Plan,
    pub services: Services,
    pub bridge_bin: PathBuf,
    /// Distinguishes this run's topic prefixes.
    pub tag: String,
}

/// One scenario's fresh database, topic prefix, bridge and requesters.
pub struct World {
    pub database: String,
    pub prefix: String,
    pub bridge: Bridge,
    pub fleet: Arc<Fleet>,
}

impl Ctx {
    pub async fn world(&self, name: &str) -> Result<World> {
        let database = format!("bench_{name}");
        let prefix = format!("bench-{}-{name}", self.tag);
        let bridge = Bridge::start(&self.bridge_bin, &self.services, &database, &prefix).await?;
        let fleet = Fleet::connect(self.services.mqtt_port, &prefix, self.plan.clients, self.plan.timeout).await?;
        fleet.wait_served(VMM, Duration::from_secs(60)).await?;
        Ok(World { database, prefix, bridge, fleet: Arc::new(fleet) })
    }

    /// A driver on `database` with a pool for `in_flight` concurrent operations.
    pub async fn driver(&self, database: &str, in_flight: usize) -> Result<Driver> {
        Driver::connect(&self.services.mongodb_uri(), database, in_flight as u32 + 4).await
    }

    pub fn window(&self) -> Window {
        Window { warmup: self.plan.warmup, measure: self.plan.window, max_requests: self.plan.max_requests }
    }
}

/// The id of the bench's `k`th object.
pub fn object_id(k: usize) -> String {
    format!("o{k}")
}

/// Per object, the version this bench last saw (0: not inserted).
pub type Versions = Arc<Vec<AtomicU64>>;

pub fn versions(n: usize) -> Versions {
    Arc::new((0..n).map(|_| AtomicU64::new(0)).collect())
}

/// Inserts objects `from..to` through the bridge with `in_flight` requests in flight, until done
/// or `limit` has passed. Returns how many were applied and the seconds it took; their versions
/// are recorded in `versions`. Stops early at the first object that could not be inserted.
pub async fn insert_objects(
    fleet: &Arc<Fleet>,
    versions: &Versions,
    from: usize,
    to: usize,
    in_flight: usize,
    limit: Duration,
) -> Result<(usize, f64)> {
    insert_into(fleet, VMM, versions, from, to, in_flight, limit).await
}

/// [`insert_objects`] into `collection`.
pub async fn insert_into(
    fleet: &Arc<Fleet>,
    collection: &str,
    versions: &Versions,
    from: usize,
    to: usize,
    in_flight: usize,
    limit: Duration,
) -> Result<(usize, f64)> {
    let collection: Arc<str> = collection.into();
    let next = Arc::new(AtomicUsize::new(from));
    let failed = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    let deadline = start + limit;
    let mut tasks = Vec::new();
    for slot in 0..in_flight.max(1) {
        let (fleet, versions, next, failed) = (fleet.clone(), versions.clone(), next.clone(), failed.clone());
        let collection = collection.clone();
        tasks.push(tokio::spawn(async move {
            let mut applied = 0;
            while Instant::now() < deadline && failed.lock().unwrap().is_none() {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= to {
                    break;
                }
                let done = fleet.insert(slot, &collection, &object_id(k), 0).await;
                match done.outcome {
                    Outcome::Applied { version } => {
                        versions[k].store(version, Ordering::Relaxed);
                        applied += 1;
                    }
                    other => *failed.lock().unwrap() = Some(format!("insert of {} failed: {other:?}", object_id(k))),
                }
            }
            applied
        }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.map_err(|e| e.to_string())?;
    }
    if let Some(e) = failed.lock().unwrap().take() {
        return Err(e);
    }
    Ok((applied, start.elapsed().as_secs_f64()))
}

/// The object slot `slot` of `slots` updates on its `i`th request: one of the first `n` objects
/// that only this slot touches (`k % slots == slot`), chosen at random.
pub fn pick(slot: usize, slots: usize, i: u64, n: usize) -> usize {
    let own = (n.saturating_sub(slot + 1)) / slots + 1;
    let j = spread(((slot as u64) << 40) ^ i) % own as u64;
    (slot + slots * j as usize).min(n.saturating_sub(1))
}

/// vmm updates (`$set` of `n`) over the first `n` objects, `slots` in flight, each on its own
/// objects and with the version it last saw as the base.
pub async fn vmm_updates(
    label: &str,
    fleet: &Arc<Fleet>,
    versions: &Versions,
    n: usize,
    slots: usize,
    w: Window,
) -> Run {
    updates_in(label, fleet, VMM, versions, n, slots, w).await
}

/// [`vmm_updates`] in `collection`.
pub async fn updates_in(
    label: &str,
    fleet: &Arc<Fleet>,
    collection: &str,
    versions: &Versions,
    n: usize,
    slots: usize,
    w: Window,
) -> Run {
    let (fleet, versions, collection): (_, _, Arc<str>) = (fleet.clone(), versions.clone(), collection.into());
    closed_loop(label, slots, w, move |slot, i| {
        let (fleet, versions, collection) = (fleet.clone(), versions.clone(), collection.clone());
        async move {
            let k = pick(slot, slots, i, n);
            let base = versions[k].load(Ordering::Relaxed);
            let done = fleet.update(slot, &collection, &object_id(k), base, i + 1).await;
            learn(&versions[k], &done);
            done
        }
    })
    .await
}

/// The driver's `update_one` on the same objects of its own collection, the same way.
pub async fn driver_updates(label: &str, driver: &Arc<Driver>, n: usize, slots: usize, w: Window) -> Run {
    let driver = driver.clone();
    closed_loop(label, slots, w, move |slot, i| {
        let driver = driver.clone();
        async move { driver.update(PLAIN, &object_id(pick(slot, slots, i, n)), i + 1).await }
    })
    .await
}

/// Stops a scenario whose bridge has exited or answered nothing in a whole run, rather than
/// waiting out the time limit of every request of every following run.
pub fn check(world: &World, run: &Run) -> Result<()> {
    if !world.bridge.proc.running() {
        return Err(format!("the bridge exited during {:?}; {}", run.label, world.bridge.proc.log_tail()));
    }
    if run.ok.n == 0 && run.conflicts.n == 0 && run.errors > 0 {
        let first = run.first_error.clone().unwrap_or_default();
        return Err(format!("no request of {:?} succeeded ({} errors, first: {first})", run.label, run.errors));
    }
    Ok(())
}

/// Records the version an outcome reveals: the event's, or the stored one a reject names.
pub fn learn(version: &AtomicU64, done: &Done) {
    match &done.outcome {
        Outcome::Applied { version: v } => version.store(*v, Ordering::Relaxed),
        Outcome::Rejected { current: Some(c), .. } => version.store(*c, Ordering::Relaxed),
        _ => {}
    }
}

/// Waits (at most 15 s) until the bridge says every recorded event has been published, then a
/// second more, so that its background work for the requests so far is done.
pub async fn settle(bridge: &Bridge) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        match bridge.metrics().await {
            Ok(m) if m.sum("vmm_events_unpublished").unwrap_or(0.0) == 0.0 => break,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::pick;

    #[test]
    fn slots_pick_only_their_own_objects() {
        for n in [1usize, 5, 8, 9, 100, 1000] {
            for slot in 0..8.min(n) {
                for i in 0..200 {
                    let k = pick(slot, 8, i, n);
                    assert!(k < n && k % 8 == slot, "n {n} slot {slot} k {k}");
                }
            }
        }
        let seen: std::collections::BTreeSet<usize> = (0..2000).map(|i| pick(3, 8, i, 100)).collect();
        assert_eq!(seen.len(), 13); // 3, 11, …, 99: every object of slot 3
    }
}
