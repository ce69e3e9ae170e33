//! The journal: how events that a bridge recorded but never got acknowledged are found after it
//! stopped, without an outbox in the database and without scanning the event log while all is
//! well.
//!
//! Every bridge process writes a heartbeat into `vmm_bridges` every [`BEAT`]: its instance id,
//! its bridge id, and `low`, the time of its oldest event not yet acknowledged by the broker
//! (or now). Every event names the instance that recorded it (`by`) and its time (`at`). A
//! process whose heartbeat is older than [`STALE`], or an older process with the same bridge id
//! (the one this process replaces), is recovered by whichever bridge sees it first: the events it
//! recorded since its `low` (the only read of the event log that is not by `_id`, and only after
//! a crash) are rolled forward and published again, then its heartbeat is removed. A clean
//! shutdown that got everything acknowledged removes its own heartbeat.

use crate::server::Shell;
use crate::Result;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document as BsonDocument};
use mongodb::Collection;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use vmm_protocol::Id;

/// How often a bridge writes its heartbeat and looks for stopped ones.
pub(crate) const BEAT: Duration = Duration::from_secs(5);
/// A heartbeat older than this belongs to a stopped bridge.
pub(crate) const STALE: Duration = Duration::from_secs(20);

pub(crate) struct Journal {
    pub(crate) bridges: Collection<BsonDocument>,
    pub(crate) shell: Arc<Shell>,
    pub(crate) instance: String,
    pub(crate) bridge_id: String,
    pub(crate) started: u64,
}

impl Journal {
    /// Writes this process's heartbeat.
    pub(crate) async fn beat(&self) -> Result<()> {
        let now = self.shell.clock.now_ms();
        let low = self.shell.outbox.oldest().unwrap_or(now).min(now);
        self.shell.bridge.storage().count("journal_beat");
        let record = doc! {"_id": &self.instance, "bridge": &self.bridge_id, "started": self.started as i64, "beat": now as i64, "low": low as i64};
        self.bridges.replace_one(doc! {"_id": &self.instance}, record).upsert(true).await?;
        Ok(())
    }

    /// Beats, and recovers stopped bridges, until `shutdown`.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.beat().await {
                tracing::warn!(error = %e, "could not write the heartbeat");
            }
            if let Err(e) = self.recover_stopped().await {
                tracing::warn!(error = %e, "could not recover a stopped bridge's events");
            }
            tokio::select! {
                () = tokio::time::sleep(BEAT) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Removes a process's heartbeat (after a shutdown that left nothing unacknowledged).
    pub(crate) async fn retire_instance(db: &mongodb::Database, instance: &str) -> Result<()> {
        db.collection::<BsonDocument>("vmm_bridges").delete_one(doc! {"_id": instance}).await?;
        Ok(())
    }

    async fn recover_stopped(&self) -> Result<()> {
        let now = self.shell.clock.now_ms();
        self.shell.bridge.storage().count("journal_list");
        let all: Vec<BsonDocument> = self.bridges.find(doc! {}).await?.try_collect().await?;
        for b in all {
            let Ok(instance) = b.get_str("_id") else { continue };
            if instance == self.instance {
                continue;
            }
            let int = |f: &str| b.get_i64(f).unwrap_or(0) as u64;
            let stale = now.saturating_sub(int("beat")) > STALE.as_millis() as u64;
            let replaced = b.get_str("bridge") == Ok(self.bridge_id.as_str()) && int("started") < self.started;
            if stale || replaced {
                self.recover(instance, int("low")).await?;
            }
        }
        Ok(())
    }

    /// Rolls forward and publishes again what `instance` recorded since `low`.
    async fn recover(&self, instance: &str, low: u64) -> Result<()> {
        let since = mongodb::bson::DateTime::from_millis(low as i64);
        let storage = self.shell.bridge.storage();
        storage.count("journal_recover");
        let filter = doc! {"by": instance, "at": {"$gte": since}};
        let found: Vec<BsonDocument> =
            storage.events.find(filter).projection(doc! {"_id": 1}).await?.try_collect().await?;
        // The lowest version per object: publishing goes on from there, in order.
        let mut objects: BTreeMap<(String, String), u64> = BTreeMap::new();
        for d in &found {
            let Some(Bson::String(key)) = d.get("_id") else { continue };
            let (Some((collection, rest)), Some((k, v))) = (key.split_once('|'), key.rsplit_once('|')) else {
                continue;
            };
            let Some(object_key) = rest.get(..rest.len().saturating_sub(v.len() + 1)) else { continue };
            debug_assert_eq!(k.len() - collection.len() - 1, object_key.len());
            let Ok(version) = v.parse::<u64>() else { continue };
            let slot = objects.entry((collection.to_string(), object_key.to_string())).or_insert(version);
            *slot = (*slot).min(version);
        }
        tracing::info!(%instance, events = found.len(), objects = objects.len(), "recovering the events of a stopped bridge");
        for ((collection, key), from) in objects {
            let Ok(id) = Id::from_key(&key) else { continue };
            let effects =
                self.shell.bridge.roll_forward(self.shell.clock.now_ms(), &collection, &id, Some(from)).await?;
            self.shell.apply(effects).await;
        }
        if self.shell.outbox.flush(Duration::from_secs(30)).await == 0 {
            self.bridges.delete_one(doc! {"_id": instance}).await?;
        }
        Ok(())
    }
}
