//! The journal: how events that a bridge recorded but never got acknowledged are found after it
//! stopped, without an outbox in the database and without scanning the event log while all is
//! well.
//!
//! Every bridge process keeps a heartbeat in `vmm_bridges` (written by `_id`): its instance id,
//! its bridge id, and `low`, the time of its oldest event not yet acknowledged by the broker (or
//! now). It is written when `low` changes, and at least every [`BEAT`]. Every event names the
//! instance that recorded it (`by`) and its time (`at`).
//!
//! A process that dies without disconnecting from the broker leaves its MQTT will on
//! `{p}/v1/bridges/{instance}`: every other bridge gets it at once and recovers that instance.
//! In case the will is lost (the broker was down too, or no other bridge ran), each bridge also
//! lists the heartbeats when it starts and every [`LIST`]: a heartbeat older than [`STALE`], or
//! an older process with the same bridge id (the one this process replaces), is recovered too.
//! Recovering means: the events the instance recorded since its `low` (the only read of the
//! event log that is not by `_id`, and only after a crash) are rolled forward and published
//! again, then its heartbeat is removed. A clean shutdown that got everything acknowledged
//! removes its own heartbeat. So an idle bridge reads nothing, and writes its heartbeat.

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

/// How often the journal looks at `low`, and the longest time between two heartbeats.
const TICK: Duration = Duration::from_secs(1);
pub(crate) const BEAT: Duration = Duration::from_secs(30);
/// How often the heartbeats are listed (besides at start).
pub(crate) const LIST: Duration = Duration::from_secs(600);
/// A heartbeat older than this belongs to a stopped bridge.
pub(crate) const STALE: Duration = Duration::from_secs(90);

pub(crate) struct Journal {
    pub(crate) bridges: Collection<BsonDocument>,
    pub(crate) shell: Arc<Shell>,
    pub(crate) instance: String,
    pub(crate) bridge_id: String,
    pub(crate) started: u64,
}

impl Journal {
    /// Writes this process's heartbeat; returns the `low` written.
    pub(crate) async fn beat(&self) -> Result<u64> {
        let now = self.shell.clock.now_ms();
        let low = self.shell.outbox.oldest().unwrap_or(now).min(now);
        self.shell.bridge.storage().count("journal_beat");
        let record = doc! {"_id": &self.instance, "bridge": &self.bridge_id, "started": self.started as i64, "beat": now as i64, "low": low as i64};
        self.bridges.replace_one(doc! {"_id": &self.instance}, record).upsert(true).await?;
        Ok(low)
    }

    /// Beats, and recovers stopped bridges, until `shutdown`.
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        // What the last heartbeat said: whether events were waiting, and when it was written.
        let mut written: Option<(bool, tokio::time::Instant)> = None;
        // When the heartbeats are listed next.
        let mut listed: Option<tokio::time::Instant> = None;
        loop {
            let waiting = self.shell.outbox.oldest().is_some();
            let due = match written {
                None => true,
                // While events wait, `low` moves: write it every tick; idle, every BEAT.
                Some((was_waiting, at)) => waiting || was_waiting || at.elapsed() >= BEAT,
            };
            if due {
                match self.beat().await {
                    Ok(_) => written = Some((waiting, tokio::time::Instant::now())),
                    Err(e) => tracing::warn!(error = %e, "could not write the heartbeat"),
                }
            }
            if listed.is_none_or(|at| tokio::time::Instant::now() >= at) {
                match self.recover_stopped().await {
                    // While other bridges run, look again before one of them could go stale
                    // unnoticed (its will lost); alone, rarely.
                    Ok(others) => {
                        let next = if others { STALE / 2 } else { LIST };
                        listed = Some(tokio::time::Instant::now() + next);
                    }
                    Err(e) => tracing::warn!(error = %e, "could not recover a stopped bridge's events"),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Recovers `instance`, whose will the broker published, if its heartbeat is still there.
    pub(crate) async fn recover_instance(&self, instance: &str) {
        self.shell.bridge.storage().count("journal_find");
        let found = self.bridges.find_one(doc! {"_id": instance}).await;
        let result = match found {
            Ok(Some(b)) => self.recover(instance, b.get_i64("low").unwrap_or(0) as u64).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            tracing::warn!(%instance, error = %e, "could not recover a stopped bridge's events");
        }
    }

    /// Removes a process's heartbeat (after a shutdown that left nothing unacknowledged).
    pub(crate) async fn retire_instance(db: &mongodb::Database, instance: &str) -> Result<()> {
        db.collection::<BsonDocument>("vmm_bridges").delete_one(doc! {"_id": instance}).await?;
        Ok(())
    }

    /// Recovers the stopped bridges among the heartbeats; says whether others are running.
    async fn recover_stopped(&self) -> Result<bool> {
        let now = self.shell.clock.now_ms();
        self.shell.bridge.storage().count("journal_list");
        let all: Vec<BsonDocument> = self.bridges.find(doc! {}).await?.try_collect().await?;
        let mut others = false;
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
            } else {
                others = true;
            }
        }
        Ok(others)
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
            let Some((collection, object_key, version)) = crate::mongo::parse_event_key(key) else { continue };
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
