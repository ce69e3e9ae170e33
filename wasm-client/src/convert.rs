//! Values between JS and Rust, through JSON: `JSON.stringify` in, `JSON.parse` out. One
//! crossing of the boundary per call, parsed by the browser's own JSON parser; the wasm needs no
//! second (de)serialiser besides serde_json's, which the protocol links anyway.

use crate::errors::Error;
use vmm_protocol::{Code, Id, Value};
use wasm_bindgen::prelude::*;

/// A JS value as a protocol value.
pub(crate) fn from_js(value: &JsValue) -> Result<Value, Error> {
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| Error::new(Code::Malformed, "the value cannot be written as JSON (a cycle or a BigInt?)"))?;
    let text = text.as_string().ok_or_else(|| Error::new(Code::Malformed, "undefined is not a value"))?;
    serde_json::from_str(&text).map_err(|e| Error::new(Code::Malformed, e.to_string()))
}

/// A protocol value as a JS value.
pub(crate) fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    js_sys::JSON::parse(&text).unwrap_or(JsValue::UNDEFINED)
}

/// An object id from JS: a string, a number, or `{"$oid": …}`.
pub(crate) fn id_of(value: &JsValue) -> Result<Id, Error> {
    Ok(Id::from_value(&from_js(value)?)?)
}
