//! The replica's rules that the conformance vectors do not script: following an object before
//! changing it, and timers whose cost follows what is in flight.

use super::*;
use serde_json::json;

fn online(collections: &[&str]) -> Replica {
    let mut replica = Replica::new(Config::new("alice", "s1").unwrap());
    for c in collections {
        replica.watch_collection(0, c).unwrap();
    }
    replica.connected(0);
    while let Some(load) = replica.poll_transmit() {
        let lid = serde_json::from_slice::<Value>(&load.payload).unwrap()["lid"].clone();
        let collection = serde_json::from_slice::<Value>(&load.payload).unwrap()["collection"].clone();
        let page = json!({"type": "snapshot", "lid": lid, "collection": collection, "objects": [], "next": null});
        replica.handle(1, "vmm/v1/reply/alice", page.to_string().as_bytes()).unwrap();
    }
    assert_eq!(replica.status(), Status::Online);
    replica
}

fn sent_topics(replica: &mut Replica) -> Vec<String> {
    std::iter::from_fn(|| replica.poll_transmit()).map(|t| t.topic).collect()
}

#[test]
fn a_change_of_an_unfollowed_object_waits_for_its_subscription() {
    let mut replica = online(&["tasks"]);
    let rid = replica.request(2, "notes", json!({"op": "insert", "id": "n1", "doc": {"x": 1}})).unwrap();
    assert!(replica.get("notes", &Id::string("n1").unwrap()).is_some(), "shown at once");
    assert_eq!(replica.poll_follow(), Some(("notes".to_string(), Id::string("n1").unwrap())));
    assert_eq!(replica.poll_follow(), None, "asked once");
    assert!(sent_topics(&mut replica).is_empty(), "nothing is sent before the subscription is held");

    replica.watch_object(3, "notes", &Id::string("n1").unwrap()).unwrap();
    let topics = sent_topics(&mut replica);
    assert!(topics.contains(&"vmm/v1/req/alice/notes".to_string()), "sent once followed: {topics:?}");
    let event = json!({"type": "event", "collection": "notes", "id": "n1", "prev": 0, "version": 1,
        "client": "alice", "rid": rid, "op": "insert", "doc": {"_id": "n1", "x": 1}});
    replica.handle(4, "vmm/v1/evt/notes/s:n1", event.to_string().as_bytes()).unwrap();
    assert_eq!(replica.pending_count(), 0);
}

#[test]
fn a_change_of_a_followed_object_asks_for_no_subscription() {
    let mut replica = online(&["tasks"]);
    replica.request(2, "tasks", json!({"op": "insert", "id": "t1", "doc": {}})).unwrap();
    assert_eq!(replica.poll_follow(), None);
    assert_eq!(sent_topics(&mut replica), vec!["vmm/v1/req/alice/tasks".to_string()]);
}

#[test]
fn offline_a_follow_is_asked_and_the_change_goes_out_after_the_resync() {
    let mut replica = Replica::new(Config::new("alice", "s1").unwrap());
    replica.request(0, "notes", json!({"op": "insert", "id": "n1", "doc": {}})).unwrap();
    let (collection, id) = replica.poll_follow().unwrap();
    replica.watch_object(0, &collection, &id).unwrap();
    assert!(replica.subscriptions().contains(&"vmm/v1/evt/notes/s:n1".to_string()));
    replica.connected(1);
    let load = replica.poll_transmit().unwrap();
    assert_eq!(load.topic, "vmm/v1/load/alice/notes");
    let lid = serde_json::from_slice::<Value>(&load.payload).unwrap()["lid"].clone();
    let page = json!({"type": "snapshot", "lid": lid, "collection": "notes", "objects": [], "next": null});
    replica.handle(2, "vmm/v1/reply/alice", page.to_string().as_bytes()).unwrap();
    assert_eq!(sent_topics(&mut replica), vec!["vmm/v1/req/alice/notes".to_string()]);
}

#[test]
fn timers_follow_what_is_in_flight_and_forget_what_is_settled() {
    let mut replica = online(&["tasks"]);
    assert_eq!(replica.poll_timeout(), None, "nothing in flight, no timer");
    let rid = replica.request(10, "tasks", json!({"op": "insert", "id": "t1", "doc": {}})).unwrap();
    let _ = sent_topics(&mut replica);
    assert_eq!(replica.poll_timeout(), Some(10 + replica.config().resend_after));
    replica.handle_timeout(10 + replica.config().resend_after);
    assert_eq!(sent_topics(&mut replica), vec!["vmm/v1/req/alice/tasks".to_string()], "resent when due");
    let event = json!({"type": "event", "collection": "tasks", "id": "t1", "prev": 0, "version": 1,
        "client": "alice", "rid": rid, "op": "insert", "doc": {"_id": "t1"}});
    replica.handle(20_001, "vmm/v1/evt/tasks/s:t1", event.to_string().as_bytes()).unwrap();
    assert_eq!(replica.poll_timeout(), None, "a confirmed change leaves no timer");
    replica.handle_timeout(30_000);
    assert!(replica.active.is_empty(), "the settled object left the timer set");
    assert_eq!(replica.pending_count(), 0);
}

#[test]
fn a_paged_load_of_ids_asks_for_the_next_page_with_the_same_ids_and_the_cursor() {
    let mut replica = Replica::new(Config::new("alice", "s1").unwrap());
    for n in ["n1", "n2"] {
        replica.watch_object(0, "notes", &Id::string(n).unwrap()).unwrap();
    }
    replica.connected(1);
    let first = replica.poll_transmit().unwrap();
    let load: Value = serde_json::from_slice(&first.payload).unwrap();
    assert_eq!((load["ids"].clone(), load.get("after")), (json!(["n1", "n2"]), None), "{load}");
    let state = |id: &str| json!({"id": id, "version": 1, "doc": {"_id": id}});
    let page =
        json!({"type": "snapshot", "lid": load["lid"], "collection": "notes", "objects": [state("n1")], "next": "i:1"});
    replica.handle(2, "vmm/v1/reply/alice", page.to_string().as_bytes()).unwrap();
    assert_eq!(replica.status(), Status::Resyncing, "the load is not over");
    let second: Value = serde_json::from_slice(&replica.poll_transmit().unwrap().payload).unwrap();
    assert_eq!((second["ids"].clone(), second["after"].clone()), (json!(["n1", "n2"]), json!("i:1")), "{second}");
    let page = json!({"type": "snapshot", "lid": second["lid"], "collection": "notes", "objects": [state("n2")], "next": null});
    replica.handle(3, "vmm/v1/reply/alice", page.to_string().as_bytes()).unwrap();
    assert_eq!(replica.status(), Status::Online);
    for n in ["n1", "n2"] {
        assert!(replica.get("notes", &Id::string(n).unwrap()).is_some(), "{n} loaded");
    }
}
