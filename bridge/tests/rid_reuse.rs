//! A request id used again for a different request (§9): refused `rid_reused`, nothing applied,
//! while the first request's copies keep getting its outcome.

mod common;

use common::raw_exchange;
use common::World;
use serde_json::json;

fn request(rid: &str, body: serde_json::Value) -> Vec<u8> {
    let mut m = json!({"type": "request", "rid": rid, "collection": "tasks", "id": "t1"});
    m.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
    serde_json::to_vec(&m).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rid_reused_for_a_delete_is_refused_and_the_object_survives() {
    let world = World::new("rid_reuse").await;
    let bridge = world.start_bridge("b1").await;
    let insert = request("a0", json!({"base": 0, "op": "insert", "doc": {"n": 0}}));
    let update = request("r1", json!({"base": 1, "op": "update", "update": {"$set": {"n": 1}}}));
    let delete = request("r1", json!({"base": 2, "op": "delete"}));

    // The insert's event, then the update's, on the event topic. One after the other: the bridge
    // handles a client's requests concurrently (BRIDGE.md "Limits"), and the update is based on
    // the insert's version.
    let got = raw_exchange(&world, "alice", "tasks", vec![insert], 1).await;
    assert_eq!((got[0].1["rid"].as_str(), got[0].1["version"].as_u64()), (Some("a0"), Some(1)), "{got:?}");
    let got = raw_exchange(&world, "alice", "tasks", vec![update.clone()], 1).await;
    assert_eq!(got[0].1["rid"], "r1", "{got:?}");
    assert_eq!(got[0].1["version"], 2, "{got:?}");

    // The delete reusing r1: refused, on the reply topic, twice alike.
    for _ in 0..2 {
        let got = raw_exchange(&world, "alice", "tasks", vec![delete.clone()], 1).await;
        let (topic, reject) = &got[0];
        assert!(topic.contains("/reply/"), "{topic}");
        assert_eq!(
            (reject["type"].as_str(), reject["code"].as_str()),
            (Some("reject"), Some("rid_reused")),
            "{reject}"
        );
        assert_eq!(reject["rid"], "r1");
    }
    let stored = world.stored("tasks").await;
    assert_eq!(stored.len(), 1, "not deleted: {stored:?}");
    assert_eq!(stored[0].get_i32("n").ok().map(i64::from).or(stored[0].get_i64("n").ok()), Some(1));

    // The update again: its own outcome, the event of version 2, on the reply topic.
    let got = raw_exchange(&world, "alice", "tasks", vec![update], 1).await;
    let (topic, event) = &got[0];
    assert!(topic.contains("/reply/"), "{topic}");
    assert_eq!(
        (event["type"].as_str(), event["rid"].as_str(), event["version"].as_u64()),
        (Some("event"), Some("r1"), Some(2))
    );
    assert_eq!(event["op"], "update");
    bridge.stop().await;
    world.drop_database().await;
}
