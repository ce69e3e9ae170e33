//! MQTT connections for the load: rumqttc clients on the private broker whose incoming messages go
//! straight to a handler, stamped with the instant they were read, the MQTT round-trip probe, and
//! a publisher of prepared messages.

use crate::stats::Summary;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Called for every incoming PUBLISH: topic, payload, when the event loop read it.
pub type Handler = Arc<dyn Fn(&str, &[u8], Instant) + Send + Sync>;

/// One MQTT connection and the task that polls its event loop.
pub struct Conn {
    pub client: AsyncClient,
    task: JoinHandle<()>,
}

/// A bench client's connection: clean session, 1 MiB packets, 1,000 in flight, and no Nagle's
/// delay (~40 ms with delayed ACKs) added to what it measures.
fn client(port: u16, id: &str) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_inflight(1000);
    let (client, mut eventloop) = AsyncClient::new(options, 4096);
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

impl Conn {
    /// Connects as `id` (clean session), subscribes (QoS 1) to `subscriptions` and returns once
    /// every SUBACK (or, without subscriptions, the CONNACK) has arrived.
    pub async fn connect(port: u16, id: &str, subscriptions: &[String], handler: Handler) -> Result<Conn, String> {
        let (client, mut eventloop) = client(port, id);
        for topic in subscriptions {
            client.subscribe(topic.as_str(), QoS::AtLeastOnce).await.map_err(|e| e.to_string())?;
        }
        let (ready_tx, ready_rx) = oneshot::channel();
        let expected = subscriptions.len();
        let name = id.to_string();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut subacks = 0;
            let mut errors = 0u32;
            // Ends when the task is aborted (the Conn is dropped) or after repeated errors.
            while errors < 20 {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => handler(&p.topic, &p.payload, Instant::now()),
                    Ok(Event::Incoming(Packet::ConnAck(_))) if expected == 0 => {
                        ready.take().map(|r| r.send(()));
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subacks += 1;
                        if subacks == expected {
                            ready.take().map(|r| r.send(()));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        eprintln!("vmm-bench: MQTT connection {name}: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(())) => Ok(Conn { client, task }),
            _ => {
                task.abort();
                Err(format!("MQTT client {id} not connected and subscribed within 10 s"))
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waiters for messages identified by a key (a request id, a load id, a probe sequence number).
pub struct Waiters<T> {
    map: Mutex<HashMap<String, oneshot::Sender<(T, Instant)>>>,
}

impl<T> Default for Waiters<T> {
    fn default() -> Self {
        Waiters { map: Mutex::new(HashMap::new()) }
    }
}

impl<T> Waiters<T> {
    pub fn register(&self, key: String) -> oneshot::Receiver<(T, Instant)> {
        let (tx, rx) = oneshot::channel();
        self.map.lock().unwrap().insert(key, tx);
        rx
    }

    /// Hands `value` to the waiter for `key`, if there is one; later copies find none.
    pub fn resolve(&self, key: &str, value: T, at: Instant) {
        if let Some(tx) = self.map.lock().unwrap().remove(key) {
            let _ = tx.send((value, at));
        }
    }

    pub fn forget(&self, key: &str) {
        self.map.lock().unwrap().remove(key);
    }
}

/// The MQTT round trip: `samples` QoS 1 messages, one at a time, to a topic this connection
/// subscribes to; publish → receipt.
pub async fn round_trip(port: u16, topic: &str, samples: usize) -> Result<Summary, String> {
    let waiters: Arc<Waiters<()>> = Arc::default();
    let w = waiters.clone();
    let handler: Handler = Arc::new(move |_, payload, at| w.resolve(&String::from_utf8_lossy(payload), (), at));
    let conn = Conn::connect(port, &format!("{}-rtt", topic.replace('/', "-")), &[topic.to_string()], handler).await?;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + samples / 10 {
        let key = i.to_string();
        let rx = waiters.register(key.clone());
        let start = Instant::now();
        conn.client.publish(topic, QoS::AtLeastOnce, false, key.into_bytes()).await.map_err(|e| e.to_string())?;
        let (_, at) = tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .map_err(|_| "an MQTT round-trip message did not come back within 5 s".to_string())?
            .map_err(|e| e.to_string())?;
        // The first tenth warms up the connection and is not counted.
        if i >= samples / 10 {
            times.push(at - start);
        }
    }
    let _ = conn.client.disconnect().await;
    Ok(Summary::of(times))
}

/// A fast publisher: hands QoS 1 messages to its client as fast as the client takes them (up to
/// 1,000 unacknowledged) and counts the broker's PUBACKs.
pub struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(port: u16, id: &str) -> Result<Publisher, String> {
        let (client, mut eventloop) = client(port, id);
        let acked = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = oneshot::channel();
        let (count, name) = (acked.clone(), id.to_string());
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        ready.take().map(|r| r.send(()));
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("vmm-bench: MQTT publisher {name}: {e}");
                        return;
                    }
                }
            }
        });
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(())) => Ok(Publisher { client, acked, task }),
            _ => {
                task.abort();
                Err(format!("MQTT publisher {id} not connected within 10 s"))
            }
        }
    }

    /// Publishes every `(topic, payload)` in order (QoS 1, not retained). Returns when the first
    /// was handed to the client, as wall-clock milliseconds since the Unix epoch (what a browser
    /// page's clock reads), and the time until the broker had acknowledged them all.
    pub async fn publish_all(
        &self,
        messages: Vec<(String, Vec<u8>)>,
        limit: Duration,
    ) -> Result<(f64, Duration), String> {
        let target = self.acked.load(Ordering::Relaxed) + messages.len() as u64;
        let first = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs_f64() * 1e3;
        let start = Instant::now();
        for (topic, payload) in messages {
            self.client.publish(topic, QoS::AtLeastOnce, false, payload).await.map_err(|e| e.to_string())?;
        }
        while self.acked.load(Ordering::Relaxed) < target {
            if start.elapsed() > limit || self.task.is_finished() {
                return Err(format!("the broker did not acknowledge every publish within {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok((first, start.elapsed()))
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
