//! `vmm-mirror` against the real services: a bridge in this process, clients editing two
//! collections, and mirrors in their own processes (so that they can be killed) writing another
//! database of the same FerretDB. "Equal" means the same documents with the same versions
//! (`_vmm_v`) as the bridge's database.

mod common;

use common::{mongodb_uri, mqtt_url, World, WAIT};
use mongodb::bson::{doc, Bson, Document};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use vmm_engine::native::Client;

const COLLECTIONS: [&str; 2] = ["tasks", "notes"];

/// A mirror process and where its logs go.
struct Mirror {
    child: Child,
    http: SocketAddr,
    log: PathBuf,
}

impl Mirror {
    fn spawn(world: &World, name: &str, target: &str) -> Mirror {
        Mirror::spawn_with(world, name, target, &mongodb_uri())
    }

    fn spawn_with(world: &World, name: &str, target: &str, target_uri: &str) -> Mirror {
        let http = free_port();
        let log = std::env::temp_dir().join(format!("{}-{name}-{}.log", world.prefix, std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vmm-mirror"))
            .args(["--mqtt-url", &mqtt_url(), "--prefix", &world.prefix, "--collections", &COLLECTIONS.join(",")])
            .args(["--target-uri", target_uri, "--target-database", target])
            .args(["--mirror-id", &format!("{}-{name}", world.prefix)])
            .args(["--mirror-http-addr", &http.to_string(), "--log-format", "json"])
            .env("VMM_LOG", "vmm_bridge::mirror=debug,info")
            .env_remove("VMM_MIRROR_CONFIG")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start vmm-mirror");
        Mirror { child, http, log }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops it with SIGTERM and waits for it to exit.
    fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }

    /// The writes this mirror logged as applied: (collection, id key, version).
    fn applied(&self) -> Vec<(String, String, u64)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l["fields"]["message"] == "mirror write" && l["fields"]["outcome"] == "applied")
            .map(|l| {
                let f = &l["fields"];
                (
                    f["collection"].as_str().unwrap().into(),
                    f["id"].as_str().unwrap().into(),
                    f["version"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    async fn metric(&self, name: &str) -> u64 {
        let (status, body) = common::get(self.http, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        let line = body.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in {body}"));
        line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A collection as a database holds it: id → document (its version included), as JSON.
async fn contents(database: &str, collection: &str) -> BTreeMap<String, Value> {
    use futures_util::TryStreamExt;
    let client = mongodb::Client::with_uri_str(mongodb_uri()).await.unwrap();
    let docs: Vec<Document> =
        client.database(database).collection(collection).find(doc! {}).await.unwrap().try_collect().await.unwrap();
    docs.into_iter()
        .map(|d| {
            let json = Bson::Document(d).into_relaxed_extjson();
            (json["_id"].to_string(), json)
        })
        .collect()
}

fn version(doc: &Value) -> u64 {
    doc["_vmm_v"].as_u64().unwrap_or(0)
}

/// Waits until the target's collections equal the source's; panics with the differences.
async fn until_equal(source: &str, target: &str, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut diff = Vec::new();
        for c in COLLECTIONS {
            let (s, t) = (contents(source, c).await, contents(target, c).await);
            if s != t {
                let differing: Vec<_> = s
                    .keys()
                    .chain(t.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .filter(|k| s.get(*k) != t.get(*k))
                    .map(|k| {
                        format!("{c} {k}: source v{:?} target v{:?}", s.get(k).map(version), t.get(k).map(version))
                    })
                    .collect();
                diff.extend(differing);
            }
        }
        if diff.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the target differs from the source: {diff:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn seed(client: &Client, collection: &str, n: usize) {
    for i in 0..n {
        let op = json!({"op": "insert", "id": format!("{collection}-{i}"), "doc": {"n": 0, "title": format!("#{i}")}});
        client.request(collection, op).await.expect("seed");
    }
}

/// `ops` changes from one client over both collections, on objects `0..span`: increments
/// mostly, some replaces, deletes and re-inserts. Returns the increments confirmed per object.
async fn edit(client: Client, seed_n: u64, ops: u64, span: u64) -> BTreeMap<(String, String), i64> {
    let mut confirmed = BTreeMap::new();
    let mut x = seed_n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    for _ in 0..ops {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let collection = COLLECTIONS[(x >> 33) as usize % 2];
        let id = format!("{collection}-{}", (x >> 40) % span);
        let op = match (x >> 20) % 20 {
            0 => json!({"op": "delete", "id": id}),
            1 => json!({"op": "insert", "id": id, "doc": {"n": 0, "title": "again"}}),
            2 => json!({"op": "update", "id": id, "update": {"$set": {"title": format!("t{}", x % 1000)}}}),
            _ => json!({"op": "update", "id": id, "update": {"$inc": {"n": 1}}, "policy": "merge"}),
        };
        let inc = op["update"]["$inc"].is_object();
        if let Ok(_event) = client.request(collection, op).await {
            if inc {
                *confirmed.entry((collection.to_string(), id)).or_insert(0) += 1;
            }
        }
    }
    client.disconnect().await;
    confirmed
}

/// A test's source: its world, a bridge, a client that seeded both collections (and follows
/// them), and the name of the mirrors' target database.
struct Source {
    world: World,
    target: String,
    bridge: common::Bridge,
    seeder: Client,
}

impl Source {
    async fn start(name: &str, seeded: usize) -> Source {
        let world = World::new(name).await;
        let target = format!("{}_m", world.database);
        let bridge = world.start_bridge("b1").await;
        let seeder = world.client("seeder").await;
        for c in COLLECTIONS {
            seeder.watch(c).await.unwrap();
            seed(&seeder, c, seeded).await;
        }
        Source { world, target, bridge, seeder }
    }

    /// A client following both collections.
    async fn client(&self, name: &str) -> Client {
        let client = self.world.client(name).await;
        for c in COLLECTIONS {
            client.watch(c).await.unwrap();
        }
        client
    }

    /// Stops everything and drops both databases.
    async fn finish(self) {
        self.seeder.disconnect().await;
        self.bridge.stop().await;
        drop_db(&self.target).await;
        self.world.drop_database().await;
    }
}

async fn drop_db(name: &str) {
    let client = mongodb::Client::with_uri_str(mongodb_uri()).await.unwrap();
    let _ = client.database(name).drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_follows_two_collections_under_concurrent_load_and_ends_equal() {
    let source = Source::start("mirror_load", 15).await;
    let (world, target) = (&source.world, source.target.clone());
    let mirror = Mirror::spawn(world, "m1", &target);
    let mut editors = Vec::new();
    for i in 0..4 {
        let client = source.client(&format!("editor{i}")).await;
        editors.push(tokio::spawn(edit(client, i, 40, 20)));
    }
    for e in editors {
        e.await.unwrap();
    }
    until_equal(&world.database, &target, Duration::from_secs(60)).await;

    let body = common::health_becomes(mirror.http, 200).await;
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((health["pending"].as_u64(), health["lag_ms"].as_u64()), (Some(0), Some(0)), "{body}");
    assert!(mirror.metric("vmm_mirror_writes_total{outcome=\"applied\"}").await > 30);
    assert_eq!(mirror.metric("vmm_mirror_restored_objects").await, 0, "a new target restores nothing");

    drop(mirror);
    source.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mirror_killed_mid_stream_restarts_equal_having_fetched_only_what_it_missed() {
    let source = Source::start("mirror_kill", 60).await;
    let (world, target) = (&source.world, source.target.clone());
    let mut mirror = Mirror::spawn(world, "m1", &target);
    until_equal(&world.database, &target, WAIT * 2).await;

    // Changes on the first 15 objects of each collection; the mirror is killed in the middle.
    let client = source.client("editor").await;
    let editor = tokio::spawn(edit(client, 7, 60, 15));
    tokio::time::sleep(Duration::from_millis(300)).await;
    mirror.kill();
    editor.await.unwrap();

    // What the target lacks: objects the source holds at another version.
    let mut missed = 0;
    let mut live = 0;
    for c in COLLECTIONS {
        let (s, t) = (contents(&world.database, c).await, contents(&target, c).await);
        live += s.len() as u64;
        missed += s.iter().filter(|(k, d)| t.get(*k).map(version) != Some(version(d))).count() as u64;
    }
    assert!(missed > 0, "the edits after the kill left the target behind");
    assert!(missed < live / 2, "{missed} of {live} objects missed: the test must change a few only");

    let mirror = Mirror::spawn(world, "m1", &target);
    until_equal(&world.database, &target, Duration::from_secs(60)).await;
    common::health_becomes(mirror.http, 200).await;
    let restored = mirror.metric("vmm_mirror_restored_objects").await;
    let fetched = mirror.metric("vmm_mirror_fetched_states_total").await;
    let listed = mirror.metric("vmm_mirror_listed_versions_total").await;
    assert!(restored >= live - missed, "restored {restored} of {live}");
    assert_eq!(fetched, missed, "fetched exactly the {missed} objects it missed (of {live}), listed {listed}");
    assert_eq!(listed, live, "listed every live object's version once");

    drop(mirror);
    source.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_mirrors_on_one_target_end_equal_with_every_increment_counted_once() {
    let source = Source::start("mirror_two", 6).await;
    let (world, target) = (&source.world, source.target.clone());
    let mut first = Mirror::spawn(world, "m1", &target);
    let mut second = Mirror::spawn(world, "m2", &target);
    // Increments only, from three clients on six objects per collection: both mirrors write the
    // same objects at the same moments.
    let mut editors = Vec::new();
    for i in 0..3 {
        let client = source.client(&format!("editor{i}")).await;
        editors.push(tokio::spawn(async move {
            let mut confirmed = BTreeMap::new();
            for n in 0..40u64 {
                let collection = COLLECTIONS[(n % 2) as usize];
                let id = format!("{collection}-{}", (n * 7 + i) % 6);
                let op = json!({"op": "update", "id": id, "update": {"$inc": {"n": 1}}, "policy": "merge"});
                if client.request(collection, op).await.is_ok() {
                    *confirmed.entry(format!("\"{id}\"")).or_insert(0i64) += 1;
                }
            }
            client.disconnect().await;
            confirmed
        }));
    }
    let mut confirmed: BTreeMap<String, i64> = BTreeMap::new();
    for e in editors {
        for (id, n) in e.await.unwrap() {
            *confirmed.entry(id).or_insert(0) += n;
        }
    }
    until_equal(&world.database, &target, Duration::from_secs(60)).await;
    common::health_becomes(first.http, 200).await;
    common::health_becomes(second.http, 200).await;

    // Every confirmed increment is in the target once: the counters are exact.
    let mut counted = BTreeMap::new();
    for c in COLLECTIONS {
        for (id, doc) in contents(&target, c).await {
            counted.insert(id, doc["n"].as_i64().unwrap());
        }
    }
    counted.retain(|_, n| *n > 0);
    assert_eq!(counted, confirmed, "the target's counters are the confirmed increments");
    // Both wrote, and each saw the other's work.
    let duplicates = first.metric("vmm_mirror_writes_total{outcome=\"duplicate\"}").await
        + second.metric("vmm_mirror_writes_total{outcome=\"duplicate\"}").await;
    assert!(!first.applied().is_empty() && !second.applied().is_empty(), "both mirrors wrote");
    assert!(duplicates > 0, "the mirrors found each other's writes");
    first.stop();
    second.stop();

    drop((first, second));
    source.finish().await;
}

/// A TCP forwarder to the database that can be cut and restored: the target going away and
/// coming back, over a real socket.
struct Cuttable {
    addr: SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Cuttable {
    async fn to(upstream: String) -> Cuttable {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o, c) = (open.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !o.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused
                }
                let upstream = upstream.clone();
                c.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Cuttable { addr, open, conns }
    }

    /// Refuses new connections and breaks the open ones.
    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.conns.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_its_target_is_unreachable_a_mirror_says_so_keeps_the_changes_and_writes_them_when_it_is_back() {
    let source = Source::start("mirror_down", 5).await;
    let (world, target) = (&source.world, source.target.clone());
    let editor = &source.seeder;
    let upstream = mongodb_uri().trim_start_matches("mongodb://").split(['/', '?']).next().unwrap().to_string();
    let proxy = Cuttable::to(upstream).await;
    let uri = format!("mongodb://{}/?directConnection=true&serverSelectionTimeoutMS=1000", proxy.addr);
    let mut mirror = Mirror::spawn_with(world, "m1", &target, &uri);
    until_equal(&world.database, &target, WAIT).await;
    common::health_becomes(mirror.http, 200).await;

    proxy.cut();
    for i in 0..5 {
        let op = json!({"op": "update", "id": format!("tasks-{i}"), "update": {"$set": {"title": "while down"}}});
        editor.request("tasks", op).await.unwrap();
    }
    let body = common::health_becomes(mirror.http, 503).await;
    let health: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["target"], false, "{body}");
    let deadline = tokio::time::Instant::now() + WAIT;
    let health = loop {
        let (_, body) = common::get(mirror.http, "/healthz").await;
        let health: Value = serde_json::from_str(&body).unwrap();
        if health["pending"].as_u64() > Some(0) && !health["last_error"].is_null() {
            break health;
        }
        assert!(tokio::time::Instant::now() < deadline, "no pending writes or error shown: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["pending"], 5, "the five changes wait: {health}");
    assert!(mirror.metric("vmm_mirror_write_errors_total").await > 0);

    proxy.restore();
    until_equal(&world.database, &target, Duration::from_secs(60)).await;
    let body = common::health_becomes(mirror.http, 200).await;
    assert!(body.contains("\"pending\":0"), "{body}");
    mirror.stop();

    drop(mirror);
    source.finish().await;
}
