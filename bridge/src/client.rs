//! A native Rust client: the [`Replica`] of `vmm-protocol` over a rumqttc connection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vmm_bridge::client::{Client, ClientOptions};
//! let client = Client::connect(ClientOptions::new("mqtt://127.0.0.1:1883", "alice")).await?;
//! client.watch("tasks").await?;
//! let event = client
//!     .request("tasks", serde_json::json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}}))
//!     .await?;
//! assert_eq!(event.version, 1);
//! # Ok(()) }
//! ```
//!
//! Two tasks: one polls the rumqttc event loop and forwards what arrives (it never publishes,
//! which would deadlock rumqttc); the other owns the replica's clock, handles incoming messages
//! and commands, and publishes what the replica asks for.

use crate::mqtt::parse_url;
use rumqttc::{AsyncClient, Event as MqttEvent, EventLoop, Incoming, MqttOptions, QoS};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use vmm_protocol::message::Event;
use vmm_protocol::replica::{Config as ReplicaConfig, Notice, Replica, Status};
use vmm_protocol::topic::Topics;
use vmm_protocol::{Code, Document, Id, Value, Violation};

/// How to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `mqtt://host:port`.
    pub mqtt_url: String,
    /// The MQTT client id, which is also the client's identity in topics.
    pub client_id: String,
    /// The topic prefix.
    pub prefix: String,
    /// How long a request may stay in flight while online before it is rolled back (`timeout`).
    pub request_timeout: Option<Duration>,
    /// How long to wait for a snapshot page before asking again.
    pub load_retry: Duration,
    /// How long to wait for a request's outcome before publishing it again (doubling).
    pub resend_after: Duration,
}

impl ClientOptions {
    /// Options with the protocol's defaults.
    pub fn new(mqtt_url: &str, client_id: &str) -> ClientOptions {
        ClientOptions {
            mqtt_url: mqtt_url.to_string(),
            client_id: client_id.to_string(),
            prefix: Topics::DEFAULT_PREFIX.to_string(),
            request_timeout: Some(Duration::from_secs(60)),
            load_retry: Duration::from_secs(10),
            resend_after: Duration::from_secs(10),
        }
    }
}

/// Why a request did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RequestError {
    /// The reject code, or `aborted` / `timeout`, or the local refusal's code.
    pub code: Code,
    /// A human-readable explanation.
    pub message: String,
    /// The object's stored version, when the bridge said.
    pub current: Option<u64>,
}

impl From<Violation> for RequestError {
    fn from(v: Violation) -> Self {
        RequestError { code: v.code(), message: v.message().to_string(), current: None }
    }
}

/// A connection error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The options are unusable.
    #[error("bad options: {0}")]
    Options(String),
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
}

enum Command {
    Watch(String, oneshot::Sender<()>),
    Request(String, Value, oneshot::Sender<Result<Event, RequestError>>),
    Disconnect(oneshot::Sender<()>),
}

/// A connected client with its replica.
#[derive(Clone)]
pub struct Client {
    replica: Arc<Mutex<Replica>>,
    commands: mpsc::UnboundedSender<Command>,
    changes: watch::Receiver<u64>,
}

impl Client {
    /// Connects in the background (reconnecting with back-off) and returns at once.
    pub async fn connect(options: ClientOptions) -> Result<Client, ClientError> {
        let (host, port) = parse_url(&options.mqtt_url).map_err(|e| ClientError::Options(e.to_string()))?;
        let id_prefix = format!(
            "{:x}{:x}",
            std::process::id(),
            crate::clock::Clock::now_ms(&crate::clock::SystemClock) % 0xffff_ffff
        );
        let mut config =
            ReplicaConfig::new(&options.client_id, &id_prefix).map_err(|e| ClientError::Options(e.to_string()))?;
        config.topics = Topics::new(&options.prefix).map_err(|e| ClientError::Options(e.to_string()))?;
        config.request_timeout = options.request_timeout.map(|d| d.as_millis() as u64);
        config.load_retry = options.load_retry.as_millis() as u64;
        config.resend_after = options.resend_after.as_millis() as u64;
        let replica = Arc::new(Mutex::new(Replica::new(config)));
        let mut mqtt_options = MqttOptions::new(&options.client_id, host, port);
        mqtt_options
            .set_keep_alive(Duration::from_secs(10))
            .set_clean_session(true)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (mqtt, eventloop) = AsyncClient::new(mqtt_options, 256);
        let mut eventloop = eventloop;
        // Small QoS 1 packets both ways: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms.
        let mut network = eventloop.network_options();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (changed_tx, changes) = watch::channel(0);
        tokio::spawn(poll(eventloop, incoming_tx));
        tokio::spawn(drive(replica.clone(), mqtt, incoming_rx, commands_rx, changed_tx));
        Ok(Client { replica, commands, changes })
    }

