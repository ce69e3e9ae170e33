//! The clustered-broker run (docs/SCALING.md, "RabbitMQ cluster (measured)"): the whole system on a RabbitMQ cluster of
//! two nodes (`scripts/cluster.sh start`, `make test-cluster`), a bridge and clients on each
//! node, node 2 stopped mid-run and started again. Afterwards every request a client saw
//! accepted is applied exactly once (each counter equals the increments accepted on it, its
//! version the events), and every client's replica equals MongoDB, documents and versions.
//!
//! RabbitMQ has no shared subscriptions: both bridges receive every request (`--share-group ""`),
//! which the protocol tolerates (§2.2, §9). It reads a `.` in a topic as a level separator, so
//! no topic level here holds one (prefix, client ids, bridge ids, collection, ids).
//!
//! Skipped (with a message) when the cluster's MQTT ports are closed, unless
//! `VMM_REQUIRE_CLUSTER=1`, as `make test-cluster` sets.

mod common;

use common::{mongo_view, view, World, WAIT};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vmm_engine::native::{Client, ClientOptions};
use vmm_protocol::replica::Status;
use vmm_protocol::{Code, Id};

/// The cluster's one user (scripts/cluster.sh).
const USER: &str = "vmm";
const PASSWORD: &str = "vmm";
const CLIENTS_PER_NODE: usize = 3;
/// The most requests one client sends: the run is bounded in count, whatever the timing.
const MAX_REQUESTS: usize = 400;
/// Between two requests of a client: a steady load rather than a flood (both bridges apply
/// every request, on two cores shared with the two nodes and FerretDB).
const PACE: Duration = Duration::from_millis(30);
/// How long a phase of the run may take (a restarted node takes ~5-15 s to serve MQTT again;
/// see `start-node`'s own deadline in scripts/cluster.sh).
const PHASE: Duration = Duration::from_secs(60);
const COLLECTION: &str = "counters";
const SHARED: [&str; 2] = ["shared0", "shared1"];

fn mqtt_port(node: usize) -> u16 {
    let default = [1893, 1894][node - 1];
    std::env::var(format!("VMM_CLUSTER_MQTT_PORT_{node}")).ok().and_then(|p| p.parse().ok()).unwrap_or(default)
}

