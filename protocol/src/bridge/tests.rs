//! The bridge role over the in-memory storage: what each message costs and answers.

use super::*;
use crate::decide::Stored;
use crate::message::{Message, ReplayBody};
use crate::{Code, Id};
use serde_json::json;
use std::sync::Arc;

const T0: u64 = 1_000_000;

fn topics() -> Topics {
    Topics::default()
}

fn bridge_over(storage: Arc<MemoryStorage>) -> Bridge<Arc<MemoryStorage>> {
    Bridge::new(storage, BridgeConfig::default())
}

fn bridge() -> (Bridge<Arc<MemoryStorage>>, Arc<MemoryStorage>) {
    let storage = Arc::new(MemoryStorage::default());
    (bridge_over(storage.clone()), storage)
}

fn request(b: &Bridge<Arc<MemoryStorage>>, client: &str, body: serde_json::Value) -> Handled {
    let mut body = body;
    body["type"] = json!("request");
    body["collection"] = json!("c");
    let payload = serde_json::to_vec(&body).unwrap();
    ready(b.handle(T0, &topics().request(client, "c"), &payload))
}

fn insert(rid: &str, id: &str, doc: serde_json::Value) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": 0, "op": "insert", "doc": doc})
}

fn set(rid: &str, id: &str, base: u64, field: &str, v: i64) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": base, "op": "update", "update": {"$set": {field: v}}})
}

fn published(h: &Handled) -> Vec<(u64, String)> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish(p) => Some((p.event.version, p.event.rid.clone())),
            _ => None,
        })
        .collect()
}

fn replies(h: &Handled) -> Vec<Message> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { payload, .. } => Some(Message::parse(payload, &Limits::default()).unwrap()),
            _ => None,
        })
        .collect()
}

fn reject_code(h: &Handled) -> Option<Code> {
    replies(h).into_iter().find_map(|m| match m {
        Message::Reject(r) => Some(r.code),
        _ => None,
    })
}

fn id(s: &str) -> Id {
    Id::string(s).unwrap()
}

fn total_ops(s: &MemoryStorage) -> u64 {
    s.operations().values().sum()
}

#[test]
fn an_insert_is_recorded_written_and_published_once() {
    let (b, s) = bridge();
    let h = request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    assert_eq!(h.outcome, "applied");
    assert_eq!(published(&h), vec![(1, "r1".to_string())]);
    assert!(replies(&h).is_empty(), "the event goes to the event topic only");
    assert_eq!(s.live("c")[&id("t1").key()].0, 1);
    assert_eq!(s.events("c", &id("t1")).len(), 1);
}

#[test]
fn an_update_on_a_cached_object_costs_three_storage_operations() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    let before = total_ops(&s);
    let h = request(&b, "alice", set("r2", "t1", 1, "n", 2));
    assert_eq!(h.outcome, "applied");
    assert_eq!(total_ops(&s) - before, 3, "claim the rid, record and write: {:?}", s.operations());
}

#[test]
fn a_rid_reused_for_a_different_request_is_refused_and_applies_nothing() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    let h = request(&b, "alice", json!({"rid": "r1", "id": "t1", "base": 1, "op": "delete"}));
    assert_eq!((h.outcome, reject_code(&h)), ("rid_reused", Some(Code::RidReused)));
    assert!(published(&h).is_empty());
    assert_eq!(s.live("c").len(), 1, "not deleted");
    // The first request's copy still gets its outcome, and the rid stays reused for others.
    let copy = request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    assert_eq!(copy.outcome, "duplicate");
    let again = request(&b, "alice", json!({"rid": "r1", "id": "t1", "base": 1, "op": "delete"}));
    assert_eq!(reject_code(&again), Some(Code::RidReused));
    assert_eq!(s.recorded().len(), 1);
}

