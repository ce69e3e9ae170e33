//! Permissions over the in-memory storage: who may do what, the owner field, schemas.

use super::*;
use crate::bridge::{ready, Bridge, BridgeConfig, Effect, Handled, MemoryStorage};
use crate::message::{Message, Reject};
use crate::topic::Topics;
use crate::Id;
use serde_json::json;

const T0: u64 = 1_000_000;

type B = Bridge<Arc<MemoryStorage>>;

/// `title` must be a string: enough of a schema to see where it is called.
#[derive(Debug)]
struct TitleIsText;

impl Schema for TitleIsText {
    fn check(&self, doc: &Document) -> Result<(), Violation> {
        match doc.get("title") {
            Some(Value::String(_)) => Ok(()),
            _ => Err(Violation::invalid_document("\"title\" must be a string").at("title")),
        }
    }
}

fn grants(list: &[&str]) -> Vec<Grant> {
    list.iter().map(|g| Grant::parse(g).unwrap()).collect()
}

/// tasks: anyone inserts and reads, the owner (or @admin) changes; notes: read-only; unlisted
/// collections: denied. alice is an admin.
fn example() -> Rules {
    let tasks = CollectionRules {
        insert: grants(&["*"]),
        update: grants(&["owner"]),
        replace: grants(&["owner"]),
        delete: grants(&["owner", "@admin"]),
        read: grants(&["*"]),
        owner_field: Some("owner".into()),
        owner_override: grants(&["@admin"]),
        schema: Some(Arc::new(TitleIsText)),
    };
    let notes = CollectionRules { read: grants(&["*"]), ..CollectionRules::default() };
    let roles = BTreeMap::from([("admin".to_string(), vec!["alice".to_string()])]);
    let collections = BTreeMap::from([("tasks".to_string(), tasks), ("notes".to_string(), notes)]);
    Rules::new(Unlisted::Deny, roles, collections).unwrap()
}

fn bridge(rules: Rules) -> (B, Arc<MemoryStorage>) {
    let storage = Arc::new(MemoryStorage::default());
    (Bridge::new(storage.clone(), BridgeConfig { rules, ..BridgeConfig::default() }), storage)
}

fn send(b: &B, client: &str, collection: &str, mut body: serde_json::Value) -> Handled {
    body["type"] = json!("request");
    body["collection"] = json!(collection);
    ready(b.handle(T0, &Topics::default().request(client, collection), &serde_json::to_vec(&body).unwrap()))
}

fn insert(rid: &str, id: &str, doc: serde_json::Value) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": 0, "op": "insert", "doc": doc})
}

fn update(rid: &str, id: &str, base: u64, set: serde_json::Value) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": base, "op": "update", "update": {"$set": set}})
}

fn replace(rid: &str, id: &str, base: u64, doc: serde_json::Value) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": base, "op": "replace", "doc": doc})
}

fn delete(rid: &str, id: &str, base: u64) -> serde_json::Value {
    json!({"rid": rid, "id": id, "base": base, "op": "delete"})
}

fn reject(h: &Handled) -> Reject {
    let found = h.effects.iter().find_map(|e| match e {
        Effect::Reply { payload, .. } => match Message::parse(payload, &Limits::default()).unwrap() {
            Message::Reject(r) => Some(r),
            _ => None,
        },
        _ => None,
    });
    found.unwrap_or_else(|| panic!("expected a reject, got {h:?}"))
}