fn url(node: usize) -> String {
    format!("mqtt://127.0.0.1:{}", mqtt_port(node))
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

/// `bash scripts/cluster.sh ARGS`, which waits for the node to be down or to serve (with its own
/// deadlines); panics with its output if it fails.
async fn cluster(args: &[&str]) -> Duration {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/cluster.sh");
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || std::process::Command::new("bash").arg(script).args(&args).output())
        .await
        .unwrap()
        .expect("run scripts/cluster.sh");
    assert!(
        out.status.success(),
        "scripts/cluster.sh failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

/// A bridge logged in as the cluster's user on `node`; no shared subscription.
async fn bridge(world: &World, id: &str, node: usize, password_file: &std::path::Path) -> common::Bridge {
    let mut args = world.args(id);
    let at = args.iter().position(|a| a == "--mqtt-url").unwrap();
    args[at + 1] = url(node);
    let at = args.iter().position(|a| a == "--share-group").unwrap();
    args[at + 1] = String::new();
    args.extend(["--mqtt-username".into(), USER.into(), "--mqtt-password-file".into()]);
    args.push(password_file.display().to_string());
    world.start_bridge_with(vmm_bridge::Config::load_from(args).expect("bridge config")).await
}

/// A client on `node` that follows the counters and has loaded them. It logs in as the cluster's
/// user; its identity in topics is its own (a development broker: identity is advisory, §2.3).
async fn client(world: &World, name: &str, node: usize) -> Client {
    let id = format!("{}-{name}", world.prefix);
    let mut options = ClientOptions::new(&url(node), &id);
    options.prefix = world.prefix.clone();
    options.credentials = Some((USER.into(), PASSWORD.into()));
    options.identity = Some(id);
    options.resend_after = Duration::from_secs(2);
    // An outcome may wait for the node's restart; no request may end with its outcome unknown.
    options.request_timeout = Some(Duration::from_secs(180));
    let client = Client::connect(options).expect("client");
    client.watch(COLLECTION).await.expect("watch");
    assert!(client.wait_for(WAIT, |r| r.status() == Status::Online).await, "{name} did not come online");
    client
}

/// What one client saw: the increments accepted per counter, and the conflicts.
#[derive(Default)]
struct Tally {
    accepted: std::collections::BTreeMap<String, u64>,
    conflicts: u64,
    /// The longest a request waited for its outcome.
    slowest: Duration,
}

/// A client's progress, read by the test's control loop.
#[derive(Default)]
struct Progress {
    accepted: AtomicUsize,
}

/// Increments its own counter and the shared ones in turn until `stop` (or [`MAX_REQUESTS`]).
/// Its own counter is strict (nobody else writes it: never a conflict); the shared ones merge,
/// and concurrent increments of one path conflict (§8): a conflict is an outcome too.
async fn run_client(client: Client, own: String, progress: Arc<Progress>, stop: Arc<AtomicBool>) -> Tally {
    let mut tally = Tally::default();
    let mut pace = tokio::time::interval(PACE);
    for i in 0..MAX_REQUESTS {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        pace.tick().await;
        let (counter, policy) = if i % 2 == 0 { (own.as_str(), "strict") } else { (SHARED[i / 2 % 2], "merge") };
        let op = json!({"op": "update", "id": counter, "update": {"$inc": {"n": 1}}, "policy": policy});
        let sent = Instant::now();
        let outcome = client.request(COLLECTION, op).await;
        tally.slowest = tally.slowest.max(sent.elapsed());
        match outcome {
            Ok(_) => {
                *tally.accepted.entry(counter.to_string()).or_default() += 1;
                progress.accepted.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) if e.code == Code::Conflict && policy == "merge" => tally.conflicts += 1,
            Err(e) => panic!("{own}: request {i} on {counter} ended with {e}"),
        }
    }
    tally
}

/// Waits until `done` holds (checked every 50 ms), for at most `limit`; panics naming `what`.
async fn until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

fn accepted(progress: &[Arc<Progress>]) -> Vec<usize> {
    progress.iter().map(|p| p.accepted.load(Ordering::SeqCst)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_a_bridge_on_each_one_stopped_and_restarted_every_accepted_request_applied_once() {
    if !(port_open(mqtt_port(1)) && port_open(mqtt_port(2))) {
        let message = format!(
            "the RabbitMQ cluster does not listen on 127.0.0.1:{} and :{}: run `bash scripts/cluster.sh start`",
            mqtt_port(1),
            mqtt_port(2)
        );
        assert!(std::env::var("VMM_REQUIRE_CLUSTER").as_deref() != Ok("1"), "{message}");
        eprintln!("skipped: {message}");
        return;
    }
    let world = World::new("cluster").await;
    let password_file = std::env::temp_dir().join(format!("vmm-{}-mqtt.password", world.prefix));
    std::fs::write(&password_file, PASSWORD).unwrap();
    let b1 = bridge(&world, "bridge1", 1, &password_file).await;
    let b2 = bridge(&world, "bridge2", 2, &password_file).await;

    // The clients: n1c{i} on node 1, n2c{i} on node 2; each inserts its own counter.
    let mut clients = Vec::new();
    for node in [1, 2] {
        for i in 0..CLIENTS_PER_NODE {
            let name = format!("n{node}c{i}");
            let c = client(&world, &name, node).await;
            c.request(COLLECTION, json!({"op": "insert", "id": format!("own-{name}"), "doc": {"n": 0}})).await.unwrap();
            clients.push((node, name, c));
        }
    }
    for id in SHARED {
        clients[0].2.request(COLLECTION, json!({"op": "insert", "id": id, "doc": {"n": 0}})).await.unwrap();
    }
    eprintln!("bridges seen by a client of node 1: {} (presence, §2.2)", clients[0].2.bridges());

    let stop = Arc::new(AtomicBool::new(false));
    let progress: Vec<Arc<Progress>> = clients.iter().map(|_| Arc::default()).collect();
    let tasks: Vec<_> = clients
        .iter()
        .zip(&progress)
        .map(|((_, name, c), p)| tokio::spawn(run_client(c.clone(), format!("own-{name}"), p.clone(), stop.clone())))
        .collect();
    let on = |node: usize| -> Vec<usize> { (0..clients.len()).filter(|&i| clients[i].0 == node).collect() };
    let (node1, node2) = (on(1), on(2));

    // Both nodes serve: every client gets some requests through.
    until("every client's first 5 requests", PHASE, || accepted(&progress).iter().all(|&n| n >= 5)).await;
    // Node 2 stops while its clients have requests in flight: `rabbitmqctl stop`, or SIGKILL with
    // VMM_CLUSTER_OUTAGE=kill-node (a crash: no goodbye to its clients or its peer).
    let outage = std::env::var("VMM_CLUSTER_OUTAGE").unwrap_or_else(|_| "stop-node".into());
    assert!(["stop-node", "kill-node"].contains(&outage.as_str()), "VMM_CLUSTER_OUTAGE: stop-node or kill-node");
    let stopping = cluster(&[&outage, "2"]).await;
    let at_stop = accepted(&progress);
    // Node 1's clients keep going on bridge 1 alone.
    until("10 more requests of each node-1 client while node 2 is down", PHASE, || {
        let now = accepted(&progress);
        node1.iter().all(|&i| now[i] >= at_stop[i] + 10)
    })
    .await;
    let during = accepted(&progress);
    let node2_during: usize = node2.iter().map(|&i| during[i] - at_stop[i]).sum();
    let restarting = cluster(&["start-node", "2"]).await;
    let restarted = accepted(&progress);
    // Node 2's clients reconnect, load again what they follow (§12.3), resend what was in
    // flight, and go on.
    let reconnected = Instant::now();
    let node2_clients: Vec<&Client> = node2.iter().map(|&i| &clients[i].2).collect();
    until("node-2 clients reconnected", PHASE, || node2_clients.iter().all(|c| c.status().is_connected())).await;
    let connected = reconnected.elapsed();
    until("node-2 clients loaded again", PHASE, || {
        node2_clients.iter().all(|c| c.with_replica(|r| r.status() == Status::Online))
    })
    .await;
    let loaded = reconnected.elapsed();
    let reconnect = until("5 more requests of each node-2 client after the restart", PHASE, || {
        let now = accepted(&progress);
        node2.iter().all(|&i| now[i] >= restarted[i] + 5)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    let mut tallies = Vec::new();
    for t in tasks {
        tallies.push(tokio::time::timeout(PHASE, t).await.expect("clients finish in time").unwrap());
    }
    let conflicts: u64 = tallies.iter().map(|t| t.conflicts).sum();
    let slowest = |node: &[usize]| node.iter().map(|&i| tallies[i].slowest).max().unwrap_or_default();
    eprintln!(
        "{outage} 2 took {stopping:?}; start-node 2 took {restarting:?}; then node-2 clients were connected after {connected:?}, \
         loaded after {loaded:?}, had 5 more requests accepted after {:?}; \
         accepted {} requests ({} while node 2 was down, {node2_during} of them by node-2 clients), {conflicts} conflicts; \
         slowest outcome {:?} on node 1, {:?} on node 2",
        loaded + reconnect,
        accepted(&progress).iter().sum::<usize>(),
        during.iter().sum::<usize>() - at_stop.iter().sum::<usize>(),
        slowest(&node1),
        slowest(&node2),
    );

    // Exactly once: each counter holds the increments accepted on it, and its version counts
    // its insert and those increments (the event log has one event per version).
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for t in &tallies {
        for (counter, n) in &t.accepted {
            *expected.entry(counter.clone()).or_default() += n;
        }
    }
    let stored = world.stored(COLLECTION).await;
    assert_eq!(stored.len(), clients.len() + SHARED.len());
    for doc in &stored {
        let id = doc.get_str("_id").unwrap();
        let n = doc.get_i64("n").or_else(|_| doc.get_i32("n").map(i64::from)).unwrap() as u64;
        let accepted = expected.get(id).copied().unwrap_or(0);
        assert_eq!(n, accepted, "{id}: MongoDB holds n = {n}, the clients saw {accepted} increments accepted");
        assert_eq!(doc.get_i64("_vmm_v").unwrap() as u64, 1 + accepted, "{id}: its version");
    }
    let events = world.events().await;
    assert_eq!(events.len() as u64, stored.len() as u64 + expected.values().sum::<u64>(), "one event per change");

    // Every replica equals MongoDB: documents and versions.
    let truth = mongo_view(&world, COLLECTION).await;
    let versions: Vec<(String, u64)> =
        stored.iter().map(|d| (d.get_str("_id").unwrap().to_string(), d.get_i64("_vmm_v").unwrap() as u64)).collect();
    for (_, name, c) in &clients {
        assert!(c.wait_for(WAIT, |r| view(r, COLLECTION) == truth).await, "{name}'s replica differs from MongoDB");
        for (id, v) in &versions {
            assert_eq!(c.version(COLLECTION, &Id::string(id).unwrap()), *v, "{name}'s version of {id}");
        }
        assert_eq!(c.pending_count(), 0, "{name} has changes pending");
    }

    for (_, _, c) in &clients {
        c.disconnect().await;
    }
    b1.stop().await;
    b2.stop().await;
    let _ = std::fs::remove_file(&password_file);
    world.drop_database().await;
}
