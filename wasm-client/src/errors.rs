//! Errors as JS errors: the classes live in `js/errors.js` (so that `instanceof` works in the
//! application), and Rust asks `errorFor` to build the right one. Every fallible method of the
//! `Store` returns [`Error`], so a protocol [`Violation`] converts with `?` and keeps its code
//! and the `path` of the offending field.

use vmm_protocol::{Code, Violation};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "../js/errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = errorFor)]
    fn error_for(code: &str, message: &str, details: JsValue) -> JsValue;
}

/// A refusal or a rollback, on its way to JS as a `ConflictError`, `ValidationError`, … (with
/// `code`, and `path`, `current` and `rid` when known).
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: String,
    path: Option<String>,
    current: Option<u64>,
    rid: Option<String>,
}

impl Error {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Error {
        Error { code, message: message.into(), path: None, current: None, rid: None }
    }

    /// The rollback of a request: its code, the stored version when the bridge said, its id.
    pub(crate) fn rollback(code: Code, message: String, current: Option<u64>, rid: String) -> Error {
        Error { code, message, path: None, current, rid: Some(rid) }
    }
}

impl From<Violation> for Error {
    fn from(v: Violation) -> Error {
        Error {
            code: v.code(),
            message: v.message().to_string(),
            path: v.path().map(str::to_string),
            current: None,
            rid: None,
        }
    }
}

impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let details = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&details, &JsValue::from_str(k), &v);
        };
        set("code", JsValue::from_str(e.code.as_str()));
        if let Some(c) = e.current {
            set("current", JsValue::from_f64(c as f64));
        }
        if let Some(r) = e.rid {
            set("rid", JsValue::from_str(&r));
        }
        if let Some(p) = e.path {
            set("path", JsValue::from_str(&p));
        }
        error_for(e.code.as_str(), &e.message, details.into())
    }
}

/// A `ConnectionError`: an attempt to reach the broker failed, for `reason` (`refused`, `auth`,
/// `network`).
pub(crate) fn connection_error(reason: &str, message: &str) -> JsValue {
    let details = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&details, &"reason".into(), &JsValue::from_str(reason));
    error_for("connection", message, details.into())
}
