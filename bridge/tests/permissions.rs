//! Permissions against the real services: a bridge with a permissions file (docs/BRIDGE.md
//! "Permissions") refuses what the file does not grant, keeps objects to their owners and
//! documents to their schema, and writes nothing when it refuses. The identity is the `{client}`
//! topic level (here on the anonymous broker: the bridge-side rules do not depend on the ACL).

mod common;

use common::{raw_exchange, raw_exchange_until, World};
use serde_json::{json, Value};
use std::path::PathBuf;

/// The rules of docs/examples/permissions.toml, for this world's identities: tasks owned by
/// their inserter (admins override), notes read-only, anything else denied. carol is an admin.
fn permissions(world: &World) -> PathBuf {
    let p = &world.prefix;
    let text = format!(
        r#"
default = "deny"
[roles]
admin = ["{p}-carol"]
[collections.tasks]
insert = ["*"]
update = ["owner", "@admin"]
replace = ["owner", "@admin"]
delete = ["owner", "@admin"]
read = ["*"]
owner_field = "owner"
owner_override = ["@admin"]
[collections.tasks.schema]
type = "object"
required = ["title"]
properties = {{ title = {{ type = "string" }} }}
[collections.notes]
read = ["*"]
"#
    );
    let path = std::env::temp_dir().join(format!("{p}-permissions.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

async fn start(world: &World) -> common::Bridge {
    let mut args = world.args("b1");
    let path = permissions(world);
    args.extend(["--permissions".to_string(), path.display().to_string()]);
    let bridge = world.start_bridge_with(vmm_bridge::Config::load_from(args).unwrap()).await;
    // Read once serving: the file is no longer needed.
    let _ = std::fs::remove_file(path);
    bridge
}

fn request(collection: &str, rid: &str, base: u64, change: Value) -> Vec<u8> {
    let mut r = json!({"type": "request", "rid": rid, "collection": collection, "id": "t1", "base": base});
    r.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
    serde_json::to_vec(&r).unwrap()
}

/// Sends one request as `client` and returns its answer: the event of this request, or the
/// reject.
async fn answer(world: &World, client: &str, collection: &str, payload: Vec<u8>) -> Value {
    let rid = serde_json::from_slice::<Value>(&payload).unwrap()["rid"].clone();
    let got = raw_exchange_until(world, client, collection, vec![payload], |got| {
        got.last().is_some_and(|(_, m)| m["rid"] == rid)
    })
    .await;
    got.last().unwrap().1.clone()
}

/// The stored version of tasks/t1 and the number of events in the log.
async fn written(world: &World) -> (Option<i64>, usize) {
    let stored = world.stored("tasks").await;
    let version = stored.first().map(|d| d.get("_vmm_v").and_then(|v| v.as_i64()).expect("_vmm_v"));
    (version, world.events().await.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_belongs_to_its_inserter_and_only_it_or_an_admin_may_change_it() {
    let world = World::new("perm_owner").await;
    let bridge = start(&world).await;
    let alice = format!("{}-alice", world.prefix);

    let event =
        answer(&world, "alice", "tasks", request("tasks", "a1", 0, json!({"op": "insert", "doc": {"title": "milk"}})))
            .await;
    assert_eq!(event["type"], "event", "{event}");
    assert_eq!(event["doc"]["owner"], alice.as_str(), "the event carries the owner the bridge set: {event}");
    let stored = world.stored("tasks").await;
    assert_eq!(stored[0].get_str("owner").unwrap(), alice, "{stored:?}");

    let before = written(&world).await;
    assert_eq!(before, (Some(1), 1));
    for (op, change) in [
        ("update", json!({"op": "update", "update": {"$set": {"title": "stolen"}}})),
        ("replace", json!({"op": "replace", "doc": {"title": "stolen"}})),
        ("delete", json!({"op": "delete"})),
    ] {
        let reject = answer(&world, "bob", "tasks", request("tasks", &format!("b-{op}"), 1, change)).await;
        assert_eq!(reject["type"], "reject", "{op}: {reject}");
        assert_eq!(reject["code"], "forbidden", "{op}: {reject}");
        let expected = format!("{}-bob may not {op} in tasks: owner is \"{alice}\"", world.prefix);
        assert_eq!(reject["message"], expected.as_str());
        assert_eq!(written(&world).await, before, "{op}: nothing written");
    }
    // alice may not hand her object to bob; carol (an admin) may.
    let give = json!({"op": "update", "update": {"$set": {"owner": "someone"}}});
    let reject = answer(&world, "alice", "tasks", request("tasks", "a2", 1, give.clone())).await;
    assert_eq!((reject["code"].as_str(), reject["path"].as_str()), (Some("forbidden"), Some("doc.owner")), "{reject}");
    assert_eq!(written(&world).await, before);

    let event = answer(
        &world,
        "alice",
        "tasks",
        request("tasks", "a3", 1, json!({"op": "update", "update": {"$set": {"title": "eggs"}}})),
    )
    .await;
    assert_eq!((event["type"].as_str(), event["version"].as_u64()), (Some("event"), Some(2)), "{event}");
    let event = answer(&world, "carol", "tasks", request("tasks", "c1", 2, give)).await;
    assert_eq!((event["type"].as_str(), event["version"].as_u64()), (Some("event"), Some(3)), "{event}");
    let event = answer(&world, "carol", "tasks", request("tasks", "c2", 3, json!({"op": "delete"}))).await;
    assert_eq!((event["type"].as_str(), event["version"].as_u64()), (Some("event"), Some(4)), "{event}");
    // Deleted: gone from the collection (its tombstone is elsewhere), four events logged.
    assert_eq!(written(&world).await, (None, 4));
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_and_collections_not_granted_are_forbidden_and_write_nothing() {
    let world = World::new("perm_grants").await;
    let bridge = start(&world).await;
    let cases = [
        ("notes", json!({"op": "insert", "doc": {"text": "hi"}}), "insert in notes: insert is granted to nobody"),
        ("notes", json!({"op": "delete"}), "delete in notes: delete is granted to nobody"),
        (
            "elsewhere",
            json!({"op": "insert", "doc": {}}),
            "insert in elsewhere: the collection is not in the permissions",
        ),
    ];
    for (i, (collection, change, why)) in cases.into_iter().enumerate() {
        let got =
            raw_exchange(&world, "alice", collection, vec![request(collection, &format!("r{i}"), 0, change)], 1).await;
        let reject = &got[0].1;
        assert_eq!(reject["code"], "forbidden", "{reject}");
        assert_eq!(reject["message"], format!("{}-alice may not {why}", world.prefix).as_str());
    }
    assert!(world.events().await.is_empty(), "nothing was recorded");
    assert!(world.stored("notes").await.is_empty() && world.stored("elsewhere").await.is_empty());
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_failing_its_collections_schema_is_invalid_with_its_path() {
    let world = World::new("perm_schema").await;
    let bridge = start(&world).await;
    let reject =
        answer(&world, "alice", "tasks", request("tasks", "a1", 0, json!({"op": "insert", "doc": {"title": 5}}))).await;
    assert_eq!(
        (reject["code"].as_str(), reject["path"].as_str()),
        (Some("invalid_document"), Some("doc.title")),
        "{reject}"
    );
    assert_eq!(written(&world).await, (None, 0), "nothing written");

    let event =
        answer(&world, "alice", "tasks", request("tasks", "a2", 0, json!({"op": "insert", "doc": {"title": "milk"}})))
            .await;
    assert_eq!(event["type"], "event", "{event}");
    // An update is checked on the document it would leave.
    let unset = json!({"op": "update", "update": {"$unset": {"title": true}}});
    let reject = answer(&world, "alice", "tasks", request("tasks", "a3", 1, unset)).await;
    assert_eq!((reject["code"].as_str(), reject["path"].as_str()), (Some("invalid_document"), Some("doc")), "{reject}");
    assert!(reject["message"].as_str().unwrap().contains("title"), "{reject}");
    assert_eq!(written(&world).await, (Some(1), 1), "nothing written");
    bridge.stop().await;
    world.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_see_the_owner_the_bridge_set_and_roll_back_a_forbidden_change() {
    let world = World::new("perm_clients").await;
    let bridge = start(&world).await;
    let alice = world.watching_client("alice", "tasks").await;
    let bob = world.watching_client("bob", "tasks").await;
    let id = vmm_protocol::Id::string("t1").unwrap();
    let owner = format!("{}-alice", world.prefix);

    alice.request("tasks", json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})).await.unwrap();
    for (who, client) in [("alice", &alice), ("bob", &bob)] {
        let seen =
            client.wait_for(common::WAIT, |r| r.get("tasks", &id).is_some_and(|d| d["owner"] == owner.as_str())).await;
        assert!(seen, "{who} sees the owner: {:?}", client.get("tasks", &id));
    }
    let e = bob.request("tasks", json!({"op": "update", "id": "t1", "update": {"$set": {"title": "mine"}}})).await;
    let e = e.expect_err("bob may not change alice's task");
    assert_eq!(e.code, vmm_protocol::Code::Forbidden, "{}", e.message);
    assert_eq!(bob.get("tasks", &id).unwrap()["title"], "milk", "rolled back in bob's view");
    assert_eq!(bob.pending_count(), 0);
    alice.disconnect().await;
    bob.disconnect().await;
    bridge.stop().await;
    world.drop_database().await;
}
