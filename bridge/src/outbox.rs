//! The outbox: publishes each object's recorded events in version order, each only after the
//! broker acknowledged the previous one (PROTOCOL.md §10).
//!
//! One drain runs per object at a time in this process; it publishes the object's oldest
//! unpublished event, waits for the PUBACK, marks it published, and goes on. Since it always
//! starts from the oldest unpublished event, an event is never published before its predecessor
//! was acknowledged — also when another bridge recorded the predecessor, or crashed before
//! publishing it. Two bridges may publish the same event: events are idempotent. A periodic sweep
//! finds events that nobody is draining (after a crash, or a lost PUBACK) and drains them.

use crate::metrics::Metrics;
use crate::mqtt::Mqtt;
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use vmm_protocol::topic::Topics;
use vmm_protocol::Id;

/// How often the sweep looks for events nobody is publishing.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub(crate) struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    mqtt: Arc<Mqtt>,
    topics: Topics,
    metrics: Arc<Metrics>,
    /// Objects being drained, and whether more was recorded for them meanwhile.
    draining: Mutex<HashMap<(String, String), bool>>,
}

impl Outbox {
    pub(crate) fn new(store: Arc<Store>, mqtt: Arc<Mqtt>, topics: Topics, metrics: Arc<Metrics>) -> Outbox {
        Outbox { inner: Arc::new(Inner { store, mqtt, topics, metrics, draining: Mutex::default() }) }
    }

    /// Something was recorded for this object: make sure a drain runs.
    pub(crate) fn kick(&self, collection: &str, key: &str) {
        let object = (collection.to_string(), key.to_string());
        let mut draining = self.inner.draining.lock().expect("outbox lock");
        match draining.get_mut(&object) {
            Some(more) => *more = true,
            None => {
                draining.insert(object.clone(), false);
                tokio::spawn(drain(self.inner.clone(), object));
            }
        }
    }

    /// Runs the sweep until `shutdown`.
    pub(crate) async fn sweep(self, shutdown: CancellationToken) {
        loop {
            match self.inner.store.unpublished(1000).await {
                Ok((objects, count)) => {
                    self.inner.metrics.unpublished(count);
                    for (c, k) in objects {
                        self.kick(&c, &k);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox sweep failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(SWEEP_EVERY) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Waits until no event is left unpublished, or `timeout` passes. Returns what is left.
    pub(crate) async fn flush(&self, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = match self.inner.store.unpublished(1000).await {
                Ok((objects, count)) => {
                    for (c, k) in objects {
                        self.kick(&c, &k);
                    }
                    count
                }
                Err(_) => u64::MAX,
            };
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

async fn drain(inner: Arc<Inner>, object: (String, String)) {
    loop {
        if let Err(e) = publish_in_order(&inner, &object.0, &object.1).await {
            // The sweep comes back to it.
            tracing::debug!(collection = %object.0, key = %object.1, error = %e, "outbox drain stopped");
        }
        let mut draining = inner.draining.lock().expect("outbox lock");
        match draining.get_mut(&object) {
            Some(more) if *more => *more = false,
            _ => {
                draining.remove(&object);
                return;
            }
        }
    }
}

async fn publish_in_order(inner: &Inner, collection: &str, key: &str) -> crate::Result<()> {
    let mut rolled_forward = false;
    while let Some(event) = inner.store.next_unpublished(collection, key).await? {
        if !rolled_forward {
            // A bridge may have died between recording the event and writing the object: write
            // it now, so that an event is never out before its object (snapshots read objects).
            inner.store.load(collection, &event.id).await?;
            rolled_forward = true;
        }
        let id: &Id = &event.id;
        let topic = inner.topics.event(collection, id);
        let payload = serde_json::to_vec(&event.to_value()).expect("JSON");
        inner.mqtt.publish_acked(topic, payload).await?;
        inner.store.mark_published(&event).await?;
        let latency =
            event.at.and_then(|at| crate::now_ms().checked_sub(at)).map(Duration::from_millis).unwrap_or_default();
        inner.metrics.published(latency);
        tracing::debug!(%collection, %key, version = event.version, "event published");
    }
    Ok(())
}
