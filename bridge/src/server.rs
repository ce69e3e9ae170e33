//! Starting and stopping the bridge: connections, tasks, the request loop, and the order of a
//! graceful shutdown. Every message is handled by the core (`vmm_protocol::bridge`); this file
//! carries out what it returns.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{self, HttpState};
use crate::intake::Intake;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::mongo::MongoStorage;
use crate::mqtt::{self, Mqtt};
use crate::outbox::Outbox;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use vmm_protocol::bridge::{Bridge, BridgeConfig, Effect, Handled, Served};
use vmm_protocol::topic::{Route, Topics};

/// Runs a bridge until `shutdown` is cancelled, serving HTTP on `config.http_addr` if set.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<()> {
    let http = match config.http_addr {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    serve(config, http, shutdown).await
}

/// Runs a bridge until `shutdown` is cancelled, serving HTTP on `http` if given (tests bind
/// `127.0.0.1:0` and pass the listener in), on the system clock.
///
/// On shutdown it stops taking requests (those received but not started are dropped: their
/// requesters publish them again), finishes the requests in flight, publishes every event
/// recorded (for at most 10 s; what is left, the next bridge publishes), and disconnects.
pub async fn serve(config: Config, http: Option<TcpListener>, shutdown: CancellationToken) -> Result<()> {
    serve_with_clock(config, http, shutdown, Arc::new(SystemClock)).await
}

/// [`serve`] with the clock given.
pub async fn serve_with_clock(
    config: Config,
    http: Option<TcpListener>,
    shutdown: CancellationToken,
    clock: Arc<dyn Clock>,
) -> Result<()> {
    let topics = Topics::new(&config.prefix).map_err(|e| Error::Config(e.to_string()))?;
    let core = core_config(&config)?;
    let metrics = Arc::new(Metrics::default());
    // The driver's parse errors may quote the URI: its password is scrubbed (config/secret.rs).
    let client = mongodb::Client::with_uri_str(config.mongodb_uri.expose()).await.map_err(|e| {
        Error::Config(format!("--mongodb-uri {}: {}", config.mongodb_uri, config.mongodb_uri.scrub(&e.to_string())))
    })?;
    let db = client.database(&config.database);
    let mut filters = topics.bridge_filters(config.share_group()).to_vec();
    filters.push(topics.bridges_presence());
    let started = clock.now_ms();
    // No '.' in the instance: RabbitMQ maps MQTT topics to AMQP routing keys, where '.' separates
    // words, so `bridges/+` would miss a presence whose instance holds one (docs/SCALING.md).
    let instance = format!("{}~{}~{}", config.bridge_id.replace('.', "_"), started, std::process::id());
    let intake = Arc::new(Intake::new(config.bounds.admission(), topics.clone(), metrics.clone(), clock.clone()));
    let mqtt_stop = CancellationToken::new();
    let settings = mqtt::Settings {
        url: config.mqtt_url.clone(),
        client_id: config.bridge_id.clone(),
        // A clean session: a persistent one would keep taking its share of the requests while
        // this bridge is down. Requests it had not acknowledged are republished by requesters.
        clean_session: true,
        max_packet: config.max_payload + 4096,
        filters,
        // Dying without a DISCONNECT makes the broker clear this bridge's presence, which tells
        // the clients it is gone and the other bridges to take over its events (journal.rs).
        will: Some((topics.bridge_presence(&instance), Vec::new(), true)),
        login: config.login.clone(),
    };
    let (mqtt, mqtt_task) = Mqtt::start(settings, intake.clone(), mqtt_stop.clone())?;
    let storage_open = Arc::new(AtomicBool::new(false));
    if let Some(listener) = http {
        serve_http(listener, config.bounds.http(), &metrics, &mqtt, &storage_open, &db, &shutdown)?;
    }
    // Health answers (503) while the database is still out of reach; requests wait in the
    // intake until the storage is open (past its caps, unacknowledged: backpressure).
    let storage = match open_storage(db.clone(), &instance, &metrics, &shutdown).await {
        Ok(storage) => storage,
        Err(e) if shutdown.is_cancelled() => {
            tracing::info!(error = %e, "stopped before the database was reachable");
            mqtt.disconnect().await;
            mqtt_stop.cancel();
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let outbox_stop = CancellationToken::new();
    let shell = Arc::new(Shell::new(core, storage, mqtt.clone(), metrics, clock.clone(), &outbox_stop, &shutdown));
    let journal = Journal {
        bridges: db.collection("vmm_bridges"),
        shell: shell.clone(),
        instance: instance.clone(),
        bridge_id: config.bridge_id.clone(),
        started,
    };
    journal.beat().await?;
    storage_open.store(true, Ordering::SeqCst);
    // Serving now: clients waiting for a bridge send what they hold at once (§2.2).
    let presence = serde_json::json!({"type": "bridge", "instance": instance, "since": started});
    mqtt.announce(topics.bridge_presence(&instance), presence.to_string().into_bytes());
    let journal = Arc::new(journal);
    let journal_stop = CancellationToken::new();
    let journal_task = tokio::spawn(journal.clone().run(journal_stop.clone()));
    tokio::spawn(crate::retention::prune(db.clone(), config.retain_events_days, clock.clone(), shutdown.clone()));
    tokio::spawn(expire_cache(shell.clone(), shutdown.clone()));
    tracing::info!(bridge_id = %config.bridge_id, %instance, prefix = %config.prefix, database = %config.database, "bridge started");

    request_loop(&intake, &shell, &journal, config.workers, &shutdown).await;

    tracing::info!("shutting down: published what was recorded");
    let left = shell.outbox.flush(Duration::from_secs(10)).await;
    outbox_stop.cancel();
    journal_stop.cancel();
    let _ = journal_task.await;
    if left > 0 {
        tracing::warn!(left, "events still unacknowledged at shutdown; the next bridge publishes them");
    } else if let Err(e) = Journal::retire_instance(&db, &instance).await {
        tracing::warn!(error = %e, "could not remove this bridge's heartbeat");
    }
    mqtt.disconnect().await;
    mqtt_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), mqtt_task).await;
    // Close the driver's pools before the runtime goes, which it does not survive gracefully.
    let _ = tokio::time::timeout(Duration::from_secs(5), client.shutdown()).await;
    tracing::info!("bridge stopped");
    Ok(())
}

