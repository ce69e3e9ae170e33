//! The mirror (`vmm-mirror`): a consumer that keeps collections of another MongoDB equal to the
//! bridge's, through the protocol only (docs/MIRROR.md).
//!
//! It is the native client ([`vmm_engine::native::Client`]) with a target database behind it:
//!
//! 1. at start-up, read back what the target holds (documents with their version) and give it to
//!    the replica ([`Client::restore`]); then follow the collections with a resync by versions
//!    (PROTOCOL §12.4), so that only what changed while the mirror was away is fetched;
//! 2. every object the replica reports changed is queued; a writer writes its confirmed state
//!    (the replica's, at the moment of writing: several changes of one object become one write)
//!    with the idempotent swaps of [`target`];
//! 3. a write that fails stays queued and is tried again with back-off: the replica holds the
//!    truth, so nothing is lost while the target is down, and `/healthz` shows the lag;
//! 4. [`RECHECK`] after each write, the object's version in the target is read again and the
//!    object queued again if the target holds an older version than the replica. On MongoDB the
//!    swaps are atomic and this never fires; FerretDB 1.x runs `findAndModify` as a read and a
//!    write, so two mirrors writing one object at the same moment can leave the older version:
//!    the recheck repairs it (`vmm_mirror_repairs_total`).
//!
//! The replica keeps every mirrored object in memory: memory grows with the collections.

pub mod metrics;
pub mod target;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use mongodb::bson::doc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use vmm_engine::native::{Client, ClientError, ClientOptions};
use vmm_engine::Output;
use vmm_protocol::Id;

use crate::config::mirror::MirrorConfig;
use metrics::{Gauges, MirrorMetrics};
use target::{Target, TargetError};

/// Objects written at once; the writes of one batch run concurrently.
const BATCH: usize = 64;
const CONCURRENT_WRITES: usize = 8;
/// How long a stopping mirror goes on writing what is queued.
const DRAIN: Duration = Duration::from_secs(10);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after a write its result is checked again.
const RECHECK: Duration = Duration::from_secs(2);

/// Why the mirror stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The target database could not be reached or read at start-up.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The MQTT client could not be set up.
    #[error("MQTT client: {0}")]
    Client(#[from] ClientError),
    /// The HTTP endpoint could not listen.
    #[error("cannot listen on {addr} for /healthz and /metrics: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

type Key = (String, String);

/// Objects changed and not yet written: `waiting` to be taken, `busy` being written; each with
/// the moment it first changed (the lag).
#[derive(Debug, Default)]
struct Queue {
    waiting: HashMap<Key, (Id, Instant)>,
    busy: HashMap<Key, Instant>,
}

struct Mirror {
    client: Client,
    target: Target,
    collections: BTreeSet<String>,
    metrics: MirrorMetrics,
    queue: Mutex<Queue>,
    wake: Notify,
    /// Writes to check again, in the order they are due.
    recheck: Mutex<std::collections::VecDeque<(Instant, Key, Id)>>,
    last_error: Mutex<Option<String>>,
}

/// Runs the mirror until `shutdown` is cancelled; then writes what is queued (for at most
/// [`DRAIN`]) and disconnects.
pub async fn run(config: MirrorConfig, shutdown: CancellationToken) -> Result<(), MirrorError> {
    let mut options =
        mongodb::options::ClientOptions::parse(config.target_uri.expose()).await.map_err(TargetError::from)?;
    options.app_name = Some("vmm-mirror".into());
    let db = mongodb::Client::with_options(options).map_err(TargetError::from)?.database(&config.target_database);
    db.run_command(doc! {"ping": 1}).await.map_err(TargetError::from)?;
    let target = Target::new(db);
    let listener = match config.mirror_http_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| MirrorError::Http { addr, source })?),
        None => None,
    };

    let mut client_options = ClientOptions::new(&config.mqtt_url, &config.mirror_id);
    client_options.prefix = config.prefix.clone();
    client_options.tls = config.login.tls_files();
    if let (Some(user), Some(password)) = (&config.login.mqtt_username, &config.login.mqtt_password) {
        client_options.credentials = Some((user.clone(), password.expose().to_string()));
    }
    client_options.resync = config.resync.into();
    client_options.request_timeout = None;
    let client = Client::connect(client_options)?;
    let outputs = client.outputs();

    let mirror = Arc::new(Mirror {
        client,
        target,
        collections: config.collections.iter().cloned().collect(),
        metrics: MirrorMetrics::default(),
        queue: Mutex::default(),
        wake: Notify::new(),
        recheck: Mutex::default(),
        last_error: Mutex::default(),
    });
    for collection in &config.collections {
        let (states, foreign) = mirror.target.restore(collection).await?;
        let taken = mirror.client.restore(collection, states);
        mirror.metrics.restored(taken, foreign);
        if foreign > 0 {
            tracing::warn!(%collection, foreign, "the target holds documents no mirror wrote (no _vmm_v): left alone");
        }
        tracing::info!(%collection, restored = taken, "read back from the target");
    }
    for collection in &config.collections {
        let (mirror, collection) = (mirror.clone(), collection.clone());
        tokio::spawn(async move {
            if let Err(error) = mirror.client.watch(&collection).await {
                tracing::error!(%collection, %error, "cannot follow the collection");
            }
        });
    }
    tokio::spawn(queue_changes(mirror.clone(), outputs));
    tokio::spawn(recheck_writes(mirror.clone(), shutdown.clone()));
    let http = listener.map(|listener| {
        let app =
            Router::new().route("/healthz", get(healthz)).route("/metrics", get(render)).with_state(mirror.clone());
        tokio::spawn(crate::http::serve_router(listener, app, shutdown.clone()))
    });
    tracing::info!(collections = ?config.collections, database = %config.target_database, "mirroring");
    write_until(&mirror, &shutdown).await;
    mirror.client.disconnect().await;
    if let Some(http) = http {
        let _ = http.await;
    }
    Ok(())
}