#[test]
fn a_copy_of_an_applied_request_gets_its_event_on_the_reply_topic_and_changes_nothing() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    request(&b, "alice", set("r2", "t1", 1, "n", 2));
    request(&b, "bob", set("r3", "t1", 2, "n", 3));
    let copy = request(&b, "alice", set("r2", "t1", 1, "n", 2));
    assert_eq!(copy.outcome, "duplicate");
    assert!(published(&copy).is_empty());
    match &replies(&copy)[..] {
        [Message::Event(e)] => assert_eq!((e.version, e.rid.as_str()), (2, "r2")),
        other => panic!("expected the first event again, got {other:?}"),
    }
    assert_eq!(s.events("c", &id("t1")).len(), 3);
    assert_eq!(s.live("c")[&id("t1").key()].0, 3);
}

#[test]
fn a_copy_of_an_applied_merge_request_is_recognised_in_its_history() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"a": 0, "b": 0})));
    request(&b, "bob", set("r2", "t1", 1, "a", 1));
    let merge =
        json!({"rid": "m1", "id": "t1", "base": 1, "op": "update", "update": {"$inc": {"b": 1}}, "policy": "merge"});
    assert_eq!(request(&b, "alice", merge.clone()).outcome, "applied");
    request(&b, "bob", set("r4", "t1", 3, "a", 2));
    let copy = request(&b, "alice", merge);
    assert_eq!(copy.outcome, "duplicate");
    assert_eq!(s.live("c")[&id("t1").key()].1["b"], crate::Value::from(1), "applied once");
}

#[test]
fn a_rejected_request_gets_the_same_reject_again() {
    let (b, _s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": "text"})));
    let bad = json!({"rid": "r2", "id": "t1", "base": 1, "op": "update", "update": {"$inc": {"n": 1}}});
    let first = request(&b, "alice", bad.clone());
    assert_eq!(reject_code(&first), Some(Code::InvalidUpdate));
    request(&b, "bob", set("r3", "t1", 1, "n", 5));
    // The object changed; the answer did not.
    let again = request(&b, "alice", bad);
    assert_eq!((again.outcome, reject_code(&again)), ("duplicate", Some(Code::InvalidUpdate)));
}

#[test]
fn two_bridges_racing_for_one_version_apply_a_request_once() {
    let storage = Arc::new(MemoryStorage::default());
    let (b1, b2) = (bridge_over(storage.clone()), bridge_over(storage.clone()));
    request(&b1, "alice", insert("r1", "t1", json!({"n": 1})));
    request(&b2, "alice", set("r0", "t1", 1, "n", 0)); // b2 caches version 2
    request(&b1, "bob", set("r2", "t1", 2, "n", 5)); // b1 takes version 3; b2's cache is stale
    let h = request(&b2, "carol", set("r3", "t1", 3, "n", 7));
    assert_eq!(h.outcome, "applied", "the stale cache costs a retry, not a conflict");
    let versions: Vec<u64> = published(&h).iter().map(|p| p.0).collect();
    assert_eq!(versions, vec![4]);
    assert_eq!(storage.live("c")[&id("t1").key()].0, 4);
    // A copy of bob's request reaching the second bridge is recognised.
    let copy = request(&b2, "bob", set("r2", "t1", 2, "n", 5));
    assert_eq!(copy.outcome, "duplicate");
}

#[test]
fn an_event_recorded_by_a_bridge_that_died_before_writing_is_rolled_forward_and_published_first() {
    let storage = Arc::new(MemoryStorage::default());
    let b = bridge_over(storage.clone());
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    // Another bridge recorded version 2 and died before writing the object.
    let dead = crate::message::Event {
        collection: "c".into(),
        id: id("t1"),
        prev: 1,
        version: 2,
        client: "bob".into(),
        rid: "rb".into(),
        at: Some(T0),
        change: crate::message::Change::Replace(
            crate::message::document_with_id(json!({"n": 9}), &id("t1"), &Limits::default()).unwrap(),
        ),
    };
    let doc = dead.change.apply(None, &Limits::default()).unwrap();
    ready(storage.record(&LoggedEvent::new(dead, doc))).unwrap();
    let fresh = bridge_over(storage.clone());
    let h = request(&fresh, "alice", set("r2", "t1", 2, "n", 3));
    assert_eq!(h.outcome, "applied");
    let order: Vec<u64> = published(&h).iter().map(|p| p.0).collect();
    assert_eq!(order, vec![1, 2, 3], "the stored version's event again, the rolled-forward one, then the new one");
    assert_eq!(storage.live("c")[&id("t1").key()].0, 3);
}

#[test]
fn a_document_the_database_cannot_store_is_refused_and_records_nothing() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    s.refuse_field(Some("bad"), true);
    let h = request(
        &b,
        "alice",
        json!({"rid": "r2", "id": "t1", "base": 1, "op": "update", "update": {"$set": {"bad": 1}}}),
    );
    assert_eq!(reject_code(&h), Some(Code::Refused));
    assert!(published(&h).is_empty());
    assert_eq!(s.events("c", &id("t1")).len(), 1);
    // The object stays usable at its version, and a copy gets the same answer.
    assert_eq!(request(&b, "alice", set("r3", "t1", 1, "n", 2)).outcome, "applied");
    let copy = request(
        &b,
        "alice",
        json!({"rid": "r2", "id": "t1", "base": 1, "op": "update", "update": {"$set": {"bad": 1}}}),
    );
    assert_eq!((copy.outcome, reject_code(&copy)), ("duplicate", Some(Code::Refused)));
}

