//! Repeated requests against the real services: one write, the same outcome for every copy.

mod common;

use common::{raw_exchange, World};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_id_leads_to_one_write_and_the_same_outcome() {
    let world = World::new("repeat").await;
    let bridge = world.start_bridge("b1").await;
    let request = json!({"type": "request", "rid": "once", "collection": "tasks", "id": "t1", "base": 0,
        "op": "update", "update": {"$inc": {"n": 1}}});
    let insert = json!({"type": "request", "rid": "ins", "collection": "tasks", "id": "t1", "base": 0,
        "op": "insert", "doc": {"n": 0}});
    let copies = vec![
        serde_json::to_vec(&insert).unwrap(),
        serde_json::to_vec(&insert).unwrap(),
        serde_json::to_vec(&insert).unwrap(),
    ];
    // The first copy's event goes to the event topic, the two others' to the reply topic.
    let got = raw_exchange(&world, "alice", "tasks", copies, 3).await;
    let events: Vec<_> = got.iter().map(|(_, m)| m.clone()).collect();
    assert!(events.iter().all(|e| e["type"] == "event" && e["version"] == 1 && e["rid"] == "ins"), "{got:?}");
    assert!(events.windows(2).all(|w| w[0] == w[1]), "every copy gets the same event: {got:?}");
    assert_eq!(got.iter().filter(|(t, _)| t.contains("/reply/")).count(), 2);

    // A rejected request, repeated, is rejected the same way and writes nothing.
    let stale = serde_json::to_vec(&request).unwrap();
    let got = raw_exchange(&world, "alice", "tasks", vec![stale.clone(), stale], 2).await;
    for (_, reject) in &got {
        assert_eq!(reject["type"], "reject");
        assert_eq!(reject["code"], "conflict");
        assert_eq!(reject["current"], 1);
    }
    assert_eq!(world.events().await.len(), 1, "one event in the log");
    let stored = world.stored("tasks").await;
    assert_eq!((stored[0].get_i32("n").unwrap(), stored[0].get_i64("_vmm_v").unwrap()), (0, 1));
    bridge.stop().await;
    world.drop_database().await;
}