/// Serves `/healthz` and `/metrics` on `listener` until `shutdown`.
fn serve_http(
    listener: TcpListener,
    limits: http::HttpLimits,
    metrics: &Arc<Metrics>,
    mqtt: &Mqtt,
    storage_open: &Arc<AtomicBool>,
    db: &mongodb::Database,
    shutdown: &CancellationToken,
) -> Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "HTTP endpoint: /healthz, /metrics");
    let state = HttpState {
        metrics: metrics.clone(),
        mqtt_connected: mqtt.connected(),
        mqtt_subscribed: mqtt.subscribed(),
        storage_open: storage_open.clone(),
        db: db.clone(),
    };
    tokio::spawn(http::serve_with_limits(listener, state, limits, shutdown.clone()));
    Ok(())
}

/// Hands the incoming messages to tasks (at most `workers` at once), in the order the intake's
/// admission chooses (clients take turns), until `shutdown`; then waits for the tasks in
/// flight. A worker is free before a message is chosen, so the choice is made as late as it can.
async fn request_loop(
    intake: &Arc<Intake>,
    shell: &Arc<Shell>,
    journal: &Arc<Journal>,
    workers: usize,
    shutdown: &CancellationToken,
) {
    let topics = &shell.bridge.config().topics;
    let slots = Arc::new(Semaphore::new(workers));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = shutdown.cancelled() => break,
        };
        let taken = tokio::select! {
            taken = intake.next() => taken,
            () = shutdown.cancelled() => break,
        };
        let publish = &taken.item;
        if taken.held {
            // Past the intake's caps: acknowledged only now, which let the broker wait.
            shell.mqtt.ack(publish).await;
        }
        if Intake::is_presence(&taken) {
            if let Some(gone) = topics.presence_instance(&publish.topic) {
                // Another bridge's announcement (§2.2) is no news for a bridge; an empty payload
                // (or an older bridge's will: its instance as text) means that bridge is gone.
                if gone != journal.instance && !vmm_protocol::topic::is_bridge_announcement(&publish.payload) {
                    let journal = journal.clone();
                    tokio::spawn(async move { journal.recover_instance(&gone).await });
                }
            }
            intake.done(&taken.client, taken.read, 0);
            continue;
        }
        let (shell, intake) = (shell.clone(), intake.clone());
        tokio::spawn(async move {
            let reply_bytes = shell.handle(&taken.item.topic, &taken.item.payload).await;
            intake.done(&taken.client, taken.read, reply_bytes);
            drop(slot);
        });
    }
    tracing::info!("shutting down: finishing requests in flight");
    let _ = slots.acquire_many(workers as u32).await;
}

