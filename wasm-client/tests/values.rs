//! Values kept exactly (issue 10): `Date`, `ObjectId`, `BigInt`, `Uint8Array`, `Binary`,
//! `Decimal128` through a real bridge and FerretDB and back, in headless Chromium against
//! Mosquitto (`make test-wasm` starts the bridge, prefix `wasmtest`). The checks are written in
//! JS (`tests/values.js`), since they are about JS values; each fails this test by rejecting.
#![cfg(target_arch = "wasm32")]

mod common;

use common::{PREFIX, URL};
use vmm_client::connect_store;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(raw_module = "../tests/values.js")]
extern "C" {
    #[wasm_bindgen(js_name = roundTrip)]
    fn round_trip(connect: &js_sys::Function, url: &str, prefix: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = updatesAndIds)]
    fn updates_and_ids(connect: &js_sys::Function, url: &str, prefix: &str) -> js_sys::Promise;
    fn refusals(connect: &js_sys::Function, url: &str, prefix: &str) -> js_sys::Promise;
}

/// `connect_store` as a JS function, for the JS side to open as many stores as it needs.
fn connector() -> js_sys::Function {
    let connect = Closure::<dyn Fn(JsValue) -> Result<JsValue, JsValue>>::new(|options| {
        connect_store(options).map(JsValue::from).map_err(JsValue::from)
    });
    connect.into_js_value().unchecked_into()
}

async fn run(test: fn(&js_sys::Function, &str, &str) -> js_sys::Promise) {
    if let Err(e) = JsFuture::from(test(&connector(), URL, PREFIX)).await {
        let message = js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string());
        panic!("{}", message.unwrap_or_else(|| format!("{e:?}")));
    }
}

#[wasm_bindgen_test]
async fn dates_object_ids_bigints_bytes_and_decimals_are_stored_as_passed_and_come_back_as_the_same_types() {
    run(round_trip).await;
}

#[wasm_bindgen_test]
async fn updates_carry_js_values_and_object_ids_work_as_ids_everywhere() {
    run(updates_and_ids).await;
}

#[wasm_bindgen_test]
async fn values_vmm_cannot_represent_are_refused_with_their_path_and_nothing_is_sent() {
    run(refusals).await;
}
