//! Harness for integration tests against the real services (`make services`): Mosquitto and
//! FerretDB on 127.0.0.1, or whatever `VMM_MQTT_URL` and `VMM_MONGODB_URI` name. Every test gets
//! its own topic prefix and database, so tests run in parallel without seeing each other.

#![allow(dead_code)]

use mongodb::bson::{doc, Document};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use vmm_bridge::Config;
use vmm_engine::native::{Client, ClientOptions};

pub mod raw;
pub mod secure;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn mqtt_url() -> String {
    std::env::var("VMM_MQTT_URL").unwrap_or_else(|_| "mqtt://127.0.0.1:1883".into())
}

/// The broker's host and port, from [`mqtt_url`] (`mqtt://host:port`).
pub fn broker() -> (String, u16) {
    let url = mqtt_url();
    let (host, port) = url.trim_start_matches("mqtt://").rsplit_once(':').expect("mqtt://host:port");
    (host.to_string(), port.trim_end_matches('/').parse().expect("a port"))
}

pub fn mongodb_uri() -> String {
    std::env::var("VMM_MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
}

/// One test's world: a topic prefix and a database of its own.
pub struct World {
    pub name: String,
    pub prefix: String,
    pub database: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl World {
    pub async fn new(name: &str) -> World {
        // `VMM_TEST_LOG=vmm_bridge=debug` shows what the bridges and clients do.
        let filter = std::env::var("VMM_TEST_LOG").unwrap_or_else(|_| "off".into());
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}x{}x{n}", std::process::id(), vmm_now() % 100_000);
        let world =
            World { name: name.to_string(), prefix: format!("t{tag}"), database: format!("vmmtest_{name}_{tag}") };
        // Fail early and clearly when the services are not there.
        let db = world.db().await;
        tokio::time::timeout(Duration::from_secs(10), db.run_command(doc! {"ping": 1}))
            .await
            .expect("MongoDB did not answer within 10 s: run `make services`")
            .expect("MongoDB ping failed: run `make services`");
        world
    }

    pub fn args(&self, bridge_id: &str) -> Vec<String> {
        [
            "vmm-bridge",
            "--mqtt-url",
            &mqtt_url(),
            "--mongodb-uri",
            &mongodb_uri(),
            "--database",
            &self.database,
            "--prefix",
            &self.prefix,
            "--bridge-id",
            &format!("{}-{bridge_id}", self.prefix),
            "--share-group",
            &format!("{}-bridges", self.prefix),
            "--http-addr",
            "off",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    pub fn config(&self, bridge_id: &str) -> Config {
        Config::load_from(self.args(bridge_id)).expect("test config")
    }

    /// A bridge in this process, serving once this returns.
    pub async fn start_bridge(&self, bridge_id: &str) -> Bridge {
        self.start_bridge_with(self.config(bridge_id)).await
    }

    /// A bridge in this process with this configuration, serving once this returns: its
    /// `/healthz` says so.
    pub async fn start_bridge_with(&self, config: Config) -> Bridge {
        let shutdown = CancellationToken::new();
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = http.local_addr().unwrap();
        let task = tokio::spawn(vmm_bridge::serve(config, Some(http), shutdown.clone()));
        let body = health_becomes(addr, 200).await;
        assert!(body.contains("\"serving\":true"), "{body}");
        Bridge { shutdown, task }
    }

    /// Waits until some bridge answers: a throwaway client loads a collection.
    pub async fn wait_ready(&self) {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let mut options = ClientOptions::new(&mqtt_url(), &format!("{}-probe{n}", self.prefix));
        options.prefix = self.prefix.clone();
        options.load_retry = Duration::from_millis(200);
        let probe = Client::connect(options).expect("client");
        probe.watch("tasks").await.expect("watch");
        let online = probe.wait_for(WAIT, |r| r.status() == vmm_protocol::replica::Status::Online).await;
        assert!(online, "no bridge answered within {WAIT:?}");
        probe.disconnect().await;
    }

    /// A bridge in its own process (so that it can be killed).
    pub fn spawn_bridge(&self, bridge_id: &str, failpoint: Option<&str>) -> std::process::Child {
        let args = self.args(bridge_id);
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vmm-bridge"));
        cmd.args(&args[1..]).env("VMM_LOG", "warn").env_remove("VMM_FAILPOINT");
        if let Some(f) = failpoint {
            cmd.env("VMM_FAILPOINT", f);
        }
        cmd.spawn().expect("start vmm-bridge")
    }

    pub async fn client(&self, id: &str) -> Client {
        let mut options = ClientOptions::new(&mqtt_url(), &format!("{}-{id}", self.prefix));
        options.prefix = self.prefix.clone();
        // Tests kill bridges: resend sooner than the protocol's 10 s to keep them short.
        options.resend_after = Duration::from_secs(2);
        Client::connect(options).expect("client")
    }

    /// A client that follows `collection` and has loaded it.
    pub async fn watching_client(&self, id: &str, collection: &str) -> Client {
        let client = self.client(id).await;
        client.watch(collection).await.expect("watch");
        let loaded = client.wait_for(WAIT, |r| r.status() == vmm_protocol::replica::Status::Online).await;
        assert!(loaded, "client {id} did not come online (is a bridge running?)");
        client
    }

    pub async fn db(&self) -> mongodb::Database {
        let client = mongodb::Client::with_uri_str(mongodb_uri()).await.expect("mongodb client");
        client.database(&self.database)
    }

    /// The documents of a collection as MongoDB holds them, in `_id` order.
    pub async fn stored(&self, collection: &str) -> Vec<Document> {
        use futures_util::TryStreamExt;
        let db = self.db().await;
        db.collection::<Document>(collection)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }

    /// The bridge's event log, in `_id` (collection, key, version) order.
    pub async fn events(&self) -> Vec<Document> {
        self.stored("vmm_events").await
    }

    pub async fn drop_database(&self) {
        let _ = self.db().await.drop().await;
    }
}

pub struct Bridge {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<vmm_bridge::Result<()>>,
}

impl Bridge {
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task).await.expect("bridge stops in time").unwrap().unwrap();
    }
}

fn vmm_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// The replica's view of a collection as (id key, JSON) pairs, and MongoDB's, for comparison.
pub fn view(replica: &vmm_protocol::replica::Replica, collection: &str) -> Vec<(String, serde_json::Value)> {
    replica.list(collection).into_iter().map(|(id, d)| (id.key(), serde_json::Value::Object(d))).collect()
}

pub async fn mongo_view(world: &World, collection: &str) -> Vec<(String, serde_json::Value)> {
    let mut out: Vec<(String, serde_json::Value)> = world
        .stored(collection)
        .await
        .into_iter()
        .map(|mut d| {
            d.remove("_vmm_v");
            let json = mongodb::bson::Bson::Document(d).into_relaxed_extjson();
            let id = vmm_protocol::Id::from_value(&json["_id"]).unwrap();
            let doc = vmm_protocol::message::stored_document(json, &id, &vmm_protocol::Limits::default()).unwrap();
            (id.key(), serde_json::Value::Object(doc))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// On a raw MQTT connection as `client`: subscribes to its reply topic and the events of
/// `collection`, publishes each payload to its request topic, and collects `n` messages (topic,
/// JSON) in arrival order.
pub async fn raw_exchange(
    world: &World,
    client: &str,
    collection: &str,
    payloads: Vec<Vec<u8>>,
    n: usize,
) -> Vec<(String, serde_json::Value)> {
    raw_exchange_until(world, client, collection, payloads, |got| got.len() == n).await
}

/// [`raw_exchange`], collecting until `done` says the messages so far are enough.
pub async fn raw_exchange_until(
    world: &World,
    client: &str,
    collection: &str,
    payloads: Vec<Vec<u8>>,
    done: impl Fn(&[(String, serde_json::Value)]) -> bool,
) -> Vec<(String, serde_json::Value)> {
    let id = format!("{}-{client}", world.prefix);
    let topics = vmm_protocol::topic::Topics::new(&world.prefix).unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut mqtt = raw::Raw::connect(&id).await;
        mqtt.subscribe(&topics.reply(&id));
        mqtt.subscribe(&topics.collection_events(collection));
        mqtt.subscribed(2).await;
        for p in &payloads {
            mqtt.publish(&topics.request(&id, collection), p);
        }
        while !done(&got) {
            let (topic, payload) = mqtt.message().await;
            got.push((topic, serde_json::from_slice(&payload).unwrap()));
        }
        mqtt.disconnect().await;
    })
    .await
    .unwrap_or_else(|_| panic!("expected more messages in time, got {got:?}"));
    got
}

/// `GET path` on a bridge's HTTP endpoint: the status and the body.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out.split("\r\n\r\n").nth(1).unwrap_or("").to_string())
}

/// Polls `/healthz` until it answers `status` (within [`WAIT`]); returns the body.
pub async fn health_becomes(addr: std::net::SocketAddr, status: u16) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, body) = get(addr, "/healthz").await;
        if s == status {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/healthz stayed {s}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes one request as `client` (QoS 1, until the broker acknowledges it) and disconnects:
/// a requester that never sends it again.
pub async fn publish_once(world: &World, client: &str, collection: &str, payload: Vec<u8>) {
    let id = format!("{}-{client}", world.prefix);
    let topics = vmm_protocol::topic::Topics::new(&world.prefix).unwrap();
    tokio::time::timeout(WAIT, async {
        let mut mqtt = raw::Raw::connect(&id).await;
        mqtt.publish(&topics.request(&id, collection), &payload);
        while !matches!(mqtt.next().await, vmm_engine::mqtt::SessionEvent::Published { .. }) {}
        mqtt.disconnect().await;
    })
    .await
    .expect("the broker acknowledged the request");
}
