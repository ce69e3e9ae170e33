//! Values between JS and Rust, through JSON text: one crossing of the boundary per call, parsed
//! by the browser's own JSON parser; the wasm needs no second (de)serialiser besides
//! serde_json's, which the protocol links anyway.
//!
//! - In: `toExtendedJSON` of `js/values.js` turns `Date`, `ObjectId`, `BigInt`, `Uint8Array`, …
//!   into Extended JSON (§3.1 of the protocol) and writes the text, or refuses the value with a
//!   `ValidationError` naming its path, before anything reaches the engine.
//! - Out: `json.rs` writes the text (integers JS cannot hold as `$numberLong`) and notes where the
//!   wrappers are; `JSON.parse` reads it, and only when there is a wrapper and the store gives JS
//!   values, `revive` of `js/values.js` walks what holds one.

use crate::errors::Error;
use crate::json::{self, Node, Wrappers, Written};
use vmm_protocol::{Code, Id, Value, Violation};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "../js/values.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = toExtendedJSON)]
    fn to_extended_json(value: &JsValue) -> Result<String, JsValue>;

    fn revive(value: JsValue, items: Option<Vec<u32>>) -> JsValue;
}

/// How documents are given to JS: the connect option `values`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Values {
    /// `'js'` (the default): `Date`, `ObjectId`, `BigInt`, `Uint8Array`, `Binary`, `Decimal128`.
    #[default]
    Js,
    /// `'extended'`: Extended JSON objects as stored (`{$oid}`, `{$date}`, …), an integer past
    /// ±(2^53−1) as `{$numberLong}`.
    Extended,
}

impl Values {
    /// The option as JS writes it; `None` for anything else.
    pub(crate) fn parse(text: &str) -> Option<Values> {
        match text {
            "js" => Some(Values::Js),
            "extended" => Some(Values::Extended),
            _ => None,
        }
    }
}

/// A JS value as a protocol value (Extended JSON, not yet canonical: the engine canonicalises).
pub(crate) fn from_js(value: &JsValue) -> Result<Value, Error> {
    let text = to_extended_json(value).map_err(refused)?;
    serde_json::from_str(&text).map_err(|e| Error::new(Code::Malformed, e.to_string()))
}

/// The error `toExtendedJSON` threw (a `ValidationError` with `code` and `path`) as an [`Error`].
fn refused(thrown: JsValue) -> Error {
    let field = |name: &str| js_sys::Reflect::get(&thrown, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
    let code = field("code").and_then(|c| Code::parse(&c)).unwrap_or(Code::Malformed);
    let message = field("message").unwrap_or_else(|| "the value cannot be read".into());
    let violation = Violation::new(code, message);
    Error::from(match field("path") {
        Some(path) => violation.at(path),
        None => violation,
    })
}

/// A value or a document as a JS value.
pub(crate) fn to_js<T: Node + ?Sized>(value: &T, values: Values) -> JsValue {
    finish(json::write(value), values)
}

/// An array of values or documents as a JS array; only the elements holding a wrapper are walked.
pub(crate) fn to_js_items<T: Node>(items: &[T], values: Values) -> JsValue {
    finish(json::write_items(items), values)
}

fn finish(written: Written, values: Values) -> JsValue {
    let parsed = js_sys::JSON::parse(&written.text).unwrap_or(JsValue::UNDEFINED);
    match (values, written.wrappers) {
        (Values::Extended, _) | (_, Wrappers::None) => parsed,
        (Values::Js, Wrappers::Some) => revive(parsed, None),
        (Values::Js, Wrappers::Items(items)) => revive(parsed, Some(items)),
    }
}

/// An object id from JS: a string, a number, an `ObjectId`, or `{"$oid": …}`.
pub(crate) fn id_of(value: &JsValue) -> Result<Id, Error> {
    Ok(Id::from_value(&from_js(value)?)?)
}
