//! A consumer that misses an event: it reports a failure and the bridge replays what it missed.

mod common;

use common::{mongo_view, World, WAIT};
use serde_json::json;
use vmm_engine::mqtt::SessionEvent;
use vmm_protocol::message::Message;
use vmm_protocol::replica::{Config, Replica, Status};
use vmm_protocol::topic::Topics;
use vmm_protocol::Limits;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_with_a_gap_sends_a_failure_gets_the_replay_and_converges() {
    let world = World::new("gap").await;
    let bridge = world.start_bridge("b1").await;
    let writer = world.watching_client("writer", "tasks").await;
    writer.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"n": 0}})).await.unwrap();

    // The consumer: a replica over a raw connection, so that the test can lose one event.
    let id = format!("{}-consumer", world.prefix);
    let mut config = Config::new(&id, "c1").unwrap();
    config.topics = Topics::new(&world.prefix).unwrap();
    let mut replica = Replica::new(config);
    replica.watch_collection(0, "tasks").unwrap();
    let mut dropped = false;
    let mut failures_sent = 0;
    let mut replays = 0;
    let mut wrote = false;
    let done = tokio::time::timeout(WAIT, async {
        let mut mqtt = common::raw::Raw::connect(&id).await;
        for s in replica.subscriptions() {
            mqtt.subscribe(&s);
        }
        mqtt.subscribed(2).await;
        replica.connected(mqtt.now());
        loop {
            while let Some(t) = replica.poll_transmit() {
                if t.topic.contains("/fail/") {
                    failures_sent += 1;
                }
                mqtt.publish(&t.topic, &t.payload);
            }
            if let SessionEvent::Message { topic, payload, .. } = mqtt.next().await {
                let message = Message::parse(&payload, &Limits::default()).unwrap();
                if let Message::Event(e) = &message {
                    if e.version == 2 && !dropped {
                        dropped = true; // lost on the way
                        continue;
                    }
                }
                if matches!(message, Message::Replay(_)) {
                    replays += 1;
                }
                replica.handle(mqtt.now(), &topic, &payload).unwrap();
            }
            if replica.status() == Status::Online && !wrote {
                wrote = true;
                let writer = writer.clone();
                tokio::spawn(async move {
                    for i in 1..=3 {
                        writer
                            .request("tasks", json!({"op": "update", "id": "t1", "update": {"$set": {"n": i}}}))
                            .await
                            .unwrap();
                    }
                });
            }
            let t1 = vmm_protocol::Id::string("t1").unwrap();
            if replica.confirmed("tasks", &t1).map(|(v, _)| v) == Some(4) {
                return;
            }
        }
    })
    .await;
    assert!(
        done.is_ok(),
        "the consumer did not converge (dropped {dropped}, failures {failures_sent}, replays {replays})"
    );
    assert!(dropped, "the test lost an event");
    assert_eq!(failures_sent, 1, "one failure for the gap");
    assert_eq!(replays, 1, "one replay");
    let truth = mongo_view(&world, "tasks").await;
    let mine: Vec<_> =
        replica.list("tasks").into_iter().map(|(id, d)| (id.key(), serde_json::Value::Object(d))).collect();
    assert_eq!(mine, truth);
    bridge.stop().await;
    world.drop_database().await;
}
