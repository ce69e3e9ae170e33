//! Bridges that die: killed between the MongoDB write and the publish, and killed while sharing
//! the load with others. Nothing acknowledged is lost, nothing is applied twice.

mod common;

use common::{mongo_view, view, World, WAIT};
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use vmm_protocol::Id;

fn wait_exit(child: &mut std::process::Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

async fn killed_at(failpoint: &str) {
    let world = World::new(&format!("kill_{}", failpoint.replace('-', "_"))).await;
    let mut doomed = world.spawn_bridge("doomed", Some(failpoint));
    world.wait_ready().await;
    let alice = world.watching_client("alice", "tasks").await;
    let request = {
        let alice = alice.clone();
        tokio::spawn(async move {
            alice.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})).await
        })
    };
    let status = wait_exit(&mut doomed, WAIT).expect("the bridge reached its failpoint and died");
    assert!(!status.success(), "killed, not exited: {status:?}");
    let events = world.events().await;
    assert_eq!(events.len(), 1, "the event was recorded before the crash");
    assert!(!request.is_finished(), "nothing confirmed the request yet");

    // A new bridge publishes what the dead one recorded; the request is confirmed once.
    let bridge = world.start_bridge("heir").await;
    let event = tokio::time::timeout(WAIT, request).await.expect("confirmed in time").unwrap().unwrap();
    assert_eq!((event.prev, event.version), (0, 1));
    let bob = world.watching_client("bob", "tasks").await;
    let truth = mongo_view(&world, "tasks").await;
    assert_eq!(truth.len(), 1);
    assert!(bob.wait_for(WAIT, |r| view(r, "tasks") == truth).await, "bob converged");
    assert!(alice.wait_for(WAIT, |r| view(r, "tasks") == truth).await, "alice converged");
    assert_eq!(world.events().await.len(), 1, "applied once");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_killed_between_the_object_write_and_the_publish_loses_nothing() {
    killed_at("before-publish").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_killed_between_the_event_record_and_the_object_write_loses_nothing() {
    killed_at("after-event").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_bridges_share_the_load_and_one_killed_mid_run_loses_nothing() {
    let world = World::new("three").await;
    let mut bridges: Vec<_> = ["b1", "b2", "b3"].iter().map(|b| world.spawn_bridge(b, None)).collect();
    world.wait_ready().await;
    let clients = [
        world.watching_client("c1", "tasks").await,
        world.watching_client("c2", "tasks").await,
        world.watching_client("c3", "tasks").await,
    ];
    clients[0].request("tasks", json!({"op": "insert", "id": "shared", "doc": {"n": 0}})).await.unwrap();
    for c in &clients {
        assert!(c.wait_for(WAIT, |r| r.get("tasks", &Id::string("shared").unwrap()).is_some()).await);
    }
    let mut runs = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let c = c.clone();
        runs.push(tokio::spawn(async move {
            let mut confirmed = Vec::new();
            for j in 0..15 {
                let op = if j % 2 == 0 {
                    json!({"op": "insert", "id": format!("c{i}-{j}"), "doc": {"j": j}})
                } else {
                    json!({"op": "update", "id": "shared", "update": {"$set": {format!("by{i}"): j}}, "policy": "merge"})
                };
                match c.request("tasks", op).await {
                    Ok(event) => confirmed.push(event),
                    Err(e) => assert_eq!(e.code, vmm_protocol::Code::Conflict, "only conflicts may fail: {e}"),
                }
            }
            confirmed
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    bridges[1].kill().unwrap();
    bridges[1].wait().unwrap();
    let mut confirmed = Vec::new();
    for r in runs {
        confirmed
            .extend(tokio::time::timeout(Duration::from_secs(90), r).await.expect("all requests resolve").unwrap());
    }

    // Every confirmed request has exactly one event; every object's versions are contiguous.
    let events = world.events().await;
    let mut by_request = HashSet::new();
    let mut versions: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in &events {
        assert!(
            by_request.insert((e.get_str("client").unwrap().to_string(), e.get_str("rid").unwrap().to_string())),
            "a request applied twice"
        );
        // The `_id` is `collection|key|version`.
        let (object, version) = e.get_str("_id").unwrap().rsplit_once('|').unwrap();
        versions.entry(object.to_string()).or_default().push(version.parse().unwrap());
    }
    for (key, vs) in &versions {
        assert_eq!(*vs, (1..=vs.len() as i64).collect::<Vec<_>>(), "versions of {key} are contiguous");
    }
    for event in &confirmed {
        assert!(
            by_request.contains(&(event.client.clone(), event.rid.clone())),
            "confirmed {} has its event",
            event.rid
        );
    }
    // Nothing recorded stays unpublished, and everyone converges to MongoDB.
    let truth = mongo_view(&world, "tasks").await;
    for c in &clients {
        assert!(c.wait_for(WAIT, |r| view(r, "tasks") == truth).await, "a client diverged");
    }
    // The killed bridge's heartbeat goes stale; another bridge publishes what it recorded since
    // its last acknowledged event and then removes it.
    let deadline = std::time::Instant::now() + WAIT * 2;
    loop {
        let left: Vec<String> = world
            .stored("vmm_bridges")
            .await
            .iter()
            .filter_map(|b| b.get_str("bridge").ok().map(str::to_string))
            .collect();
        if !left.iter().any(|b| b.ends_with("-b2")) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the killed bridge was never recovered: {left:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for mut b in bridges {
        let _ = b.kill();
        let _ = b.wait();
    }
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_restarted_after_a_crash_publishes_what_it_left_even_if_nobody_asks_again() {
    let world = World::new("restart").await;
    let mut doomed = world.spawn_bridge("b1", Some("before-publish"));
    world.wait_ready().await;
    let bob = world.watching_client("bob", "tasks").await;
    // A requester that publishes once and goes away: nobody will send it again.
    let payload = serde_json::to_vec(&json!({"type": "request", "rid": "once", "collection": "tasks", "id": "t1", "base": 0, "op": "insert", "doc": {"n": 1}})).unwrap();
    common::publish_once(&world, "carol", "tasks", payload).await;
    let status = wait_exit(&mut doomed, WAIT).expect("the bridge reached its failpoint and died");
    assert!(!status.success());
    assert_eq!(world.stored("tasks").await.len(), 1, "written, never published");
    // The same bridge id starts again (as a supervisor would restart it): it finds the heartbeat
    // of the process it replaces and publishes the event, which bob gets as an event.
    let bridge = world.start_bridge("b1").await;
    assert!(bob.wait_for(WAIT, |r| r.get("tasks", &Id::string("t1").unwrap()).is_some()).await, "bob got the event");
    // Once its events are acknowledged, the dead process's heartbeat goes.
    let deadline = std::time::Instant::now() + WAIT;
    while world.stored("vmm_bridges").await.len() > 1 {
        assert!(std::time::Instant::now() < deadline, "the dead bridge's heartbeat stayed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bridge.stop().await;
    world.drop_database().await;
}
