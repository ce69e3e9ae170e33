//! Every answer of the bridge fits the payload limit, and costs what the answer costs: a `load` of
//! 100 ids of one large object is paged, a reject never echoes a huge field name, a failure at
//! version 0 on a long history is answered with a snapshot without reading the history. After
//! each, the bridge is still connected and answers the next request.

mod common;

use common::raw::Raw;
use common::{World, WAIT};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use vmm_protocol::topic::Topics;
use vmm_protocol::Limits;

/// A raw connection as `client` that listens on its reply topic.
async fn listener(world: &World, client: &str) -> (Raw, Topics, String) {
    let id = format!("{}-{client}", world.prefix);
    let topics = Topics::new(&world.prefix).unwrap();
    let mut mqtt = Raw::connect(&id).await;
    mqtt.subscribe(&topics.reply(&id));
    mqtt.subscribed(1).await;
    (mqtt, topics, id)
}

/// The next message on the reply topic, as bytes and JSON.
async fn reply(mqtt: &mut Raw) -> (Vec<u8>, Value) {
    let (_, payload) = tokio::time::timeout(WAIT, mqtt.message()).await.expect("an answer in time");
    let value = serde_json::from_slice(&payload).unwrap();
    (payload, value)
}

/// The bridge still serves: a fresh request of `client` is answered.
async fn still_serving(world: &World, mqtt: &mut Raw, topics: &Topics, id: &str, rid: &str) {
    let request = json!({"type": "request", "rid": rid, "collection": "tasks", "id": rid, "base": 0, "op": "delete"});
    mqtt.publish(&topics.request(id, "tasks"), &serde_json::to_vec(&request).unwrap());
    let (_, answer) = reply(mqtt).await;
    assert_eq!((answer["rid"].as_str(), answer["code"].as_str()), (Some(rid), Some("not_found")), "{answer}");
    let _ = world;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_of_100_ids_of_a_200_kb_object_comes_in_pages_that_each_fit() {
    let world = World::new("bounded_load").await;
    let bridge = world.start_bridge("b1").await;
    let writer = world.watching_client("writer", "tasks").await;
    let pad = "x".repeat(200_000);
    writer.request("tasks", json!({"op": "insert", "id": "big", "doc": {"pad": pad}})).await.unwrap();

    let (mut mqtt, topics, id) = listener(&world, "loader").await;
    let ids = vec![json!("big"); 100];
    let (mut after, mut states, mut pages) = (None::<String>, 0, 0);
    loop {
        let mut load = json!({"type": "load", "lid": format!("l{pages}"), "collection": "tasks", "ids": ids});
        if let Some(a) = &after {
            load["after"] = json!(a);
        }
        mqtt.publish(&topics.load(&id, "tasks"), &serde_json::to_vec(&load).unwrap());
        let (payload, page) = reply(&mut mqtt).await;
        assert_eq!(page["type"], "snapshot", "{page}");
        assert!(payload.len() <= Limits::default().max_payload, "a page of {} bytes", payload.len());
        pages += 1;
        states += page["objects"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
        assert!(pages <= 100, "more pages than ids");
    }
    assert_eq!((pages, states), (100, 100), "one 200 KB state per page, one per id");
    still_serving(&world, &mut mqtt, &topics, &id, "after-load").await;
    mqtt.disconnect().await;
    writer.disconnect().await;
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_250_kb_field_name_gets_a_small_reject() {
    let world = World::new("bounded_reject").await;
    let bridge = world.start_bridge("b1").await;
    let (mut mqtt, topics, id) = listener(&world, "mallory").await;
    let name = "k".repeat(250 * 1024);
    for (rid, payload) in [
        (
            "r1",
            format!(
                r#"{{"type":"request","rid":"r1","collection":"tasks","id":"t1","base":0,"op":"delete","{name}":1}}"#
            ),
        ),
        (
            "r2",
            format!(
                r#"{{"type":"request","rid":"r2","collection":"tasks","id":"t1","base":0,"op":"insert","doc":{{"{name}":1}}}}"#
            ),
        ),
        ("r3", format!(r#"{{"type":"request","rid":"r3","collection":"tasks","id":"t1","base":0,"op":"{name}"}}"#)),
    ] {
        assert!(payload.len() <= Limits::default().max_payload);
        mqtt.publish(&topics.request(&id, "tasks"), payload.as_bytes());
        let (bytes, reject) = reply(&mut mqtt).await;
        assert_eq!(reject["rid"], rid, "{reject}");
        assert!(matches!(reject["code"].as_str(), Some("malformed" | "invalid_document")), "{reject}");
        assert!(bytes.len() < 2048, "{rid}: a reject of {} bytes", bytes.len());
    }
    still_serving(&world, &mut mqtt, &topics, &id, "after-reject").await;
    mqtt.disconnect().await;
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_at_version_0_on_a_long_history_get_snapshots_without_reading_it() {
    let world = World::new("bounded_failure").await;
    let bridge = world.start_bridge("b1").await;
    let writer = world.watching_client("writer", "tasks").await;
    writer.request("tasks", json!({"op": "insert", "id": "long", "doc": {"n": 0}})).await.unwrap();
    for n in 1..120 {
        let pad = format!("{n}").repeat(50_000 / format!("{n}").len());
        writer
            .request("tasks", json!({"op": "update", "id": "long", "update": {"$set": {"pad": pad, "n": n}}}))
            .await
            .unwrap();
    }

    let (mut mqtt, topics, id) = listener(&world, "behind").await;
    let failure = json!({"type": "failure", "collection": "tasks", "id": "long", "version": 0});
    let start = Instant::now();
    for _ in 0..32 {
        mqtt.publish(&topics.failure(&id, "tasks"), &serde_json::to_vec(&failure).unwrap());
    }
    for _ in 0..32 {
        let (payload, replay) = reply(&mut mqtt).await;
        assert!(payload.len() <= Limits::default().max_payload);
        assert_eq!(replay["snapshot"]["version"], 120, "{}", &replay.to_string()[..200]);
    }
    let took = start.elapsed();
    // Reading the 6 MB history for each would take tens of seconds (134 s for 64 before).
    assert!(took < Duration::from_secs(10), "32 snapshots took {took:?}");
    still_serving(&world, &mut mqtt, &topics, &id, "after-failures").await;
    mqtt.disconnect().await;
    writer.disconnect().await;
    bridge.stop().await;
    world.drop_database().await;
}
