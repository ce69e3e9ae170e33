//! Outages: the broker and the database go away and come back. The bridge retries with
//! back-off, `/healthz` says so, and what was acknowledged before is still there after.
//! Each test runs its own private Mosquitto or FerretDB, so the shared services stay up.

mod common;

use common::{get, health_becomes};

use common::{World, WAIT};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_mosquitto(port: u16) -> Child {
    Command::new("mosquitto")
        .args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto on PATH (make services installs it)")
}

fn start_ferretdb(port: u16, dir: &std::path::Path) -> Child {
    let bin = std::env::var("VMM_FERRETDB_BIN")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/bin/ferretdb").into());
    Command::new(bin)
        .args([
            "--handler=sqlite",
            &format!("--sqlite-url=file:{}/", dir.display()),
            &format!("--listen-addr=127.0.0.1:{port}"),
            &format!("--state-dir={}", dir.display()),
            "--telemetry=disable",
            "--debug-addr=-",
            "--log-level=error",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferretdb in .tools/bin (make services builds it)")
}

async fn wait_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

/// GET `path` from the bridge's HTTP endpoint: (status, body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_rides_out_a_broker_outage_and_health_says_so() {
    let world = World::new("broker_outage").await;
    let port = free_port();
    let mut broker = start_mosquitto(port);
    wait_port(port).await;
    let url = format!("mqtt://127.0.0.1:{port}");
    let mut args = world.args("b1");
    let at = args.iter().position(|a| a == "--mqtt-url").unwrap();
    args[at + 1] = url.clone();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let bridge =
        tokio::spawn(vmm_bridge::serve(vmm_bridge::Config::load_from(args).unwrap(), Some(http), shutdown.clone()));
    assert!(health_becomes(addr, 200).await.contains("\"mqtt\":true"));

    let client_for = |id: &str| {
        let mut o = vmm_engine::native::ClientOptions::new(&url, &format!("{}-{id}", world.prefix));
        o.prefix = world.prefix.clone();
        o.load_retry = Duration::from_millis(500);
        o.resend_after = Duration::from_secs(1);
        o
    };
    let alice = vmm_engine::native::Client::connect(client_for("alice")).unwrap();
    alice.watch("tasks").await.unwrap();
    assert!(alice.wait_for(WAIT, |r| r.status() == vmm_protocol::replica::Status::Online).await);
    alice.request("tasks", json!({"op": "insert", "id": "before", "doc": {"n": 1}})).await.unwrap();

    broker.kill().unwrap();
    broker.wait().unwrap();
    let body = health_becomes(addr, 503).await;
    assert!(body.contains("\"mqtt\":false") && body.contains("\"mongodb\":true"), "{body}");

    let mut broker = start_mosquitto(port);
    wait_port(port).await;
    assert!(health_becomes(addr, 200).await.contains("\"mqtt\":true"));
    // The client reconnects, resyncs, and the bridge serves again; what was acknowledged stayed.
    let after =
        tokio::time::timeout(WAIT, alice.request("tasks", json!({"op": "insert", "id": "after", "doc": {"n": 2}})));
    after.await.expect("served after the outage").unwrap();
    let stored = world.stored("tasks").await;
    assert_eq!(stored.len(), 2);
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(metrics.contains("vmm_requests_total{outcome=\"applied\"} 2"), "{metrics}");

    shutdown.cancel();
    bridge.await.unwrap().unwrap();
    broker.kill().unwrap();
    let _ = broker.wait();
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_rides_out_a_database_outage_and_health_says_so() {
    let world = World::new("db_outage").await;
    let dir = std::env::temp_dir().join(format!("vmm-ferretdb-{}", world.prefix));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut db = start_ferretdb(port, &dir);
    wait_port(port).await;
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=2000");
    let mut args = world.args("b1");
    let at = args.iter().position(|a| a == "--mongodb-uri").unwrap();
    args[at + 1] = uri.clone();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let bridge =
        tokio::spawn(vmm_bridge::serve(vmm_bridge::Config::load_from(args).unwrap(), Some(http), shutdown.clone()));
    world.wait_ready().await;
    assert!(health_becomes(addr, 200).await.contains("\"mongodb\":true"));
    let alice = world.watching_client("alice", "tasks").await;
    alice.request("tasks", json!({"op": "insert", "id": "before", "doc": {"n": 1}})).await.unwrap();

    db.kill().unwrap();
    db.wait().unwrap();
    let body = health_becomes(addr, 503).await;
    assert!(body.contains("\"mongodb\":false") && body.contains("\"mqtt\":true"), "{body}");
    // While the database is away, a request is answered `internal` and stays pending: the
    // client resends it, and it is applied once the database is back.
    let during = {
        let alice = alice.clone();
        tokio::spawn(
            async move { alice.request("tasks", json!({"op": "insert", "id": "during", "doc": {"n": 2}})).await },
        )
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut db = start_ferretdb(port, &dir);
    wait_port(port).await;
    assert!(health_becomes(addr, 200).await.contains("\"mongodb\":true"));
    let event = tokio::time::timeout(Duration::from_secs(40), during)
        .await
        .expect("applied after the outage")
        .unwrap()
        .unwrap();
    assert_eq!(event.version, 1);
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let count = client
        .database(&world.database)
        .collection::<mongodb::bson::Document>("tasks")
        .count_documents(mongodb::bson::doc! {})
        .await
        .unwrap();
    assert_eq!(count, 2, "what was acknowledged before the outage is still there");

    shutdown.cancel();
    bridge.await.unwrap().unwrap();
    db.kill().unwrap();
    let _ = db.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