/// The core's configuration: the topics, limits, served collections and permissions.
fn core_config(config: &Config) -> Result<BridgeConfig> {
    let topics = Topics::new(&config.prefix).map_err(|e| Error::Config(e.to_string()))?;
    let served = if config.collections.is_empty() { Served::All } else { Served::Only(config.collections.clone()) };
    let rules = crate::permissions::load(config.permissions.as_deref()).map_err(|e| Error::Config(e.to_string()))?;
    Ok(BridgeConfig { topics, limits: config.limits(), served, rules, ..BridgeConfig::default() })
}

/// What carries out the core's effects: the core over MongoDB, the outbox, the MQTT connection.
pub(crate) struct Shell {
    pub(crate) bridge: Arc<Bridge<MongoStorage>>,
    pub(crate) outbox: Outbox,
    pub(crate) mqtt: Arc<Mqtt>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) clock: Arc<dyn Clock>,
    /// A test hook: die at this point (see [`Shell::failpoint`]).
    failpoint: Option<String>,
    /// One lock per object with a request in progress in this process: requests on one object
    /// are decided one after the other here, and their events enter the outbox in order.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    shutdown: CancellationToken,
}

impl Shell {
    fn new(
        core: BridgeConfig,
        storage: MongoStorage,
        mqtt: Arc<Mqtt>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
        outbox_stop: &CancellationToken,
        shutdown: &CancellationToken,
    ) -> Shell {
        Shell {
            bridge: Arc::new(Bridge::new(storage, core)),
            outbox: Outbox::new(mqtt.clone(), metrics.clone(), clock.clone(), outbox_stop.clone()),
            mqtt,
            metrics,
            clock,
            failpoint: std::env::var("VMM_FAILPOINT").ok().filter(|f| !f.is_empty()),
            locks: Mutex::default(),
            shutdown: shutdown.clone(),
        }
    }

    /// Handles one incoming message. Returns once its outcome is recorded, with the bytes of the
    /// replies it sent (which admission charges to the client's budget).
    async fn handle(self: &Arc<Self>, topic: &str, payload: &[u8]) -> usize {
        let collection = match self.bridge.config().topics.parse(topic) {
            Ok(Route::Request { collection, .. }) => Some(collection),
            _ => None,
        };
        let request = collection.is_some();
        let _in_flight = request.then(|| self.metrics.in_flight());
        let lock = collection.and_then(|c| self.lock(&c, payload));
        let _guard = match &lock {
            Some((_, l)) => Some(l.lock().await),
            None => None,
        };
        let handled = self.bridge.handle(self.clock.now_ms(), topic, payload).await;
        self.account(topic, request, &handled);
        if request && handled.outcome == "applied" {
            self.failpoint("before-publish");
        }
        let reply_bytes = handled
            .effects
            .iter()
            .map(|e| match e {
                Effect::Reply { payload, .. } => payload.len(),
                _ => 0,
            })
            .sum();
        self.apply(handled.effects).await;
        drop(_guard);
        if let Some((key, lock)) = lock {
            let mut locks = self.locks.lock().expect("locks");
            // Two references: the map's and ours. Nobody else waits: forget it.
            if Arc::strong_count(&lock) == 2 {
                locks.remove(&key);
            }
        }
        reply_bytes
    }

