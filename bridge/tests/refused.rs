//! Writes the database refuses, against the real FerretDB (or `VMM_MONGODB_URI`): values it cannot
//! store, and a unique index a user added. Each request gets a `refused` reject, nothing claims
//! success, the object stays usable at its version, and other requests are not disturbed.

mod common;

use common::{raw_exchange_until, World};
use mongodb::bson::doc;
use mongodb::IndexModel;
use serde_json::{json, Value};

fn request(rid: &str, id: &str, base: u64, body: Value) -> Vec<u8> {
    let mut r = json!({"type": "request", "rid": rid, "collection": "tasks", "id": id, "base": base});
    r.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
    serde_json::to_vec(&r).unwrap()
}

fn insert(rid: &str, id: &str, doc: Value) -> Vec<u8> {
    request(rid, id, 0, json!({"op": "insert", "doc": doc}))
}

/// The answer to one request: its event or its reject (other events, such as one the bridge
/// publishes again after reading an object, are skipped).
async fn answer(world: &World, payload: Vec<u8>) -> Value {
    let rid: Value = serde_json::from_slice::<Value>(&payload).unwrap()["rid"].clone();
    let got =
        raw_exchange_until(world, "alice", "tasks", vec![payload], |got| got.iter().any(|(_, m)| m["rid"] == rid))
            .await;
    got.into_iter().map(|(_, m)| m).find(|m| m["rid"] == rid).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_the_database_cannot_store_are_refused_and_leave_the_object_usable() {
    let world = World::new("refused").await;
    let bridge = world.start_bridge("b1").await;
    assert_eq!(answer(&world, insert("r0", "t1", json!({"n": 0}))).await["type"], "event");
    let cases = [
        ("arrays in arrays", json!({"$set": {"m": [[1]]}})),
        ("a Decimal128", json!({"$set": {"d": {"$numberDecimal": "1.1"}}})),
        ("a Decimal128 out of range", json!({"$set": {"d": {"$numberDecimal": "1E+99999"}}})),
    ];
    let mut refused = 0;
    for (i, (what, update)) in cases.iter().enumerate() {
        let got = answer(&world, request(&format!("bad{i}"), "t1", 1, json!({"op": "update", "update": update}))).await;
        match (got["type"].as_str(), got["code"].as_str()) {
            // A database that stores it (MongoDB stores Decimal128) applies it: then go on from there.
            (Some("event"), _) => panic!("{what} was stored; this test expects FerretDB, which refuses it: {got}"),
            (Some("reject"), Some("refused" | "invalid_document")) => {
                assert_eq!(got["current"], 1, "{what}: the object stays at its version: {got}");
                assert!(got["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
                refused += 1;
            }
            other => panic!("{what}: expected a refusal, got {other:?}: {got}"),
        }
        // The same request again gets the same answer.
        let again =
            answer(&world, request(&format!("bad{i}"), "t1", 1, json!({"op": "update", "update": update}))).await;
        assert_eq!(again["code"], got["code"], "{what}: the outcome is recorded");
    }
    assert_eq!(refused, cases.len());
    assert_eq!(world.events().await.len(), 1, "nothing but the insert was recorded");
    // The object is usable at its version.
    let ok = answer(&world, request("ok", "t1", 1, json!({"op": "update", "update": {"$set": {"n": 1}}}))).await;
    assert_eq!((ok["type"].as_str(), ok["version"].as_u64()), (Some("event"), Some(2)), "{ok}");

    // Three hundred at once: every one refused, nothing recorded, and a normal request after them
    // is answered at once.
    let mut answers = Vec::new();
    for batch in 0..6 {
        let payloads = (0..50)
            .map(|i| {
                insert(
                    &format!("flood{batch}-{i}"),
                    &format!("f{batch}-{i}"),
                    json!({"d": {"$numberDecimal": "1E+99999"}}),
                )
            })
            .collect();
        let got = raw_exchange_until(&world, "alice", "tasks", payloads, |got| {
            got.iter().filter(|(_, m)| m["rid"].as_str().is_some_and(|r| r.starts_with("flood"))).count() == 50
        })
        .await;
        answers.extend(got.into_iter().filter(|(_, m)| m["rid"].as_str().is_some_and(|r| r.starts_with("flood"))));
    }
    assert!(answers.iter().all(|(_, a)| a["type"] == "reject" && a["code"] != "internal"), "{answers:?}");
    let started = std::time::Instant::now();
    assert_eq!(answer(&world, insert("after", "t2", json!({"n": 2}))).await["type"], "event");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(world.events().await.len(), 3, "the two good requests and nothing else");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_a_users_unique_index_refuses_is_rejected_and_withdrawn() {
    let world = World::new("unique").await;
    let db = world.db().await;
    let tasks = db.collection::<mongodb::bson::Document>("tasks");
    let unique = mongodb::options::IndexOptions::builder().unique(true).build();
    tasks.create_index(IndexModel::builder().keys(doc! {"email": 1}).options(unique).build()).await.unwrap();
    let bridge = world.start_bridge("b1").await;
    assert_eq!(answer(&world, insert("r1", "u1", json!({"email": "a@x"}))).await["type"], "event");
    let dup = answer(&world, insert("r2", "u2", json!({"email": "a@x"}))).await;
    assert_eq!((dup["type"].as_str(), dup["code"].as_str()), (Some("reject"), Some("refused")), "{dup}");
    assert_eq!(dup["current"], 0);
    assert_eq!(world.events().await.len(), 1, "the refused insert's event was withdrawn");
    assert_eq!(world.stored("tasks").await.len(), 1);
    // u2 is usable: with another address it is inserted at version 1.
    let ok = answer(&world, insert("r3", "u2", json!({"email": "b@x"}))).await;
    assert_eq!((ok["type"].as_str(), ok["version"].as_u64()), (Some("event"), Some(1)), "{ok}");
    // And an update of u1 to the taken address is refused too, leaving u1 at version 1.
    let taken = request("r4", "u1", 1, json!({"op": "update", "update": {"$set": {"email": "b@x"}}}));
    let got = answer(&world, taken).await;
    assert_eq!((got["code"].as_str(), got["current"].as_u64()), (Some("refused"), Some(1)), "{got}");
    let fine = request("r5", "u1", 1, json!({"op": "update", "update": {"$set": {"email": "c@x"}}}));
    assert_eq!(answer(&world, fine).await["version"], 2);
    bridge.stop().await;
    world.drop_database().await;
}
