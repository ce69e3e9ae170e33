//! Starting and stopping the bridge: connections, tasks, and the order of a graceful shutdown.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::handle::Bridge;
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::mqtt::Mqtt;
use crate::outbox::Outbox;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use vmm_protocol::topic::Topics;

/// Runs a bridge until `shutdown` is cancelled, serving HTTP on `config.http_addr` if set.
pub async fn run(config: Config, shutdown: CancellationToken) -> Result<()> {
    let http = match config.http_addr {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    serve(config, http, shutdown).await
}

/// Runs a bridge until `shutdown` is cancelled, serving HTTP on `http` if given (tests bind
/// `127.0.0.1:0` and pass the listener in).
///
/// On shutdown it stops taking requests (those received but not started are not acknowledged:
/// their requesters publish them again), finishes the requests in flight, publishes every event recorded
/// (for at most 10 s), and disconnects.
pub async fn serve(config: Config, http: Option<TcpListener>, shutdown: CancellationToken) -> Result<()> {
    let limits = config.limits();
    let topics = Topics::new(&config.prefix).map_err(|e| Error::Config(e.to_string()))?;
    let metrics = Arc::new(Metrics::default());
    let client = mongodb::Client::with_uri_str(&config.mongodb_uri).await?;
    let db = client.database(&config.database);
    let filters = topics.bridge_filters(config.share_group()).to_vec();
    let (incoming_tx, mut incoming) = mpsc::unbounded_channel();
    let mqtt_stop = CancellationToken::new();
    let (mqtt, mqtt_task) = Mqtt::start(
        &config.mqtt_url,
        &config.bridge_id,
        // A clean session: a persistent one would keep taking its share of the requests while
        // this bridge is down. Requests it had not acknowledged are republished by their
        // requesters (same rid), which the protocol makes safe.
        true,
        config.max_payload + 4096,
        filters,
        incoming_tx,
        mqtt_stop.clone(),
    )?;
    if let Some(listener) = http {
        tracing::info!(addr = %listener.local_addr()?, "HTTP endpoint: /healthz, /metrics");
        let state = HttpState { metrics: metrics.clone(), mqtt_connected: mqtt.connected(), db: db.clone() };
        tokio::spawn(http::serve(listener, state, shutdown.clone()));
    }
    // Health answers (503) while the database is still out of reach; requests wait in the
    // channel, unacknowledged, until the store is open.
    let store = match open_store(db.clone(), &shutdown).await {
        Ok(store) => Arc::new(store),
        Err(e) if shutdown.is_cancelled() => {
            tracing::info!(error = %e, "stopped before the database was reachable");
            mqtt.disconnect().await;
            mqtt_stop.cancel();
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let outbox = Outbox::new(store.clone(), mqtt.clone(), topics.clone(), metrics.clone());
    let sweep = tokio::spawn(outbox.clone().sweep(shutdown.clone()));
    tokio::spawn(prune(store.clone(), config.retain_events_days, shutdown.clone()));
    let bridge = Arc::new(Bridge {
        store,
        mqtt: mqtt.clone(),
        outbox: outbox.clone(),
        topics,
        limits,
        metrics,
        config: config.clone(),
        failpoint: std::env::var("VMM_FAILPOINT").ok().filter(|f| !f.is_empty()),
    });
    tracing::info!(bridge_id = %config.bridge_id, prefix = %config.prefix, database = %config.database, "bridge started");

    let workers = config.workers;
    let slots = Arc::new(Semaphore::new(workers));
    loop {
        let publish = tokio::select! {
            p = incoming.recv() => match p { Some(p) => p, None => break },
            () = shutdown.cancelled() => break,
        };
        let slot = slots.clone().acquire_owned().await.expect("never closed");
        let bridge = bridge.clone();
        tokio::spawn(async move {
            bridge.handle(&publish.topic, &publish.payload).await;
            bridge.mqtt.ack(&publish).await;
            drop(slot);
        });
    }

    tracing::info!("shutting down: finishing requests in flight");
    let _ = slots.acquire_many(workers as u32).await;
    let left = outbox.flush(Duration::from_secs(10)).await;
    if left > 0 {
        tracing::warn!(left, "events still unpublished at shutdown; the next bridge publishes them");
    }
    let _ = sweep.await;
    mqtt.disconnect().await;
    mqtt_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(5), mqtt_task).await;
    // Close the driver's pools before the runtime goes, which it does not survive gracefully.
    let _ = tokio::time::timeout(Duration::from_secs(5), client.shutdown()).await;
    tracing::info!("bridge stopped");
    Ok(())
}

async fn open_store(db: mongodb::Database, shutdown: &CancellationToken) -> Result<Store> {
    let mut backoff = Duration::from_millis(200);
    loop {
        match Store::open(db.clone()).await {
            Ok(store) => return Ok(store),
            Err(e) => tracing::warn!(error = %e, "MongoDB not available yet; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = shutdown.cancelled() => return Err(Error::Config("stopped before MongoDB was reachable".into())),
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Every 10 minutes: forget events older than the retention, and rejects older than a day (the
/// protocol asks for at least 24 hours).
async fn prune(store: Arc<Store>, retain_days: u64, shutdown: CancellationToken) {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    loop {
        let now = crate::now_ms() as i64;
        let events_before = mongodb::bson::DateTime::from_millis(now - retain_days as i64 * DAY_MS);
        let rejects_before = mongodb::bson::DateTime::from_millis(now - DAY_MS);
        match store.prune(events_before, rejects_before).await {
            Ok((0, 0)) => {}
            Ok((events, rejects)) => tracing::info!(events, rejects, "pruned old events and rejects"),
            Err(e) => tracing::warn!(error = %e, "pruning failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
