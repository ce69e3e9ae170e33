//! Retention: forgets events and rid claims older than the configured number of days (replays from
//! before then become snapshots, §11) and rejects older than a day (§9 asks for at least 24 hours).
//!
//! These deletes filter on time, so they read the whole event log: they run an hour after start
//! and then every six hours, never on the request path.

use crate::clock::Clock;
use mongodb::bson::{doc, DateTime, Document};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long after start the first pruning runs, then how often.
const FIRST: Duration = Duration::from_secs(3600);
const EVERY: Duration = Duration::from_secs(6 * 3600);

pub(crate) async fn prune(db: mongodb::Database, retain_days: u64, clock: Arc<dyn Clock>, shutdown: CancellationToken) {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let mut wait = FIRST;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return,
        }
        wait = EVERY;
        let now = clock.now_ms() as i64;
        let events_before = DateTime::from_millis(now - retain_days as i64 * DAY_MS);
        let rejects_before = DateTime::from_millis(now - DAY_MS);
        let events = db.collection::<Document>("vmm_events").delete_many(doc! {"at": {"$lt": events_before}}).await;
        let rejects = db.collection::<Document>("vmm_rejects").delete_many(doc! {"at": {"$lt": rejects_before}}).await;
        // A rid claim lives as long as the outcome it guards can be asked for again (§9).
        let rids = db.collection::<Document>("vmm_rids").delete_many(doc! {"at": {"$lt": events_before}}).await;
        if let Err(e) = rids {
            tracing::warn!(error = %e, "pruning rid claims failed");
        }
        match (events, rejects) {
            (Ok(e), Ok(r)) if e.deleted_count + r.deleted_count > 0 => {
                tracing::info!(events = e.deleted_count, rejects = r.deleted_count, "pruned old events and rejects");
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "pruning failed"),
            _ => {}
        }
    }
}