/// Queues every mirrored object the replica reports changed.
async fn queue_changes(mirror: Arc<Mirror>, mut outputs: tokio::sync::mpsc::UnboundedReceiver<Output>) {
    while let Some(output) = outputs.recv().await {
        match output {
            Output::Changed { collection, id } if mirror.collections.contains(&collection) => {
                let key = (collection, id.key());
                mirror.queue.lock().expect("queue lock").waiting.entry(key).or_insert((id, Instant::now()));
                mirror.wake.notify_one();
            }
            Output::Loaded { collection } => tracing::info!(%collection, "loaded"),
            Output::Status { status, .. } => tracing::info!(status = status.as_str(), "connection"),
            _ => {}
        }
    }
}

/// Writes queued objects until `shutdown`, then what is still queued for at most [`DRAIN`].
async fn write_until(mirror: &Arc<Mirror>, shutdown: &CancellationToken) {
    let mut backoff = Duration::from_millis(250);
    let mut deadline = None;
    loop {
        if deadline.is_none() && shutdown.is_cancelled() {
            deadline = Some(tokio::time::Instant::now() + DRAIN);
        }
        let batch: Vec<(Key, Id, Instant)> = {
            let mut queue = mirror.queue.lock().expect("queue lock");
            let keys: Vec<Key> =
                queue.waiting.keys().filter(|k| !queue.busy.contains_key(*k)).take(BATCH).cloned().collect();
            keys.into_iter()
                .filter_map(|k| {
                    let (id, since) = queue.waiting.remove(&k)?;
                    queue.busy.insert(k.clone(), since);
                    Some((k, id, since))
                })
                .collect()
        };
        if batch.is_empty() {
            match deadline {
                Some(_) => return,
                None => {
                    tokio::select! {
                        () = mirror.wake.notified() => {}
                        () = shutdown.cancelled() => {}
                    }
                    continue;
                }
            }
        }
        let results: Vec<_> = futures_util::stream::iter(batch)
            .map(|(key, id, since)| async move {
                let result = write_one(mirror, &key, &id).await;
                (key, id, since, result)
            })
            .buffer_unordered(CONCURRENT_WRITES)
            .collect()
            .await;
        let mut failed = false;
        {
            let mut queue = mirror.queue.lock().expect("queue lock");
            for (key, id, since, result) in results {
                queue.busy.remove(&key);
                if let Err(error) = result {
                    failed = true;
                    mirror.metrics.error();
                    tracing::warn!(collection = %key.0, %id, %error, "cannot write to the target; will retry");
                    *mirror.last_error.lock().expect("error lock") = Some(error.to_string());
                    let entry = queue.waiting.entry(key).or_insert((id, since));
                    entry.1 = entry.1.min(since);
                }
            }
        }
        if failed {
            let sleep = tokio::time::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(30));
            match deadline {
                Some(deadline) => {
                    if tokio::time::Instant::now() + backoff > deadline {
                        tracing::warn!("stopping with writes not done: the next start fetches them again");
                        return;
                    }
                    sleep.await;
                }
                None => {
                    tokio::select! {
                        () = sleep => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        } else {
            backoff = Duration::from_millis(250);
            *mirror.last_error.lock().expect("error lock") = None;
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() > d) {
            tracing::warn!("stopping with writes not done: the next start fetches them again");
            return;
        }
    }
}

/// Writes the replica's confirmed state of one object.
async fn write_one(mirror: &Mirror, key: &Key, id: &Id) -> Result<(), TargetError> {
    let collection = &key.0;
    let state = mirror.client.with_replica(|r| r.confirmed(collection, id).map(|(v, d)| (v, d.cloned())));
    let (version, outcome) = match state {
        Some((v, Some(doc))) if v > 0 => (v, mirror.target.write_live(collection, id, v, &doc).await?),
        Some((v, None)) if v > 0 => (v, mirror.target.write_deleted(collection, id, v).await?),
        // Deleted while the mirror was away (§12.2): the deletion's version is unknown but
        // later than the version the target has. A rare path: one point read finds it.
        _ => match mirror.target.version(collection, id).await? {
            // A document without a version is not the mirror's: left alone.
            Some(v) if v > 0 => (v + 1, mirror.target.write_deleted(collection, id, v + 1).await?),
            _ => return Ok(()),
        },
    };
    mirror.metrics.write(outcome);
    mirror.recheck.lock().expect("recheck lock").push_back((Instant::now() + RECHECK, key.clone(), id.clone()));
    tracing::debug!(%collection, id = %id.key(), version, outcome = outcome.as_str(), "mirror write");
    Ok(())
}

/// Reads again the target's version of each object written [`RECHECK`] ago, and queues the
/// object again when the target holds an older version than the replica confirmed.
async fn recheck_writes(mirror: Arc<Mirror>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while !shutdown.is_cancelled() {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let due: Vec<(Key, Id)> = {
            let mut list = mirror.recheck.lock().expect("recheck lock");
            let now = Instant::now();
            let n = list.iter().take_while(|(at, _, _)| *at <= now).count();
            list.drain(..n).map(|(_, k, id)| (k, id)).collect()
        };
        for (key, id) in due {
            let want = mirror.client.with_replica(|r| r.confirmed(&key.0, &id).map(|(v, d)| (v, d.is_some())));
            let Some((version, live)) = want.filter(|(v, _)| *v > 0) else { continue };
            let Ok(held) = mirror.target.version(&key.0, &id).await else { continue };
            let behind = match held {
                Some(held) => held < version,
                None => live,
            };
            if behind {
                mirror.metrics.repair();
                tracing::info!(collection = %key.0, %id, version, ?held, "the target lost a write: writing it again");
                mirror.queue.lock().expect("queue lock").waiting.entry(key).or_insert((id, Instant::now()));
                mirror.wake.notify_one();
            }
        }
    }
}

impl Mirror {
    fn gauges(&self) -> Gauges {
        let (pending, oldest) = {
            let queue = self.queue.lock().expect("queue lock");
            let oldest = queue.waiting.values().map(|(_, t)| *t).chain(queue.busy.values().copied()).min();
            (queue.waiting.len() + queue.busy.len(), oldest)
        };
        let counts = self.client.with_replica(|r| r.load_counts());
        Gauges {
            pending,
            lag_seconds: oldest.map_or(0.0, |t| t.elapsed().as_secs_f64()),
            fetched_states: counts.states,
            listed_versions: counts.versions,
        }
    }
}

/// 200 when the mirror is in step: connected, every collection loaded, the target answering a
/// ping; else 503. The body gives the lag and what is wrong.
async fn healthz(State(mirror): State<Arc<Mirror>>) -> Response {
    let target = matches!(
        tokio::time::timeout(PING_TIMEOUT, mirror.target.database().run_command(doc! {"ping": 1})).await,
        Ok(Ok(_))
    );
    let status = mirror.client.status();
    let loading: Vec<&String> =
        mirror.collections.iter().filter(|c| !mirror.client.with_replica(|r| r.is_loaded(c))).collect();
    let gauges = mirror.gauges();
    let ok = target && status.is_connected() && loading.is_empty();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "unavailable" },
        "mqtt": status.as_str(),
        "target": target,
        "loading": loading,
        "pending": gauges.pending,
        "lag_ms": (gauges.lag_seconds * 1000.0).round() as u64,
        "last_error": *mirror.last_error.lock().expect("error lock"),
    });
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn render(State(mirror): State<Arc<Mirror>>) -> Response {
    let text = mirror.metrics.render(mirror.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