#[test]
fn a_write_the_collection_refuses_withdraws_its_event() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    s.refuse_field(Some("dup"), false);
    let h = request(
        &b,
        "alice",
        json!({"rid": "r2", "id": "t1", "base": 1, "op": "update", "update": {"$set": {"dup": 1}}}),
    );
    assert_eq!(reject_code(&h), Some(Code::Refused));
    assert!(published(&h).is_empty());
    assert_eq!(s.events("c", &id("t1")).len(), 1, "the event was withdrawn");
    assert_eq!(s.live("c")[&id("t1").key()].0, 1);
    assert_eq!(request(&b, "bob", set("r3", "t1", 1, "n", 2)).outcome, "applied");
}

#[test]
fn an_unavailable_storage_answers_internal_and_records_nothing() {
    let (b, s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 1})));
    s.set_unavailable(true);
    let fresh = bridge_over(s.clone());
    let h = request(&fresh, "alice", set("r2", "t1", 1, "n", 2));
    assert_eq!(reject_code(&h), Some(Code::Internal));
    assert!(h.error.is_some());
    s.set_unavailable(false);
    assert_eq!(request(&fresh, "alice", set("r2", "t1", 1, "n", 2)).outcome, "applied", "internal is not an outcome");
}

#[test]
fn requests_refused_before_deciding_are_not_recorded() {
    let config = BridgeConfig { served: Served::Only(vec!["other".into()]), ..BridgeConfig::default() };
    let s = Arc::new(MemoryStorage::default());
    let b = Bridge::new(s.clone(), config);
    let h = request(&b, "alice", insert("r1", "t1", json!({})));
    assert_eq!(reject_code(&h), Some(Code::Forbidden));
    assert_eq!(total_ops(&s), 0);
}

fn failure(b: &Bridge<Arc<MemoryStorage>>, version: u64) -> Message {
    let payload = json!({"type": "failure", "collection": "c", "id": "t1", "version": version});
    let h = ready(b.handle(T0, &topics().failure("bob", "c"), &serde_json::to_vec(&payload).unwrap()));
    replies(&h).pop().expect("a replay")
}

#[test]
fn a_failure_is_answered_with_the_missing_events_or_a_snapshot_when_far_behind() {
    let (b, _s) = bridge();
    request(&b, "alice", insert("r1", "t1", json!({"n": 0})));
    for v in 1..=MAX_REPLAY_EVENTS + 1 {
        request(&b, "alice", set(&format!("r{}", v + 1), "t1", v, "n", v as i64));
    }
    let Message::Replay(near) = failure(&b, MAX_REPLAY_EVENTS - 2) else { panic!() };
    let ReplayBody::Events(events) = near.body else { panic!("expected events") };
    assert_eq!(events.len(), 4);
    let Message::Replay(far) = failure(&b, 0) else { panic!() };
    assert!(matches!(far.body, ReplayBody::Snapshot(ref s) if s.version == MAX_REPLAY_EVENTS + 2));
}