    /// Follows a collection: subscribes to its events, then loads it. Returns once subscribed;
    /// see [`Client::wait_for`] to wait for the load.
    pub async fn watch(&self, collection: &str) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Watch(collection.to_string(), tx)).map_err(|_| ClientError::Closed)?;
        rx.await.map_err(|_| ClientError::Closed)
    }

    /// Makes a change (see [`Replica::request`] for `op`): visible at once in [`Client::get`],
    /// resolved with the confirming event or the reason for its rollback.
    pub async fn request(&self, collection: &str, op: Value) -> Result<Event, RequestError> {
        let (tx, rx) = oneshot::channel();
        let closed = || RequestError { code: Code::Internal, message: "the client is closed".into(), current: None };
        self.commands.send(Command::Request(collection.to_string(), op, tx)).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// The optimistic view of an object.
    pub fn get(&self, collection: &str, id: &Id) -> Option<Document> {
        self.replica.lock().expect("replica lock").get(collection, id)
    }

    /// The optimistic view of a collection.
    pub fn list(&self, collection: &str) -> Vec<(Id, Document)> {
        self.replica.lock().expect("replica lock").list(collection)
    }

    /// The confirmed version of an object (0 if unknown).
    pub fn version(&self, collection: &str, id: &Id) -> u64 {
        self.replica.lock().expect("replica lock").confirmed(collection, id).map_or(0, |(v, _)| v)
    }

    /// The connection status.
    pub fn status(&self) -> Status {
        self.replica.lock().expect("replica lock").status()
    }

    /// How many changes are pending.
    pub fn pending_count(&self) -> usize {
        self.replica.lock().expect("replica lock").pending_count()
    }

    /// Runs `f` on the replica.
    pub fn with_replica<T>(&self, f: impl FnOnce(&Replica) -> T) -> T {
        f(&self.replica.lock().expect("replica lock"))
    }

    /// Waits until `check` holds for the replica, re-checking on every change, for at most
    /// `timeout`. Returns whether it held.
    pub async fn wait_for(&self, timeout: Duration, mut check: impl FnMut(&Replica) -> bool) -> bool {
        let mut changes = self.changes.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.with_replica(&mut check) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.with_replica(&mut check),
            }
        }
    }

    /// Disconnects; pending changes stay pending.
    pub async fn disconnect(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Disconnect(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn poll(mut eventloop: EventLoop, incoming: mpsc::UnboundedSender<Result<MqttEvent, String>>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let polled = eventloop.poll().await;
        let failed = polled.is_err();
        if incoming.send(polled.map_err(|e| e.to_string())).is_err() {
            return;
        }
        if failed {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        } else {
            backoff = Duration::from_millis(100);
        }
    }
}

struct Driver {
    replica: Arc<Mutex<Replica>>,
    mqtt: AsyncClient,
    start: Instant,
    waiting: HashMap<String, oneshot::Sender<Result<Event, RequestError>>>,
    /// SUBACKs still expected before the replica may be told it is connected.
    subacks: usize,
    connected: bool,
    /// Watches waiting for their SUBACK.
    watches: Vec<(String, oneshot::Sender<()>)>,
    changed: watch::Sender<u64>,
}

impl Driver {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Publishes what the replica wants to send and settles the requests it resolved.
    async fn flush(&mut self) {
        let (transmits, notices) = {
            let mut r = self.replica.lock().expect("replica lock");
            (
                std::iter::from_fn(|| r.poll_transmit()).collect::<Vec<_>>(),
                std::iter::from_fn(|| r.poll_notice()).collect::<Vec<_>>(),
            )
        };
        for t in transmits {
            if let Err(e) = self.mqtt.publish(t.topic, QoS::AtLeastOnce, false, t.payload).await {
                tracing::debug!(error = %e, "client publish failed");
            }
        }
        let mut any = false;
        for n in notices {
            any = true;
            match n {
                Notice::Confirmed { rid, event } => {
                    if let Some(tx) = self.waiting.remove(&rid) {
                        let _ = tx.send(Ok(event));
                    }
                }
                Notice::RolledBack { rid, code, message, current, .. } => {
                    if let Some(tx) = self.waiting.remove(&rid) {
                        let _ = tx.send(Err(RequestError { code, message, current }));
                    }
                }
                _ => {}
            }
        }
        if any {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    async fn subscribe(&mut self, filter: String) {
        self.subacks += 1;
        if self.mqtt.subscribe(filter, QoS::AtLeastOnce).await.is_err() {
            self.subacks -= 1;
        }
    }

    async fn on_mqtt(&mut self, event: Result<MqttEvent, String>) {
        let now = self.now();
        match event {
            Ok(MqttEvent::Incoming(Incoming::ConnAck(_))) => {
                self.connected = true;
                self.subacks = 0;
                let mut subs = self.replica.lock().expect("replica lock").subscriptions();
                subs.extend(self.watches.iter().map(|(c, _)| {
                    let r = self.replica.lock().expect("replica lock");
                    r.config().topics.collection_events(c)
                }));
                for s in subs {
                    self.subscribe(s).await;
                }
            }
            Ok(MqttEvent::Incoming(Incoming::SubAck(_))) => {
                self.subacks = self.subacks.saturating_sub(1);
                if self.subacks == 0 {
                    let mut r = self.replica.lock().expect("replica lock");
                    for (c, tx) in self.watches.drain(..) {
                        let _ = r.watch_collection(now, &c);
                        let _ = tx.send(());
                    }
                    if r.status() == Status::Offline {
                        r.connected(now);
                    }
                }
            }
            Ok(MqttEvent::Incoming(Incoming::Publish(p))) => {
                let result = self.replica.lock().expect("replica lock").handle(now, &p.topic, &p.payload);
                if let Err(e) = result {
                    tracing::warn!(topic = %p.topic, error = %e, "client ignored a message");
                }
            }
            Ok(_) => {}
            Err(e) => {
                if self.connected {
                    tracing::info!(error = %e, "client disconnected");
                }
                self.connected = false;
                self.subacks = 0;
                self.replica.lock().expect("replica lock").disconnected();
            }
        }
        self.flush().await;
    }

    async fn on_command(&mut self, command: Command) -> bool {
        let now = self.now();
        match command {
            Command::Watch(collection, tx) => {
                if self.connected {
                    let filter =
                        self.replica.lock().expect("replica lock").config().topics.collection_events(&collection);
                    self.watches.push((collection, tx));
                    self.subscribe(filter).await;
                } else {
                    let _ = self.replica.lock().expect("replica lock").watch_collection(now, &collection);
                    let _ = tx.send(());
                }
            }
            Command::Request(collection, op, tx) => {
                let result = self.replica.lock().expect("replica lock").request(now, &collection, op);
                match result {
                    Ok(rid) => {
                        self.waiting.insert(rid, tx);
                    }
                    Err(v) => {
                        let _ = tx.send(Err(v.into()));
                    }
                }
            }
            Command::Disconnect(tx) => {
                let _ = self.mqtt.disconnect().await;
                self.replica.lock().expect("replica lock").disconnected();
                let _ = tx.send(());
                return false;
            }
        }
        self.flush().await;
        true
    }
}

async fn drive(
    replica: Arc<Mutex<Replica>>,
    mqtt: AsyncClient,
    mut incoming: mpsc::UnboundedReceiver<Result<MqttEvent, String>>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    changed: watch::Sender<u64>,
) {
    let mut d = Driver {
        replica,
        mqtt,
        start: Instant::now(),
        waiting: HashMap::new(),
        subacks: 0,
        connected: false,
        watches: Vec::new(),
        changed,
    };
    loop {
        let deadline = d.replica.lock().expect("replica lock").poll_timeout();
        let sleep = match deadline {
            Some(t) => Duration::from_millis(t.saturating_sub(d.now())),
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            Some(event) = incoming.recv() => d.on_mqtt(event).await,
            command = commands.recv() => match command {
                Some(c) => if !d.on_command(c).await { return },
                None => return,
            },
            () = tokio::time::sleep(sleep) => {
                let now = d.now();
                d.replica.lock().expect("replica lock").handle_timeout(now);
                d.flush().await;
            }
        }
    }
}
