//! An honest status and nothing lost without a word (issue 10), in headless Chromium against the
//! real Mosquitto listeners: a broker that cannot be reached (a closed port: `network`; the
//! listener that wants a password, `make services`' third one: `auth`), a prefix no bridge serves
//! (`no-bridge`: changes wait, a deadline leaves them pending, `cancel` rolls them back), and
//! against the bridge `make test-wasm` runs (prefix `wasmtest`): loaded, pending per object,
//! unwatch.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{js, prop, unique, until, PREFIX, URL};
use gloo_timers::future::TimeoutFuture;
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use vmm_client::{connect_store, Store};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The WebSocket listener that refuses a client without a password (services/mosquitto.conf).
const AUTH_URL: &str = "ws://127.0.0.1:9002";
/// Nothing listens here.
const CLOSED_URL: &str = "ws://127.0.0.1:1";

fn store(url: &str, prefix: &str, collection: &str) -> Store {
    let options = json!({"url": url, "clientId": unique("c"), "prefix": prefix, "collections": [collection]});
    connect_store(js(options)).unwrap()
}

/// Collects what `onError` listeners receive.
fn errors_of(store: &Store) -> Rc<RefCell<Vec<JsValue>>> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = seen.clone();
    let listener = Closure::<dyn Fn(JsValue)>::new(move |e| sink.borrow_mut().push(e));
    store.on_error(listener.into_js_value().unchecked_into());
    seen
}

async fn unreachable(url: &str, reason: &str) {
    let store = store(url, PREFIX, "tasks");
    let errors = errors_of(&store);
    until("the store says the broker is unreachable", || store.status() == "unreachable").await;
    assert_eq!(prop(&store.problem(), "reason"), reason);
    until("the app's error listener got the reason", || !errors.borrow().is_empty()).await;
    let error = errors.borrow()[0].clone();
    assert_eq!(prop(&error, "name"), "ConnectionError");
    assert_eq!(prop(&error, "code"), "connection");
    assert_eq!(prop(&error, "reason"), reason);
    // Retries with the same problem are not reported again.
    TimeoutFuture::new(1_500).await;
    assert_eq!(errors.borrow().len(), 1, "one report per new problem, not per retry");
    store.close();
    assert_eq!(store.status(), "offline");
}

#[wasm_bindgen_test]
async fn a_closed_port_is_a_network_problem_and_the_app_hears_it() {
    unreachable(CLOSED_URL, "network").await;
}

#[wasm_bindgen_test]
async fn a_broker_that_wants_a_password_is_an_auth_problem_and_the_app_hears_it() {
    unreachable(AUTH_URL, "auth").await;
}

#[wasm_bindgen_test]
async fn without_a_bridge_changes_wait_a_deadline_leaves_them_pending_and_cancel_rolls_them_back() {
    let collection = unique("tasks");
    let store = store(URL, &unique("nobridge"), &collection);
    until("the store says no bridge serves it", || store.status() == "no-bridge").await;
    assert_eq!(store.bridges(), 0);
    assert!(!store.is_loaded(collection.clone()), "nothing loaded without a bridge");

    let op = js(json!({"op": "insert", "id": "t1", "doc": {"n": 1}}));
    let deadline = JsFuture::from(store.request(collection.clone(), op, js(json!({"timeout": 200}))));
    let error = deadline.await.expect_err("the deadline passes");
    assert_eq!(prop(&error, "name"), "TimeoutError");
    assert_eq!(prop(&error, "outcome"), "unknown");
    assert_eq!(store.pending_count(), 1, "a deadline does not roll the change back");
    assert!(!store.get(collection.clone(), "t1".into()).unwrap().is_undefined(), "still shown");

    let second = js(json!({"op": "update", "id": "t1", "update": {"$set": {"n": 2}}}));
    let second = JsFuture::from(store.request(collection.clone(), second, JsValue::UNDEFINED));
    assert_eq!(store.cancel(collection.clone(), "t1".into()).unwrap(), 2);
    let error = second.await.expect_err("cancelled");
    assert_eq!(prop(&error, "name"), "CancelledError");
    assert_eq!(store.pending_count(), 0);
    assert!(store.get(collection.clone(), "t1".into()).unwrap().is_undefined(), "rolled back");
    store.close();
}

#[wasm_bindgen_test]
async fn a_collection_says_when_it_is_loaded_which_objects_are_pending_and_unwatch_forgets_it() {
    let collection = unique("tasks");
    let store = store(URL, PREFIX, &collection);
    until("loaded", || store.is_loaded(collection.clone())).await;
    assert_eq!(store.status(), "online");
    assert!(store.bridges() >= 1);
    let op = js(json!({"op": "insert", "id": "t1", "doc": {"n": 1}}));
    let confirmed = JsFuture::from(store.request(collection.clone(), op, JsValue::UNDEFINED));
    let entries: serde_json::Value = serde_wasm_bindgen::from_value(store.entries(collection.clone())).unwrap();
    assert_eq!(entries[0]["pending"], 1, "{entries}");
    confirmed.await.unwrap();
    let entries: serde_json::Value = serde_wasm_bindgen::from_value(store.entries(collection.clone())).unwrap();
    assert_eq!(entries[0]["pending"], 0, "{entries}");

    store.unwatch(collection.clone()).unwrap();
    assert!(!store.is_loaded(collection.clone()));
    let entries: serde_json::Value = serde_wasm_bindgen::from_value(store.entries(collection.clone())).unwrap();
    assert_eq!(entries, json!([]), "forgotten");
    store.close();
}
