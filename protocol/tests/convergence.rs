//! Property tests on the in-memory world: whatever the network does (duplicate, reorder, drop,
//! disconnect), every replica converges to the bridge's state, every pending change is resolved
//! exactly once, and every request is applied at most once.

mod sim;

use proptest::prelude::*;
use serde_json::json;
use sim::{World, COLLECTION};
use std::collections::HashSet;
use vmm_protocol::message::ObjectState;
use vmm_protocol::replica::{Config, Replica, Resync};
use vmm_protocol::{Code, Id};

#[derive(Debug, Clone)]
enum Op {
    Edit { replica: usize, object: u8, kind: u8, n: i64, merge: bool },
    Deliver(usize),
    Duplicate(usize),
    Drop(usize),
    Tick(u64),
    Reconnect(usize),
}

fn op(replicas: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..replicas, 0u8..3, 0u8..8, -3i64..4, any::<bool>())
            .prop_map(|(replica, object, kind, n, merge)| Op::Edit { replica, object, kind, n, merge }),
        14 => any::<usize>().prop_map(Op::Deliver),
        3 => any::<usize>().prop_map(Op::Duplicate),
        2 => any::<usize>().prop_map(Op::Drop),
        2 => (1u64..20_000).prop_map(Op::Tick),
        1 => (0..replicas).prop_map(Op::Reconnect),
    ]
}

/// A change that makes sense for what the replica shows.
fn edit(world: &mut World, replica: usize, object: u8, kind: u8, n: i64, merge: bool) {
    let id = format!("o{object}");
    let exists = world.replicas[replica].get(COLLECTION, &Id::string(id.clone()).unwrap()).is_some();
    let policy = if merge { "merge" } else { "strict" };
    let op = if !exists {
        json!({"op": "insert", "id": id, "doc": {"n": n, "tags": []}})
    } else {
        match kind {
            0 => json!({"op": "update", "id": id, "update": {"$set": {"n": n}}, "policy": policy}),
            1 => json!({"op": "update", "id": id, "update": {"$inc": {"count": n}}, "policy": policy}),
            2 => json!({"op": "update", "id": id, "update": {"$push": {"tags": n}}, "policy": policy}),
            3 => json!({"op": "update", "id": id, "update": {"$pull": {"tags": n}}, "policy": policy}),
            4 => {
                json!({"op": "update", "id": id, "update": {"$set": {format!("f{}", n.rem_euclid(3)): n}}, "policy": policy})
            }
            5 => json!({"op": "replace", "id": id, "doc": {"n": n, "tags": [n]}}),
            6 => json!({"op": "delete", "id": id}),
            _ => {
                json!({"op": "update", "id": id, "update": {"$set": {"deep.a": n}, "$unset": {"gone": 1}}, "policy": policy})
            }
        }
    };
    world.request(replica, op);
}

