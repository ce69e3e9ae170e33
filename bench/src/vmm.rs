//! vmm requesters over MQTT (docs/PROTOCOL.md §2.2, §4.1–4.3): several clients publish requests on
//! their own request topics and hear their rejects on their reply topics; one observer follows
//! every event of the prefix, and each outcome goes to the request waiting for its `rid`.

use crate::mqtt::{Conn, Handler, Waiters};
use rumqttc::QoS;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a request ended, as its requester learns it.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Its event arrived (on the event topic, or on the reply topic for a duplicate).
    Applied { version: u64 },
    /// A reject with its `rid`; `current` is the stored version when the bridge says it.
    Rejected { code: String, current: Option<u64> },
    /// Nothing within the time limit.
    Timeout,
    /// The request could not be published.
    Failed(String),
}

/// A finished request: when it was published, when its outcome was read, and the outcome.
pub struct Done {
    pub start: Instant,
    pub end: Instant,
    pub outcome: Outcome,
}

/// The fields of incoming messages the bench looks at; everything else is skipped.
#[derive(Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    rid: Option<String>,
    lid: Option<String>,
    version: Option<u64>,
    code: Option<String>,
    current: Option<u64>,
}

/// The requesters of one scenario, on one topic prefix.
pub struct Fleet {
    prefix: String,
    ids: Vec<String>,
    clients: Vec<Conn>,
    _observer: Conn,
    waiters: Arc<Waiters<Outcome>>,
    seq: AtomicU64,
    timeout: Duration,
}

impl Fleet {
    /// `n` requesters `{prefix}-c{i}` (each subscribed to its reply topic) and the observer of
    /// `{prefix}/v1/evt/+/+`, all holding their subscriptions.
    pub async fn connect(port: u16, prefix: &str, n: usize, timeout: Duration) -> Result<Fleet, String> {
        let waiters: Arc<Waiters<Outcome>> = Arc::default();
        let w = waiters.clone();
        let handler: Handler = Arc::new(move |_topic, payload, at| route(&w, payload, at));
        let observer =
            Conn::connect(port, &format!("{prefix}-observer"), &[format!("{prefix}/v1/evt/+/+")], handler.clone())
                .await?;
        let mut ids = Vec::new();
        let mut clients = Vec::new();
        for i in 0..n.max(1) {
            let id = format!("{prefix}-c{i}");
            clients.push(Conn::connect(port, &id, &[format!("{prefix}/v1/reply/{id}")], handler.clone()).await?);
            ids.push(id);
        }
        Ok(Fleet {
            prefix: prefix.to_string(),
            ids,
            clients,
            _observer: observer,
            waiters,
            seq: AtomicU64::new(0),
            timeout,
        })
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// The topic prefix the requests go under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Publishes a request (`body` holds `op`, `id`, `base` and `doc` or `update`) from client
    /// `client % len` and waits for its outcome.
    pub async fn request(&self, client: usize, collection: &str, mut body: Value) -> Done {
        let client = client % self.clients.len();
        let rid = format!("r{}", self.seq.fetch_add(1, Ordering::Relaxed));
        body["type"] = json!("request");
        body["rid"] = json!(rid);
        body["collection"] = json!(collection);
        let payload = serde_json::to_vec(&body).expect("a JSON value serialises");
        let topic = format!("{}/v1/req/{}/{collection}", self.prefix, self.ids[client]);
        let rx = self.waiters.register(rid.clone());
        let start = Instant::now();
        if let Err(e) = self.clients[client].client.publish(topic, QoS::AtLeastOnce, false, payload).await {
            self.waiters.forget(&rid);
            return Done { start, end: Instant::now(), outcome: Outcome::Failed(e.to_string()) };
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok((outcome, end))) => Done { start, end, outcome },
            _ => {
                self.waiters.forget(&rid);
                Done { start, end: Instant::now(), outcome: Outcome::Timeout }
            }
        }
    }

    /// `$set` of `n` on object `id`, based on version `base`.
    pub async fn update(&self, client: usize, collection: &str, id: &str, base: u64, n: u64) -> Done {
        let body = json!({"op": "update", "id": id, "base": base, "update": {"$set": {"n": n}}});
        self.request(client, collection, body).await
    }

    /// Delete of object `id`, based on version `base`.
    pub async fn delete(&self, client: usize, collection: &str, id: &str, base: u64) -> Done {
        let body = json!({"op": "delete", "id": id, "base": base});
        self.request(client, collection, body).await
    }

    /// Insert of a new object `id` (base 0) with the bench's document.
    pub async fn insert(&self, client: usize, collection: &str, id: &str, n: u64) -> Done {
        let body = json!({"op": "insert", "id": id, "base": 0, "doc": document(id, n)});
        self.request(client, collection, body).await
    }

    /// Waits until a bridge serves this prefix: a load of one object is answered with a snapshot
    /// (asked again every second, for at most `limit`).
    pub async fn wait_served(&self, collection: &str, limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        let mut attempt = 0;
        while start.elapsed() < limit {
            attempt += 1;
            let lid = format!("ready{attempt}");
            let rx = self.waiters.register(lid.clone());
            let body = json!({"type": "load", "lid": lid, "collection": collection, "ids": ["readiness-probe"]});
            let topic = format!("{}/v1/load/{}/{collection}", self.prefix, self.ids[0]);
            let payload = serde_json::to_vec(&body).expect("JSON");
            self.clients[0].client.publish(topic, QoS::AtLeastOnce, false, payload).await.map_err(|e| e.to_string())?;
            if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(1), rx).await {
                return Ok(());
            }
            self.waiters.forget(&lid);
        }
        Err(format!("no bridge answered a load on prefix {} within {limit:?}", self.prefix))
    }
}

/// The document every insert (vmm's and the driver's) writes, without `_id`.
pub fn document(id: &str, n: u64) -> Value {
    json!({"title": format!("bench object {id}"), "done": false, "n": n, "tags": ["bench", "vmm"]})
}

fn route(waiters: &Waiters<Outcome>, payload: &[u8], at: Instant) {
    let Ok(msg) = serde_json::from_slice::<Incoming>(payload) else { return };
    match (msg.kind.as_str(), msg.rid, msg.lid) {
        ("event", Some(rid), _) => waiters.resolve(&rid, Outcome::Applied { version: msg.version.unwrap_or(0) }, at),
        ("reject", Some(rid), _) => {
            let code = msg.code.unwrap_or_default();
            waiters.resolve(&rid, Outcome::Rejected { code, current: msg.current }, at)
        }
        ("snapshot", _, Some(lid)) => waiters.resolve(&lid, Outcome::Applied { version: 0 }, at),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_events_rejects_and_snapshots_by_id() {
        let w = Waiters::default();
        let mut event = w.register("r1".into());
        let mut reject = w.register("r2".into());
        let mut snap = w.register("l1".into());
        let at = Instant::now();
        route(&w, br#"{"type":"event","collection":"b","id":"x","prev":1,"version":2,"client":"c","rid":"r1","op":"update","update":{"$set":{"n":1}}}"#, at);
        route(&w, br#"{"type":"reject","rid":"r2","code":"conflict","message":"m","current":5}"#, at);
        route(&w, br#"{"type":"snapshot","lid":"l1","collection":"b","objects":[],"next":null}"#, at);
        route(&w, b"not json", at);
        assert_eq!(event.try_recv().unwrap().0, Outcome::Applied { version: 2 });
        assert_eq!(reject.try_recv().unwrap().0, Outcome::Rejected { code: "conflict".into(), current: Some(5) });
        assert!(snap.try_recv().is_ok());
    }
}
