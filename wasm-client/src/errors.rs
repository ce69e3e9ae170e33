//! Reject codes as JS errors: the classes live in `js/errors.js` (so that `instanceof` works in
//! the application), and Rust asks `errorFor` to build the right one.

use vmm_protocol::Code;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = errorFor)]
    fn error_for(code: &str, message: &str, details: JsValue) -> JsValue;
}

/// The JS error for a rollback or a refusal: `ConflictError`, `ValidationError`, …
pub(crate) fn js_error(code: Code, message: &str, current: Option<u64>, rid: Option<&str>) -> JsValue {
    let details = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&details, &JsValue::from_str(k), &v);
    };
    set("code", JsValue::from_str(code.as_str()));
    if let Some(c) = current {
        set("current", JsValue::from_f64(c as f64));
    }
    if let Some(r) = rid {
        set("rid", JsValue::from_str(r));
    }
    error_for(code.as_str(), message, details.into())
}