fn run(replicas: usize, keep_history: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut world = World::new(replicas, keep_history, 2);
    for i in 0..replicas {
        world.connect(i);
    }
    world.settle();
    for op in ops {
        match op {
            Op::Edit { replica, object, kind, n, merge } => edit(&mut world, replica, object, kind, n, merge),
            Op::Deliver(i) => world.deliver(i),
            Op::Duplicate(i) => world.duplicate(i),
            Op::Drop(i) => world.drop_packet(i),
            Op::Tick(ms) => world.tick(ms),
            Op::Reconnect(i) => world.reconnect(i),
        }
    }
    world.settle();

    // Every pending change was resolved, exactly once.
    for (i, ledger) in world.ledgers.iter().enumerate() {
        prop_assert!(ledger.resolved_twice.is_empty(), "replica {i} resolved {:?} twice", ledger.resolved_twice);
        prop_assert_eq!(world.replicas[i].pending_count(), 0, "replica {} still has pending changes", i);
        for rid in &ledger.requested {
            prop_assert!(
                ledger.confirmed.contains_key(rid) || ledger.rolled_back.contains_key(rid),
                "replica {i}: {rid} was never resolved"
            );
        }
    }

    // Every request was applied at most once, and the ledgers agree with the bridge's log.
    let mut applied = HashSet::new();
    for events in world.bridge.log().values() {
        for (n, e) in events.iter().enumerate() {
            prop_assert_eq!(e.version, n as u64 + 1, "versions are contiguous");
            prop_assert!(applied.insert((e.client.clone(), e.rid.clone())), "{} applied twice", e.rid);
        }
    }
    let kept: HashSet<(String, String)> = world
        .bridge
        .storage
        .objects(COLLECTION)
        .iter()
        .flat_map(|(id, _)| world.bridge.storage.events(COLLECTION, id))
        .map(|e| (e.client, e.rid))
        .collect();
    let pruned: HashSet<(String, String)> = applied.difference(&kept).cloned().collect();
    for (i, ledger) in world.ledgers.iter().enumerate() {
        let client = World::client(i);
        for rid in ledger.confirmed.keys() {
            prop_assert!(applied.contains(&(client.clone(), rid.clone())), "{rid} confirmed but never applied");
        }
        for (rid, code) in &ledger.rolled_back {
            // A copy of an applied request that arrives after its event was pruned is decided
            // afresh and rejected (§9: its outcome was forgotten); never otherwise.
            if !pruned.contains(&(client.clone(), rid.clone())) {
                prop_assert!(
                    !applied.contains(&(client.clone(), rid.clone())),
                    "{rid} rolled back ({code}) but applied"
                );
            }
        }
    }

    // Gaps were filled by replays: a replica that received an object's last event holds it.
    for i in 0..replicas {
        for (id, stored) in world.bridge.storage.objects(COLLECTION) {
            let key = id.key();
            if world.delivered_events[i].contains(&(key.clone(), stored.version)) {
                let id = &id;
                let held = world.replicas[i].confirmed(COLLECTION, id).map(|(v, _)| v);
                prop_assert_eq!(held, Some(stored.version), "replica {} is behind on {}", i, key);
            }
        }
    }

    // After a reconnect (a resync), every replica holds exactly what the bridge stores.
    for i in 0..replicas {
        world.reconnect(i);
    }
    world.settle();
    let truth = world.bridge_state();
    for i in 0..replicas {
        prop_assert_eq!(&world.replica_state(i), &truth, "replica {} diverged", i);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_under_any_delivery_order(ops in prop::collection::vec(op(3), 0..120)) {
        run(3, usize::MAX, ops)?;
    }

    #[test]
    fn replicas_converge_when_the_history_is_truncated(ops in prop::collection::vec(op(2), 0..120)) {
        run(2, 1, ops)?;
    }
}

#[test]
fn two_replicas_editing_the_same_object_converge() {
    let mut world = World::new(2, usize::MAX, 2);
    world.connect(0);
    world.connect(1);
    world.settle();
    world.request(0, json!({"op": "insert", "id": "t", "doc": {"n": 1}}));
    world.settle();
    world.request(0, json!({"op": "update", "id": "t", "update": {"$set": {"n": 2}}}));
    world.request(1, json!({"op": "update", "id": "t", "update": {"$set": {"n": 3}}}));
    world.settle();
    let truth = world.bridge_state();
    assert_eq!(world.replica_state(0), truth);
    assert_eq!(world.replica_state(1), truth);
    // Exactly one of the two concurrent changes won; the other was rolled back as a conflict.
    let conflicts: usize =
        world.ledgers.iter().map(|l| l.rolled_back.values().filter(|c| **c == Code::Conflict).count()).sum();
    assert_eq!(conflicts, 1);
}

/// A replica restored from the states it kept (a mirror, a store that persists its data)
/// resyncs by versions (§12.4): it ends equal to the bridge having fetched only what changed,
/// and it drops what was deleted meanwhile.
#[test]
fn a_restored_replica_resyncing_by_versions_fetches_only_what_changed() {
    let mut world = World::new(2, usize::MAX, 3);
    world.connect(0);
    world.connect(1);
    world.settle();
    for n in 0..7 {
        world.request(0, json!({"op": "insert", "id": format!("o{n}"), "doc": {"n": n}}));
    }
    world.settle();
    let kept: Vec<ObjectState> = world.replicas[1]
        .list(COLLECTION)
        .into_iter()
        .map(|(id, doc)| {
            let version = world.replicas[1].confirmed(COLLECTION, &id).unwrap().0;
            ObjectState { id, version, doc: Some(doc) }
        })
        .collect();
    assert_eq!(kept.len(), 7);

    // While the copy is away: two changes, a deletion, a new object.
    world.request(0, json!({"op": "update", "id": "o1", "update": {"$set": {"n": 10}}}));
    world.request(0, json!({"op": "update", "id": "o4", "update": {"$inc": {"n": 1}}}));
    world.request(0, json!({"op": "delete", "id": "o5"}));
    world.request(0, json!({"op": "insert", "id": "o9", "doc": {"n": 9}}));
    world.settle();

    for (resync, fetched) in [(Resync::Versions, 3), (Resync::Documents, 7)] {
        let mut config = Config::new("client1", "q1").unwrap();
        config.resync = resync;
        let mut copy = Replica::new(config);
        assert_eq!(copy.restore(COLLECTION, kept.clone()), 7);
        copy.watch_collection(world.now, COLLECTION).unwrap();
        world.replicas[1] = copy;
        world.connect(1);
        world.settle();
        assert_eq!(world.replica_state(1), world.bridge_state(), "{resync:?}: equal to the bridge");
        let counts = world.replicas[1].load_counts();
        assert_eq!(counts.states, fetched, "{resync:?}: states fetched");
        let listed = if resync == Resync::Versions { 7 } else { 0 };
        assert_eq!(counts.versions, listed, "{resync:?}: versions listed");
    }
}
