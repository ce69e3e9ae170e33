//! The store in a real browser (headless Chromium, via wasm-bindgen-test-runner and
//! chromedriver) against the real Mosquitto WebSocket listener and a running bridge on FerretDB.
//! `make test-wasm` starts the bridge with the prefix `wasmtest` before running these.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{js, prop, unique, until, PREFIX, URL};
use serde_json::json;
use vmm_client::{connect_store, Store};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn connect(client: &str, collection: &str) -> Store {
    let options =
        json!({"url": URL, "clientId": client, "prefix": PREFIX, "collections": [collection], "requestTimeout": 20000});
    connect_store(js(options)).unwrap()
}

async fn online(store: &Store) {
    until("the store is online", || store.status() == "online").await;
}

fn list(store: &Store, collection: &str) -> serde_json::Value {
    serde_wasm_bindgen::from_value(store.list(collection.into())).unwrap()
}

async fn request(store: &Store, collection: &str, op: serde_json::Value) -> Result<serde_json::Value, JsValue> {
    JsFuture::from(store.request(collection.into(), js(op), JsValue::UNDEFINED))
        .await
        .map(|v| serde_wasm_bindgen::from_value(v).unwrap())
}

#[wasm_bindgen_test]
async fn a_store_connects_over_websockets_and_loads() {
    let store = connect(&unique("connect"), &unique("c"));
    online(&store).await;
    store.close();
}

#[wasm_bindgen_test]
async fn a_request_is_shown_at_once_and_confirmed_by_the_bridge() {
    let collection = unique("tasks");
    let store = connect(&unique("alice"), &collection);
    online(&store).await;
    let pending = store.request(
        collection.clone(),
        js(json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})),
        JsValue::UNDEFINED,
    );
    assert_eq!(list(&store, &collection), json!([{"_id": "t1", "title": "milk"}]), "shown before the bridge answers");
    assert_eq!(store.pending_count(), 1);
    let event: serde_json::Value = serde_wasm_bindgen::from_value(JsFuture::from(pending).await.unwrap()).unwrap();
    assert_eq!((event["prev"].clone(), event["version"].clone()), (json!(0), json!(1)));
    assert_eq!(store.pending_count(), 0);
    store.close();
}

#[wasm_bindgen_test]
async fn a_conflict_is_rejected_and_rolled_back_to_the_stored_value() {
    let collection = unique("tasks");
    let alice = connect(&unique("alice"), &collection);
    let bob = connect(&unique("bob"), &collection);
    online(&alice).await;
    online(&bob).await;
    request(&alice, &collection, json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}})).await.unwrap();
    until("bob sees the object", || list(&bob, &collection).as_array().unwrap().len() == 1).await;
    bob.disconnect();
    request(&alice, &collection, json!({"op": "update", "id": "t1", "update": {"$set": {"title": "oat milk"}}}))
        .await
        .unwrap();
    let bobs = bob.request(
        collection.clone(),
        js(json!({"op": "update", "id": "t1", "update": {"$set": {"title": "tea"}}})),
        JsValue::UNDEFINED,
    );
    assert_eq!(list(&bob, &collection)[0]["title"], "tea", "bob's change shows while offline");
    bob.reconnect();
    let error = JsFuture::from(bobs).await.expect_err("bob's stale change is refused");
    assert_eq!(prop(&error, "name"), "ConflictError");
    assert_eq!(prop(&error, "code"), "conflict");
    assert_eq!(prop(&error, "current"), 2);
    until("bob shows the stored value", || list(&bob, &collection)[0]["title"] == "oat milk").await;
    alice.close();
    bob.close();
}

#[wasm_bindgen_test]
async fn a_request_pending_when_the_socket_drops_is_confirmed_once_after_reconnect() {
    let collection = unique("tasks");
    let alice = connect(&unique("alice"), &collection);
    online(&alice).await;
    request(&alice, &collection, json!({"op": "insert", "id": "n", "doc": {"n": 0}})).await.unwrap();
    let pending = alice.request(
        collection.clone(),
        js(json!({"op": "update", "id": "n", "update": {"$inc": {"n": 1}}})),
        JsValue::UNDEFINED,
    );
    alice.drop_connection();
    assert_ne!(alice.status(), "online");
    let event: serde_json::Value = serde_wasm_bindgen::from_value(JsFuture::from(pending).await.unwrap()).unwrap();
    assert_eq!(event["version"], 2);
    online(&alice).await;
    // Applied exactly once: a fresh store loads n = 1 at version 2.
    let check = connect(&unique("check"), &collection);
    online(&check).await;
    assert_eq!(list(&check, &collection), json!([{"_id": "n", "n": 1}]));
    let meta = check.meta(collection.clone(), "n".into()).unwrap();
    assert_eq!(prop(&meta, "version"), 2);
    alice.close();
    check.close();
}

#[wasm_bindgen_test]
async fn two_stores_editing_at_once_converge() {
    let collection = unique("tasks");
    let a = connect(&unique("a"), &collection);
    let b = connect(&unique("b"), &collection);
    online(&a).await;
    online(&b).await;
    let mut waits = Vec::new();
    for i in 0..5 {
        waits.push(a.request(
            collection.clone(),
            js(json!({"op": "insert", "id": format!("a{i}"), "doc": {"i": i}})),
            JsValue::UNDEFINED,
        ));
        waits.push(b.request(
            collection.clone(),
            js(json!({"op": "insert", "id": format!("b{i}"), "doc": {"i": i}})),
            JsValue::UNDEFINED,
        ));
    }
    for w in waits {
        JsFuture::from(w).await.unwrap();
    }
    until("both stores hold the same ten objects", || {
        let (la, lb) = (list(&a, &collection), list(&b, &collection));
        la == lb && la.as_array().unwrap().len() == 10
    })
    .await;
    a.close();
    b.close();
}
