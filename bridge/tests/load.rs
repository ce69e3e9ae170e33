//! Loading a collection page by page, across the three kinds of ids.

mod common;

use common::{World, WAIT};
use serde_json::json;
use vmm_protocol::topic::Topics;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_of_mixed_ids_loads_page_by_page_each_object_once() {
    let world = World::new("pages").await;
    let bridge = world.start_bridge("b1").await;
    let writer = world.watching_client("writer", "tasks").await;
    let ids = [
        json!(3),
        json!(-1),
        json!("b"),
        json!("a"),
        json!({"$oid": "65a1f0c2e4b0a1b2c3d4e5f6"}),
        json!({"$oid": "000000000000000000000001"}),
        json!(7),
    ];
    for id in &ids {
        writer.request("tasks", json!({"op": "insert", "id": id, "doc": {"x": 1}})).await.unwrap();
    }

    let id = format!("{}-pager", world.prefix);
    let topics = Topics::new(&world.prefix).unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    tokio::time::timeout(WAIT, async {
        let mut mqtt = common::raw::Raw::connect(&id).await;
        mqtt.subscribe(&topics.reply(&id));
        mqtt.subscribed(1).await;
        let mut after: Option<String> = None;
        loop {
            let mut load = json!({"type": "load", "lid": format!("l{pages}"), "collection": "tasks", "limit": 2});
            if let Some(a) = &after {
                load["after"] = json!(a);
            }
            mqtt.publish(&topics.load(&id, "tasks"), &serde_json::to_vec(&load).unwrap());
            let (_, payload) = mqtt.message().await;
            let page: serde_json::Value = serde_json::from_slice(&payload).unwrap();
            assert_eq!(page["type"], "snapshot");
            pages += 1;
            for o in page["objects"].as_array().unwrap() {
                seen.push(vmm_protocol::Id::from_value(&o["id"]).unwrap().key());
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_string()),
                None => return mqtt.disconnect().await,
            }
        }
    })
    .await
    .expect("all pages in time");
    let mut expected: Vec<String> = ids.iter().map(|i| vmm_protocol::Id::from_value(i).unwrap().key()).collect();
    expected.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, expected, "every object exactly once (pages in order: {seen:?})");
    assert!(pages >= 4, "limit 2 makes at least 4 pages for 7 objects, got {pages}");
    bridge.stop().await;
    world.drop_database().await;
}
