//! What the browser tests share: the broker's address, the bridge's prefix (`make test-wasm`
//! runs a bridge on it), unique names, JSON to JS, and a bounded wait.
#![allow(dead_code)] // each test file uses its part

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::prelude::*;

/// Mosquitto's anonymous WebSocket listener.
pub const URL: &str = "ws://127.0.0.1:9001";
/// The topic prefix of the bridge `make test-wasm` runs.
pub const PREFIX: &str = "wasmtest";

/// `name` with 8 random hex digits: a collection, client or prefix no other test uses.
pub fn unique(name: &str) -> String {
    format!("{name}{:08x}", (js_sys::Math::random() * 4_294_967_295.0) as u32)
}

/// A JSON value as a plain JS value.
pub fn js(value: serde_json::Value) -> JsValue {
    use serde::Serialize;
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap()
}

/// Waits (polling, at most 15 s) until `check` holds.
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        TimeoutFuture::new(50).await;
    }
    panic!("timed out waiting until {what}");
}

/// A property of a JS object.
pub fn prop(value: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(value, &name.into()).unwrap()
}
