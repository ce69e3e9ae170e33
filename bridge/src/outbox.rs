//! The outbox: publishes each object's events in version order, each only after the broker
//! acknowledged the previous one (PROTOCOL.md §10), publishing the stored payload as stored.
//!
//! It lives in memory: an event enters it once recorded and written (the core's
//! [`Effect::Publish`](vmm_protocol::bridge::Effect)). What a crash loses from it is found again
//! from the event log by the journal (`journal.rs`): every event names the bridge process that
//! recorded it, and each process's heartbeat says from when its events may be unacknowledged.
//! So an idle bridge reads nothing, and a busy one does no database work to publish.

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::mqtt::Mqtt;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use vmm_protocol::bridge::Publication;

#[derive(Clone)]
pub(crate) struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    mqtt: Arc<Mqtt>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    objects: Mutex<HashMap<(String, String), Queue>>,
    shutdown: CancellationToken,
}

/// One object's events waiting to go out.
#[derive(Default)]
struct Queue {
    waiting: BTreeMap<u64, Publication>,
    /// The version being published, and its event's time.
    in_flight: Option<(u64, u64)>,
    /// The highest version the broker acknowledged from this process.
    acked: u64,
}

impl Outbox {
    pub(crate) fn new(
        mqtt: Arc<Mqtt>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) -> Outbox {
        Outbox { inner: Arc::new(Inner { mqtt, metrics, clock, objects: Mutex::default(), shutdown }) }
    }

    /// Queues an event. One already acknowledged from this process is not sent again.
    pub(crate) fn enqueue(&self, p: Publication) {
        let object = (p.event.collection.clone(), p.event.id.key());
        let mut objects = self.inner.objects.lock().expect("outbox lock");
        let start = !objects.contains_key(&object);
        let queue = objects.entry(object.clone()).or_default();
        if p.event.version <= queue.acked || queue.in_flight.is_some_and(|(v, _)| v == p.event.version) {
            return;
        }
        queue.waiting.insert(p.event.version, p);
        self.inner.metrics.unpublished(count(&objects));
        if start {
            tokio::spawn(drain(self.inner.clone(), object));
        }
    }

    /// Events queued or in flight.
    pub(crate) fn pending(&self) -> u64 {
        count(&self.inner.objects.lock().expect("outbox lock"))
    }

    /// The time (`at`) of the oldest event not yet acknowledged, if any.
    pub(crate) fn oldest(&self) -> Option<u64> {
        let objects = self.inner.objects.lock().expect("outbox lock");
        let waiting = objects.values().flat_map(|q| q.waiting.values().map(|p| p.event.at.unwrap_or(0)));
        let flying = objects.values().filter_map(|q| q.in_flight.map(|(_, at)| at));
        waiting.chain(flying).min()
    }

    /// Waits until nothing is left to publish, or `timeout` passes. Returns what is left.
    pub(crate) async fn flush(&self, timeout: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = self.pending();
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return left;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn count(objects: &HashMap<(String, String), Queue>) -> u64 {
    objects.values().map(|q| q.waiting.len() as u64 + u64::from(q.in_flight.is_some())).sum()
}

/// Publishes one object's events, lowest version first, until none is left.
async fn drain(inner: Arc<Inner>, object: (String, String)) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let next = {
            let mut objects = inner.objects.lock().expect("outbox lock");
            let Some(queue) = objects.get_mut(&object) else { return };
            match queue.waiting.pop_first() {
                Some((version, p)) if version <= queue.acked => {
                    drop(p);
                    continue;
                }
                Some((version, p)) => {
                    queue.in_flight = Some((version, p.event.at.unwrap_or(0)));
                    p
                }
                None => {
                    objects.remove(&object);
                    inner.metrics.unpublished(count(&objects));
                    return;
                }
            }
        };
        // Retried until acknowledged: every recorded event is eventually published (§10).
        loop {
            match inner.mqtt.publish_acked(next.topic.clone(), next.payload.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::debug!(collection = %object.0, key = %object.1, error = %e, "publish failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = inner.shutdown.cancelled() => {
                            // Left for the journal: the next bridge publishes it.
                            inner.objects.lock().expect("outbox lock").remove(&object);
                            return;
                        }
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        backoff = Duration::from_millis(100);
        let latency = next.event.at.and_then(|at| inner.clock.now_ms().checked_sub(at)).unwrap_or_default();
        inner.metrics.published(Duration::from_millis(latency));
        let mut objects = inner.objects.lock().expect("outbox lock");
        if let Some(queue) = objects.get_mut(&object) {
            queue.in_flight = None;
            queue.acked = queue.acked.max(next.event.version);
        }
        inner.metrics.unpublished(count(&objects));
    }
}