    /// The lock of the object a request on `collection` names. Per object, whoever asks:
    /// requests of several clients on one object queue here instead of racing for its next
    /// version. Only the `id` is read from the payload (the core parses it whole).
    fn lock(&self, collection: &str, payload: &[u8]) -> Option<(String, Arc<tokio::sync::Mutex<()>>)> {
        #[derive(serde::Deserialize)]
        struct Named {
            id: serde_json::Value,
        }
        let named: Named = serde_json::from_slice(payload).ok()?;
        let id = vmm_protocol::Id::from_value(&named.id).ok()?;
        let key = format!("{collection}|{}", id.key());
        let mut locks = self.locks.lock().expect("locks");
        Some((key.clone(), locks.entry(key).or_default().clone()))
    }

    fn account(&self, topic: &str, request: bool, handled: &Handled) {
        if let Some(e) = &handled.error {
            tracing::warn!(%topic, outcome = handled.outcome, error = %e, "storage error");
        }
        match handled.outcome {
            _ if request => self.metrics.request(handled.outcome),
            "replay" => self.metrics.replay(false),
            "snapshot" => self.metrics.replay(true),
            "load" => self.metrics.load_page(),
            "ignored" => tracing::warn!(%topic, "ignoring a message the bridge cannot read"),
            _ => {}
        }
        tracing::debug!(%topic, outcome = handled.outcome, "handled");
    }

    /// Carries out the core's effects in order.
    pub(crate) async fn apply(self: &Arc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Reply { topic, payload } => {
                    if let Err(e) = self.mqtt.publish(topic, payload).await {
                        tracing::warn!(error = %e, "could not send a reply");
                    }
                }
                Effect::Publish(p) => self.outbox.enqueue(*p),
                Effect::RollForward { collection, id } => {
                    tokio::spawn(self.clone().roll_forward(collection, id));
                }
            }
        }
    }

    /// Retries writing an object whose event is recorded, until it is written and published.
    async fn roll_forward(self: Arc<Self>, collection: String, id: vmm_protocol::Id) {
        let mut backoff = Duration::from_millis(200);
        loop {
            match self.bridge.roll_forward(self.clock.now_ms(), &collection, &id, None).await {
                Ok(effects) => return self.apply_boxed(effects).await,
                Err(e) => tracing::warn!(%collection, %id, error = %e, "rolling forward failed; retrying"),
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = self.shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    fn apply_boxed(
        self: &Arc<Self>,
        effects: Vec<Effect>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.apply(effects))
    }

    /// Test hook: with `VMM_FAILPOINT=<name>`, the bridge kills itself with SIGKILL at that point,
    /// to check that a crash there loses nothing. Points: `after-event` (the event is recorded,
    /// the object not yet written: in the storage), `before-publish` (both written, nothing
    /// published).
    fn failpoint(&self, name: &str) {
        if self.failpoint.as_deref() == Some(name) {
            crate::die(name);
        }
    }
}

async fn open_storage(
    db: mongodb::Database,
    instance: &str,
    metrics: &Arc<Metrics>,
    shutdown: &CancellationToken,
) -> Result<MongoStorage> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match MongoStorage::open(db.clone(), instance.to_string(), metrics.clone()).await {
            Ok(storage) => return Ok(storage),
            Err(e) => tracing::warn!(error = %e, "MongoDB not available yet; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return Err(Error::Config("stopped before MongoDB was reachable".into())),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Drops expired cache entries every few seconds, so that an idle bridge gives memory back.
async fn expire_cache(shell: Arc<Shell>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            () = shutdown.cancelled() => return,
        }
        shell.bridge.expire(shell.clock.now_ms());
    }
}