#[test]
fn a_collection_loads_page_by_page_within_the_payload_limit() {
    let storage = Arc::new(MemoryStorage::default());
    let config = BridgeConfig {
        limits: Limits { max_payload: Limits::MIN_PAYLOAD, ..Limits::default() },
        ..BridgeConfig::default()
    };
    let b = Bridge::new(storage.clone(), config);
    let big = "x".repeat(20_000);
    for i in 0..10 {
        request(&b, "alice", insert(&format!("r{i}"), &format!("t{i}"), json!({"pad": big})));
    }
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let mut load = json!({"type": "load", "lid": "l1", "collection": "c"});
        if let Some(a) = &after {
            load["after"] = json!(a);
        }
        let h = ready(b.handle(T0, &topics().load("bob", "c"), &serde_json::to_vec(&load).unwrap()));
        let Some(Message::Snapshot(page)) = replies(&h).pop() else { panic!("expected a page") };
        assert!(Message::Snapshot(page.clone()).to_bytes().len() <= Limits::MIN_PAYLOAD);
        seen.extend(page.objects.iter().map(|o| o.id.key()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    seen.sort();
    let want: Vec<String> = (0..10).map(|i| id(&format!("t{i}")).key()).collect();
    assert_eq!(seen, want, "every object once");
}

#[test]
fn a_stored_object_without_events_is_decided_on_as_stored() {
    let (b, s) = bridge();
    let doc = crate::message::document_with_id(json!({"n": 1}), &id("t1"), &Limits::default()).unwrap();
    s.put("c", &id("t1"), Stored { version: 1, doc: Some(doc) });
    let h = request(&b, "alice", set("r1", "t1", 1, "n", 2));
    assert_eq!((h.outcome, published(&h)), ("applied", vec![(2, "r1".to_string())]));
}

#[test]
fn a_request_on_a_topic_with_an_invalid_collection_level_is_answered_malformed_with_its_rid() {
    let (b, s) = bridge();
    let payload =
        json!({"type": "request", "rid": "r9", "collection": "system.users", "id": "t1", "base": 0, "op": "delete"});
    let topic = format!("{}/system.users", topics().request("alice", "x").trim_end_matches("/x"));
    let h = ready(b.handle(T0, &topic, &serde_json::to_vec(&payload).unwrap()));
    match &replies(&h)[..] {
        [Message::Reject(r)] => assert_eq!((r.code, r.rid.as_deref()), (Code::Malformed, Some("r9"))),
        other => panic!("expected a malformed reject, got {other:?}"),
    }
    assert!(matches!(&h.effects[0], Effect::Reply { topic, .. } if *topic == topics().reply("alice")));
    assert_eq!(total_ops(&s), 0);
    // A topic without a readable client gets no answer: there is nowhere to send one.
    let h = ready(b.handle(T0, "vmm/v1/req/al ice/tasks", b"{}"));
    assert!(h.effects.is_empty());
}

#[test]
fn a_load_without_limit_gets_pages_of_the_default_size() {
    let (b, _s) = bridge();
    for i in 0..DEFAULT_PAGE_SIZE + 5 {
        request(&b, "alice", insert(&format!("r{i}"), &format!("t{i:04}"), json!({})));
    }
    let load = json!({"type": "load", "lid": "l1", "collection": "c"});
    let h = ready(b.handle(T0, &topics().load("bob", "c"), &serde_json::to_vec(&load).unwrap()));
    let Some(Message::Snapshot(page)) = replies(&h).pop() else { panic!("expected a page") };
    assert_eq!(page.objects.len(), DEFAULT_PAGE_SIZE as usize);
    assert_eq!(page.next, Some(id(&format!("t{:04}", DEFAULT_PAGE_SIZE - 1)).key()));
}

#[test]
fn a_versions_load_lists_ids_and_versions_in_pages_that_fit_the_payload() {
    let (b, _s) = bridge();
    // Ids of 200 characters: 4,000 entries of some 230 bytes would not fit 256 KiB.
    let long = |i: usize| format!("{i:04}{}", "x".repeat(196));
    for i in 0..1_500 {
        request(&b, "alice", insert(&format!("r{i}"), &long(i), json!({"pad": "y".repeat(500)})));
    }
    let mut listed = Vec::new();
    let mut after = None;
    for n in 0.. {
        assert!(n < 10, "too many pages");
        let mut load = json!({"type": "load", "lid": format!("l{n}"), "collection": "c", "versions": true});
        if let Some(a) = &after {
            load["after"] = json!(a);
        }
        let payload = serde_json::to_vec(&load).unwrap();
        let h = ready(b.handle(T0, &topics().load("bob", "c"), &payload));
        let Some(Effect::Reply { payload, .. }) = h.effects.first() else { panic!("expected a page") };
        assert!(payload.len() <= Limits::default().max_payload, "a page of {} bytes", payload.len());
        let Some(Message::Snapshot(page)) = replies(&h).pop() else { panic!("expected a page") };
        assert!(page.objects.is_empty(), "a versions page carries no documents");
        listed.extend(page.versions.unwrap().into_iter().map(|v| (v.id.key(), v.version)));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    let want: Vec<(String, u64)> = (0..1_500).map(|i| (id(&long(i)).key(), 1)).collect();
    assert_eq!(listed, want, "every live object once, in id order, at its version");
}

#[test]
fn a_load_of_many_ids_of_a_large_object_is_answered_in_pages_that_each_fit() {
    let (b, s) = bridge();
    let big = "x".repeat(200_000);
    request(&b, "alice", insert("r1", "t1", json!({"pad": big})));
    request(&b, "alice", insert("r2", "t2", json!({"n": 2})));
    let mut ids = vec![json!("t1"); 99];
    ids.push(json!("t2"));
    let (mut after, mut states, mut pages) = (None::<String>, Vec::new(), 0);
    loop {
        let mut load = json!({"type": "load", "lid": "l1", "collection": "c", "ids": ids});
        if let Some(a) = &after {
            load["after"] = json!(a);
        }
        let before = total_ops(&s);
        let h = ready(b.handle(T0, &topics().load("bob", "c"), &serde_json::to_vec(&load).unwrap()));
        assert!(total_ops(&s) - before <= 4, "a page reads what it sends, not the whole load");
        let [Effect::Reply { payload, .. }] = &h.effects[..] else { panic!("expected one page: {:?}", h.effects) };
        assert!(payload.len() <= Limits::default().max_payload, "page of {} bytes", payload.len());
        let Message::Snapshot(page) = Message::parse(payload, &Limits::default()).unwrap() else { panic!() };
        pages += 1;
        states.extend(page.objects.into_iter().map(|o| (o.id.key(), o.version)));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(pages, 99, "one page per copy of the large object, the small one shares the last");
    let want: Vec<(String, u64)> = ids.iter().map(|i| (Id::from_value(i).unwrap().key(), 1)).collect();
    assert_eq!(states, want, "one state per requested id, in request order");
}

#[test]
fn a_load_of_ids_with_a_cursor_that_is_not_a_position_of_its_ids_is_not_answered() {
    let (b, _s) = bridge();
    for after in ["i:0", "i:2", "s:t1", "i:x"] {
        let load = json!({"type": "load", "lid": "l1", "collection": "c", "ids": ["t1", "t2"], "after": after});
        let h = ready(b.handle(T0, &topics().load("bob", "c"), &serde_json::to_vec(&load).unwrap()));
        assert!(h.effects.is_empty() && h.outcome == "ignored", "{after}: {h:?}");
    }
}
