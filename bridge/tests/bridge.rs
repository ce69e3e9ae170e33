//! The bridge against the real Mosquitto and FerretDB (`make services`).

mod common;

use common::{mongo_view, view, World, WAIT};
use serde_json::json;
use vmm_protocol::{Code, Id};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_is_applied_stored_and_confirmed() {
    let world = World::new("insert").await;
    let bridge = world.start_bridge("b1").await;
    let alice = world.watching_client("alice", "tasks").await;
    let event = alice.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})).await.unwrap();
    assert_eq!((event.prev, event.version), (0, 1));
    assert_eq!(alice.version("tasks", &Id::string("t1").unwrap()), 1);
    let stored = world.stored("tasks").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].get_str("title").unwrap(), "milk");
    assert_eq!(stored[0].get_i64("_vmm_v").unwrap(), 1);
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_editing_the_same_and_different_objects_converge_to_what_mongodb_holds() {
    let world = World::new("converge").await;
    let bridge = world.start_bridge("b1").await;
    let alice = world.watching_client("alice", "tasks").await;
    let bob = world.watching_client("bob", "tasks").await;
    alice.request("tasks", json!({"op": "insert", "id": "shared", "doc": {"n": 0, "tags": []}})).await.unwrap();
    assert!(bob.wait_for(WAIT, |r| r.get("tasks", &Id::string("shared").unwrap()).is_some()).await);
    let mut handles = Vec::new();
    for (who, client) in [("a", alice.clone()), ("b", bob.clone())] {
        handles.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..10 {
                let own = format!("{who}{i}");
                outcomes.push(client.request("tasks", json!({"op": "insert", "id": own, "doc": {"by": who}})).await.map(|_| ()));
                let shared = json!({"op": "update", "id": "shared", "update": {"$inc": {"n": 1}, "$push": {"tags": own}}, "policy": "merge"});
                outcomes.push(client.request("tasks", shared).await.map(|_| ()));
            }
            outcomes
        }));
    }
    for h in handles {
        for outcome in h.await.unwrap() {
            if let Err(e) = outcome {
                // Concurrent edits of the shared object may conflict; nothing else may fail.
                assert_eq!(e.code, Code::Conflict, "{e}");
            }
        }
    }
    let truth = || async { mongo_view(&world, "tasks").await };
    let expected = truth().await;
    assert_eq!(expected.len(), 21);
    assert!(alice.wait_for(WAIT, |r| view(r, "tasks") == expected).await, "alice diverged");
    assert!(bob.wait_for(WAIT, |r| view(r, "tasks") == expected).await, "bob diverged");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_base_version_is_rejected_with_the_current_version() {
    let world = World::new("stale").await;
    let bridge = world.start_bridge("b1").await;
    let alice = world.watching_client("alice", "tasks").await;
    let bob = world.watching_client("bob", "tasks").await;
    let t1 = Id::string("t1").unwrap();
    alice.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})).await.unwrap();
    assert!(bob.wait_for(WAIT, |r| r.get("tasks", &t1).is_some()).await);
    // Bob goes offline, alice changes the title twice, bob edits the title from version 1.
    bob.disconnect().await;
    alice
        .request("tasks", json!({"op": "update", "id": "t1", "update": {"$set": {"title": "oat milk"}}}))
        .await
        .unwrap();
    alice
        .request("tasks", json!({"op": "update", "id": "t1", "update": {"$set": {"title": "soy milk"}}}))
        .await
        .unwrap();
    let stale = vmm_protocol::message::Request {
        rid: "stale-1".into(),
        collection: "tasks".into(),
        id: t1.clone(),
        base: 1,
        change: vmm_protocol::message::Change::Update(
            vmm_protocol::update::Update::parse(json!({"$set": {"title": "tea"}}), &Default::default()).unwrap(),
        ),
        policy: Default::default(),
    };
    let reject = raw_request(&world, "carol", &stale).await;
    assert_eq!(reject["type"], "reject");
    assert_eq!(reject["code"], "conflict");
    assert_eq!(reject["current"], 3);
    assert_eq!(world.stored("tasks").await[0].get_str("title").unwrap(), "soy milk");
    bridge.stop().await;
    world.drop_database().await;
}

/// Publishes a request as `client` on a raw connection and returns the first reply.
async fn raw_request(world: &World, client: &str, request: &vmm_protocol::message::Request) -> serde_json::Value {
    let payload = serde_json::to_vec(&request.to_value()).unwrap();
    common::raw_exchange(world, client, &request.collection, vec![payload], 1).await.remove(0).1
}

/// §6.1: a requester holds the object's event subscription before it sends the request, so the
/// outcome of a change to a collection it does not watch arrives in one round trip, not after
/// the 10 s resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outcome_of_a_request_to_an_unwatched_collection_arrives_within_a_second() {
    let world = World::new("unwatched").await;
    let bridge = world.start_bridge("b1").await;
    let alice = world.watching_client("alice", "tasks").await;
    let started = std::time::Instant::now();
    let request = alice.request("notes", json!({"op": "insert", "id": "n1", "doc": {"text": "hi"}}));
    let event = tokio::time::timeout(std::time::Duration::from_secs(1), request)
        .await
        .expect("the outcome arrived within a second")
        .expect("confirmed");
    assert_eq!((event.collection.as_str(), event.version), ("notes", 1));
    let elapsed = started.elapsed();
    assert_eq!(world.stored("notes").await.len(), 1, "applied once");
    // The object stays followed: a change from elsewhere reaches alice.
    let bob = world.client("bob").await;
    bob.watch("notes").await.unwrap();
    assert!(bob.wait_for(WAIT, |r| r.get("notes", &Id::string("n1").unwrap()).is_some()).await);
    bob.request("notes", json!({"op": "update", "id": "n1", "update": {"$set": {"text": "ho"}}})).await.unwrap();
    let n1 = Id::string("n1").unwrap();
    assert!(alice.wait_for(WAIT, |r| r.get("notes", &n1).is_some_and(|d| d["text"] == "ho")).await);
    eprintln!("outcome of a request to an unwatched collection after {elapsed:?}");
    bridge.stop().await;
    world.drop_database().await;
}