fn published_docs(h: &Handled) -> Vec<Option<Document>> {
    h.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Publish(p) => Some(match &p.event.change {
                Change::Insert(d) | Change::Replace(d) => Some(d.clone()),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

fn stored(s: &MemoryStorage, collection: &str, key: &str) -> Stored {
    ready(s.object(collection, &Id::string(key).unwrap())).unwrap()
}

/// bob inserts t1 in tasks.
fn with_bobs_task() -> (B, Arc<MemoryStorage>) {
    let (b, s) = bridge(example());
    let h = send(&b, "bob", "tasks", insert("r0", "t1", json!({"title": "milk"})));
    assert_eq!(h.outcome, "applied", "{h:?}");
    (b, s)
}

use crate::bridge::Storage;

#[test]
fn without_rules_everything_is_allowed() {
    let rules = Rules::default();
    assert!(rules.is_open());
    assert!(rules.may_read("anyone", "whatever"));
    let (b, _) = bridge(rules);
    assert_eq!(send(&b, "bob", "whatever", insert("r1", "x", json!({"a": 1}))).outcome, "applied");
    assert_eq!(send(&b, "eve", "whatever", delete("r2", "x", 1)).outcome, "applied");
}

#[test]
fn an_insert_gets_the_inserters_identity_in_the_event_and_the_stored_document() {
    let (b, s) = bridge(example());
    let h = send(&b, "bob", "tasks", insert("r1", "t1", json!({"title": "milk"})));
    assert_eq!(h.outcome, "applied");
    let expected = json!({"_id": "t1", "title": "milk", "owner": "bob"});
    assert_eq!(published_docs(&h), vec![Some(expected.as_object().unwrap().clone())]);
    assert_eq!(stored(&s, "tasks", "t1").doc.map(Value::Object), Some(expected));
}

#[test]
fn an_insert_naming_the_inserter_as_owner_is_accepted() {
    let (b, s) = bridge(example());
    let h = send(&b, "bob", "tasks", insert("r1", "t1", json!({"title": "milk", "owner": "bob"})));
    assert_eq!(h.outcome, "applied");
    assert_eq!(stored(&s, "tasks", "t1").doc.unwrap()["owner"], json!("bob"));
}

#[test]
fn an_insert_naming_another_owner_is_forbidden_unless_the_inserter_overrides() {
    let (b, s) = bridge(example());
    let h = send(&b, "bob", "tasks", insert("r1", "t1", json!({"title": "milk", "owner": "carol"})));
    let r = reject(&h);
    assert_eq!((r.code, r.path.as_deref()), (Code::Forbidden, Some("doc.owner")));
    assert!(r.message.contains("bob may not insert in tasks"), "{}", r.message);
    assert_eq!(stored(&s, "tasks", "t1").version, 0, "nothing written");
    // alice is an admin, and may insert on behalf of someone.
    let h = send(&b, "alice", "tasks", insert("r2", "t2", json!({"title": "milk", "owner": "carol"})));
    assert_eq!(h.outcome, "applied");
    assert_eq!(stored(&s, "tasks", "t2").doc.unwrap()["owner"], json!("carol"));
}

#[test]
fn another_identity_may_not_update_replace_or_delete_an_object_and_nothing_is_written() {
    let (b, s) = with_bobs_task();
    let before = s.operations().get("record").copied();
    for (op, body) in [
        ("update", update("m1", "t1", 1, json!({"title": "x"}))),
        ("replace", replace("m2", "t1", 1, json!({"title": "x"}))),
        ("delete", delete("m3", "t1", 1)),
    ] {
        let h = send(&b, "mallory", "tasks", body);
        let r = reject(&h);
        assert_eq!(r.code, Code::Forbidden, "{op}");
        assert_eq!(r.message, format!("mallory may not {op} in tasks: owner is \"bob\""));
        assert_eq!(r.current, Some(1));
        assert!(published_docs(&h).is_empty(), "{op}: no event");
    }
    assert_eq!(s.operations().get("record").copied(), before, "no event recorded");
    assert_eq!(stored(&s, "tasks", "t1").version, 1);
}

#[test]
fn the_owner_may_update_replace_and_delete_its_object() {
    let (b, s) = with_bobs_task();
    assert_eq!(send(&b, "bob", "tasks", update("b1", "t1", 1, json!({"title": "eggs"}))).outcome, "applied");
    // A replace that leaves the owner field out keeps the stored owner, in the event too.
    let h = send(&b, "bob", "tasks", replace("b2", "t1", 2, json!({"title": "bread"})));
    assert_eq!(h.outcome, "applied");
    let expected = json!({"_id": "t1", "title": "bread", "owner": "bob"});
    assert_eq!(published_docs(&h), vec![Some(expected.as_object().unwrap().clone())]);
    assert_eq!(stored(&s, "tasks", "t1").doc.map(Value::Object), Some(expected));
    assert_eq!(send(&b, "bob", "tasks", delete("b3", "t1", 3)).outcome, "applied");
    assert_eq!(stored(&s, "tasks", "t1"), Stored { version: 4, doc: None });
}

#[test]
fn an_owner_override_role_may_act_as_the_owner() {
    let (b, s) = with_bobs_task();
    assert_eq!(send(&b, "alice", "tasks", update("a1", "t1", 1, json!({"title": "eggs"}))).outcome, "applied");
    assert_eq!(send(&b, "alice", "tasks", update("a2", "t1", 2, json!({"owner": "carol"}))).outcome, "applied");
    assert_eq!(stored(&s, "tasks", "t1").doc.unwrap()["owner"], json!("carol"));
    assert_eq!(send(&b, "alice", "tasks", delete("a3", "t1", 3)).outcome, "applied");
}

#[test]
fn the_owner_may_not_give_its_object_away_or_drop_its_owner() {
    let (b, s) = with_bobs_task();
    let h = send(&b, "bob", "tasks", update("b1", "t1", 1, json!({"owner": "carol"})));
    let r = reject(&h);
    assert_eq!((r.code, r.path.as_deref()), (Code::Forbidden, Some("doc.owner")));
    assert_eq!(r.message, "bob may not change owner in tasks: owner is \"bob\"");
    let unset = json!({"rid": "b2", "id": "t1", "base": 1, "op": "update", "update": {"$unset": {"owner": true}}});
    assert_eq!(reject(&send(&b, "bob", "tasks", unset)).code, Code::Forbidden);
    let h = send(&b, "bob", "tasks", replace("b3", "t1", 1, json!({"title": "x", "owner": "carol"})));
    assert_eq!(reject(&h).code, Code::Forbidden);
    assert_eq!(stored(&s, "tasks", "t1").version, 1);
    // Setting it to what it is changes nothing and is allowed.
    assert_eq!(send(&b, "bob", "tasks", update("b4", "t1", 1, json!({"owner": "bob"}))).outcome, "applied");
}

#[test]
fn an_object_without_an_owner_can_only_be_changed_by_the_override() {
    let (b, s) = bridge(example());
    s.put(
        "tasks",
        &Id::string("old").unwrap(),
        Stored { version: 1, doc: Some(json!({"_id": "old", "title": "t"}).as_object().unwrap().clone()) },
    );
    let r = reject(&send(&b, "bob", "tasks", delete("b1", "old", 1)));
    assert_eq!(r.message, "bob may not delete in tasks: the object has no owner");
    assert_eq!(send(&b, "alice", "tasks", delete("a1", "old", 1)).outcome, "applied");
}

#[test]
fn an_operation_granted_to_nobody_is_forbidden_before_anything_is_read() {
    let (b, s) = bridge(example());
    let h = send(&b, "alice", "notes", delete("a1", "n1", 0));
    let r = reject(&h);
    assert_eq!(r.code, Code::Forbidden);
    assert_eq!(r.message, "alice may not delete in notes: delete is granted to nobody");
    assert_eq!(r.current, None, "decided without reading the object");
    let h = send(&b, "alice", "elsewhere", insert("a2", "e1", json!({})));
    assert_eq!(reject(&h).message, "alice may not insert in elsewhere: the collection is not in the permissions");
    assert_eq!(s.operations().values().sum::<u64>(), 0, "no storage operation at all");
}

#[test]
fn loads_and_failures_of_a_collection_the_identity_may_not_read_go_unanswered() {
    let (b, s) = bridge(example());
    let topics = Topics::default();
    let load = json!({"type": "load", "lid": "l1", "collection": "secret"});
    let h = ready(b.handle(T0, &topics.load("bob", "secret"), &serde_json::to_vec(&load).unwrap()));
    assert_eq!((h.outcome, h.effects.len()), ("forbidden", 0));
    let failure = json!({"type": "failure", "collection": "secret", "id": "t1", "version": 0});
    let h = ready(b.handle(T0, &topics.failure("bob", "secret"), &serde_json::to_vec(&failure).unwrap()));
    assert_eq!((h.outcome, h.effects.len()), ("forbidden", 0));
    assert_eq!(s.operations().values().sum::<u64>(), 0);
    let load = json!({"type": "load", "lid": "l2", "collection": "notes"});
    let h = ready(b.handle(T0, &topics.load("bob", "notes"), &serde_json::to_vec(&load).unwrap()));
    assert_eq!(h.outcome, "load");
}

#[test]
fn a_document_failing_the_schema_is_invalid_with_its_path_and_an_update_is_checked_on_its_result() {
    let (b, s) = with_bobs_task();
    let r = reject(&send(&b, "bob", "tasks", insert("b1", "t2", json!({"title": 5}))));
    assert_eq!((r.code, r.path.as_deref()), (Code::InvalidDocument, Some("doc.title")));
    assert_eq!(stored(&s, "tasks", "t2").version, 0);
    let unset = json!({"rid": "b2", "id": "t1", "base": 1, "op": "update", "update": {"$unset": {"title": true}}});
    let r = reject(&send(&b, "bob", "tasks", unset));
    assert_eq!((r.code, r.path.as_deref(), r.current), (Code::InvalidDocument, Some("doc.title"), Some(1)));
    assert_eq!(stored(&s, "tasks", "t1").version, 1);
}

#[test]
fn a_reject_message_quotes_a_long_owner_cut_short() {
    let (b, s) = bridge(example());
    let long = "x".repeat(100_000);
    let doc = json!({"_id": "t1", "title": "t", "owner": long});
    s.put("tasks", &Id::string("t1").unwrap(), Stored { version: 1, doc: Some(doc.as_object().unwrap().clone()) });
    let r = reject(&send(&b, "bob", "tasks", delete("b1", "t1", 1)));
    assert!(r.message.starts_with("bob may not delete in tasks: owner is \"xxx"), "{}", r.message);
    assert!(r.message.len() < 200, "{} bytes", r.message.len());
}

#[test]
fn a_forbidden_request_sent_again_gets_the_same_answer() {
    let (b, _) = with_bobs_task();
    let first = reject(&send(&b, "mallory", "tasks", delete("m1", "t1", 1)));
    let again = reject(&send(&b, "mallory", "tasks", delete("m1", "t1", 1)));
    assert_eq!(first, again);
}

#[test]
fn grants_parse_as_written_in_a_file() {
    assert_eq!(Grant::parse("*"), Ok(Grant::Anyone));
    assert_eq!(Grant::parse("owner"), Ok(Grant::Owner));
    assert_eq!(Grant::parse("@admin"), Ok(Grant::Role("admin".into())));
    assert_eq!(Grant::parse("alice"), Ok(Grant::Identity("alice".into())));
    for bad in ["", "@", "a b", "al/ice", "#"] {
        assert!(Grant::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Grant::parse("@admin").unwrap().to_string(), "@admin");
}

#[test]
fn unusable_rules_are_refused_naming_their_key() {
    let make = |c: CollectionRules| Rules::new(Unlisted::Deny, BTreeMap::new(), BTreeMap::from([("tasks".into(), c)]));
    let e = make(CollectionRules { update: grants(&["@admin"]), ..Default::default() }).unwrap_err();
    assert_eq!(e.key, "collections.tasks.update");
    assert!(e.message.contains("@admin is not defined"), "{e}");
    let e = make(CollectionRules { delete: grants(&["owner"]), ..Default::default() }).unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.message.as_str()),
        ("collections.tasks.delete", "\"owner\" needs the collection's owner_field")
    );
    let owned = |c: CollectionRules| CollectionRules { owner_field: Some("owner".into()), ..c };
    let e = make(owned(CollectionRules { insert: grants(&["owner"]), ..Default::default() })).unwrap_err();
    assert_eq!(e.key, "collections.tasks.insert");
    for field in ["_id", "a.b", "$x", "_vmm_v", ""] {
        let e = make(CollectionRules { owner_field: Some(field.into()), ..Default::default() }).unwrap_err();
        assert_eq!(e.key, "collections.tasks.owner_field", "{field:?}");
    }
    let roles = BTreeMap::from([("admin".to_string(), vec!["not an identity".to_string()])]);
    assert_eq!(Rules::new(Unlisted::Deny, roles, BTreeMap::new()).unwrap_err().key, "roles.admin");
}
