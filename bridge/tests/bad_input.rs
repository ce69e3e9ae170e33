//! Bad input against the real services: a precise reject, nothing written, the bridge serves on.

mod common;

use common::{raw_exchange, World};
use serde_json::json;

fn request(rid: &str, extra: serde_json::Value) -> Vec<u8> {
    let mut r = json!({"type": "request", "rid": rid, "collection": "tasks", "id": "t1", "base": 0});
    r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    serde_json::to_vec(&r).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_rejects_write_nothing_and_the_bridge_keeps_serving() {
    let world = World::new("bad").await;
    let mut args = world.args("b1");
    args.extend(["--collections".to_string(), "tasks,notes".to_string()]);
    let bridge = world.start_bridge_with(vmm_bridge::Config::load_from(args).unwrap()).await;

    let mut deep = json!({});
    for _ in 0..40 {
        deep = json!({"a": deep});
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not JSON", b"{oops".to_vec(), "malformed"),
        ("unknown type", br#"{"type": "upsert", "rid": "x"}"#.to_vec(), "malformed"),
        ("wrong field type", request("r1", json!({"op": "delete", "base": "zero"})), "malformed"),
        ("unknown field", request("r2", json!({"op": "delete", "sudo": true})), "malformed"),
        ("oversize payload", request("r3", json!({"op": "insert", "doc": {"big": "x".repeat(300_000)}})), "too_large"),
        (
            "where operator",
            request("r4", json!({"op": "update", "update": {"$where": "sleep(100)"}})),
            "invalid_update",
        ),
        (
            "function operator",
            request("r5", json!({"op": "update", "update": {"$set": {"a": {"$function": {}}}}})),
            "invalid_document",
        ),
        ("expr operator", request("r6", json!({"op": "update", "update": {"$expr": {}}})), "invalid_update"),
        ("dollar key", request("r7", json!({"op": "insert", "doc": {"$gt": 1}})), "invalid_document"),
        ("empty key", request("r8", json!({"op": "insert", "doc": {"": 1}})), "invalid_document"),
        ("dotted key", request("r9", json!({"op": "insert", "doc": {"a.b": 1}})), "invalid_document"),
        ("deep nesting", request("r10", json!({"op": "insert", "doc": deep})), "invalid_document"),
        // Strict JSON (PROTOCOL §4): a key given twice is malformed wherever it is, never "the
        // last one wins" (other parsers keep the first: the bridge and a consumer would disagree).
        (
            "op given twice",
            br#"{"type":"request","rid":"d1","collection":"tasks","id":"t1","base":0,"op":"insert","doc":{},"op":"delete"}"#.to_vec(),
            "malformed",
        ),
        (
            "rid given twice",
            br#"{"type":"request","rid":"d2","rid":"d3","collection":"tasks","id":"t1","base":0,"op":"delete"}"#.to_vec(),
            "malformed",
        ),
        (
            "a document key given twice",
            br#"{"type":"request","rid":"d4","collection":"tasks","id":"t1","base":0,"op":"insert","doc":{"role":"user","role":"admin"}}"#.to_vec(),
            "malformed",
        ),
    ];
    for (what, payload, code) in cases {
        let got = raw_exchange(&world, "mallory", "tasks", vec![payload], 1).await;
        let (topic, reject) = &got[0];
        assert!(topic.contains("/reply/"), "{what}: {topic}");
        assert_eq!(reject["type"], "reject", "{what}: {reject}");
        assert_eq!(reject["code"], code, "{what}: {reject}");
        assert!(!reject["message"].as_str().unwrap().is_empty(), "{what}");
    }
    // A collection the bridge does not serve.
    let other = serde_json::to_vec(
        &json!({"type": "request", "rid": "r11", "collection": "secrets", "id": "t1", "base": 0, "op": "delete"}),
    )
    .unwrap();
    let got = raw_exchange(&world, "mallory", "secrets", vec![other], 1).await;
    assert_eq!(got[0].1["code"], "forbidden");
    // A request whose collection differs from its topic's.
    let lying = request("r12", json!({"op": "delete"}));
    let got = raw_exchange(&world, "mallory", "notes", vec![lying], 1).await;
    assert_eq!(got[0].1["code"], "malformed");

    // Collection names no driver can address (PROTOCOL §3.4), on a topic level of their own.
    for (n, name) in ["a..b", "x.", "vmm_events"].into_iter().enumerate() {
        let rid = format!("c{n}");
        let bad = serde_json::to_vec(
            &json!({"type": "request", "rid": rid, "collection": name, "id": "t1", "base": 0, "op": "delete"}),
        )
        .unwrap();
        let got = raw_exchange(&world, "mallory", name, vec![bad], 1).await;
        assert_eq!(got[0].1["type"], "reject", "{name}: {:?}", got);
        assert_eq!(got[0].1["code"], "malformed", "{name}: {:?}", got);
    }

    assert!(world.events().await.is_empty(), "nothing was recorded");
    assert!(world.stored("tasks").await.is_empty(), "nothing was written");

    // And the bridge still serves.
    let good = request("ok", json!({"op": "insert", "doc": {"fine": true}}));
    let got = raw_exchange(&world, "mallory", "tasks", vec![good], 1).await;
    assert_eq!(got[0].1["type"], "event", "{:?}", got);
    bridge.stop().await;
    world.drop_database().await;
}
