//! The `Store` class JavaScript sees: the engine's replica with promises for requests and
//! listeners for changes. The work happens in `shell.rs`; this file is the JS API.

use crate::convert::{from_js, id_of, to_js, to_js_items, Values};
use crate::errors::Error;
use crate::shell::{self, Inner, Listener, Listeners, Shared};
use std::cell::RefCell;
use std::rc::Rc;
use vmm_engine::{Engine, Options as EngineOptions};
use vmm_protocol::topic::Topics;
use vmm_protocol::Code;
use wasm_bindgen::prelude::*;

/// Options of `connect_store`, from JS (`ConnectOptions` in `js/index.d.ts`).
struct Options {
    url: String,
    client_id: String,
    username: Option<String>,
    password: Option<String>,
    prefix: Option<String>,
    keep_alive: Option<u16>,
    request_timeout: Option<u64>,
    collections: Vec<String>,
    values: Values,
}

impl Options {
    /// Read by hand rather than with a serde derive: the derive's error paths link core's float
    /// formatting into the wasm, 14 KB gzipped (measured, `wasm-client/README.md`).
    fn read(value: &serde_json::Value) -> Result<Options, Error> {
        let bad = |m: String| Error::new(Code::Malformed, format!("bad options: {m}"));
        let map = value.as_object().ok_or_else(|| bad("an object is expected".into()))?;
        let text = |key: &str| -> Result<Option<String>, Error> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("{key} is a string"))),
            }
        };
        let whole = |key: &str, max: u64| -> Result<Option<u64>, Error> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(n) if n <= max => Ok(Some(n)),
                    _ => Err(bad(format!("{key} is a whole number from 0 to {max}"))),
                },
            }
        };
        let collections = match map.get("collections") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|c| c.as_str().map(str::to_string).ok_or_else(|| bad("collections are strings".into())))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("collections is an array of names".into())),
        };
        let values = match text("values")? {
            None => Values::Js,
            Some(v) => Values::parse(&v).ok_or_else(|| bad("values is 'js' or 'extended'".into()))?,
        };
        Ok(Options {
            url: text("url")?.ok_or_else(|| bad("url is required".into()))?,
            client_id: text("clientId")?.ok_or_else(|| bad("clientId is required".into()))?,
            username: text("username")?,
            password: text("password")?,
            prefix: text("prefix")?,
            keep_alive: whole("keepAlive", u64::from(u16::MAX))?.map(|n| n as u16),
            request_timeout: whole("requestTimeout", u64::MAX)?,
            collections,
            values,
        })
    }
}

/// A vmm store: an optimistic copy of the collections it watches.
#[wasm_bindgen]
pub struct Store {
    inner: Shared,
}

/// 64 random bits as 16 hex digits: request and load ids must stay unique across every session of
/// one identity (PROTOCOL.md §4), and several tabs of one user share it. From `crypto` where the
/// page has it (`Math.random` is not meant to be unpredictable, and a guessable next `rid` helps
/// whoever wants to pre-empt it).
fn random_prefix() -> String {
    let mut bytes = [0u8; 8];
    let from_crypto = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !from_crypto {
        for b in &mut bytes {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Connects a store (the JS wrapper `connect()` awaits the wasm first and calls this).
#[wasm_bindgen(js_name = connect_store)]
pub fn connect_store(options: JsValue) -> Result<Store, Error> {
    let o = Options::read(&from_js(&options)?)?;
    let mut e = EngineOptions::new(&o.client_id, &random_prefix());
    e.prefix = o.prefix.unwrap_or_else(|| Topics::DEFAULT_PREFIX.to_string());
    e.username = o.username;
    e.password = o.password.map(String::into_bytes);
    e.keep_alive_secs = o.keep_alive.unwrap_or(30);
    let mut engine = Engine::new(e)?;
    for c in &o.collections {
        engine.watch(0, c)?;
    }
    let mut inner = Inner::new(engine, o.url);
    inner.request_timeout = o.request_timeout.filter(|&ms| ms > 0);
    inner.values = o.values;
    let inner = Rc::new(RefCell::new(inner));
    shell::open(&inner);
    Ok(Store { inner })
}

fn add_listener(
    inner: &Shared,
    pick: impl Fn(&mut Listeners) -> &mut Vec<Listener> + 'static,
    f: js_sys::Function,
) -> js_sys::Function {
    let id = {
        let mut s = inner.borrow_mut();
        s.listeners.next += 1;
        let id = s.listeners.next;
        pick(&mut s.listeners).push((id, f));
        id
    };
    let weak = Rc::downgrade(inner);
    let unsubscribe = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            pick(&mut inner.borrow_mut().listeners).retain(|(i, _)| *i != id);
        }
    });
    unsubscribe.unchecked_into()
}

impl Store {
    /// Runs `f` on the engine at the current time, then sends what it queued and settles what it
    /// caused (after the borrow is released).
    fn act<T>(&self, f: impl FnOnce(&mut Engine, u64) -> T) -> T {
        let result = {
            let mut s = self.inner.borrow_mut();
            let now = s.now();
            f(&mut s.engine, now)
        };
        shell::pump(&self.inner);
        result
    }
}

#[wasm_bindgen]
impl Store {
    /// `connecting`, `unreachable`, `offline`, `no-bridge`, `resyncing` or `online`.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> String {
        self.inner.borrow().engine.status().as_str().to_string()
    }

    /// Why the broker cannot be reached (`{reason, message}`, reason `refused`, `auth` or
    /// `network`), while the status is `unreachable`; else `null`.
    #[wasm_bindgen(getter)]
    pub fn problem(&self) -> JsValue {
        let s = self.inner.borrow();
        match s.engine.problem() {
            Some(p) if s.engine.status() == vmm_engine::Status::Unreachable => {
                let problem = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&problem, &"reason".into(), &p.kind.as_str().into());
                let _ = js_sys::Reflect::set(&problem, &"message".into(), &p.message.as_str().into());
                problem.into()
            }
            _ => JsValue::NULL,
        }
    }

    /// How many bridges announce themselves on the prefix.
    #[wasm_bindgen(getter)]
    pub fn bridges(&self) -> usize {
        self.inner.borrow().engine.bridges()
    }

    /// How many of this store's changes wait for their outcome.
    #[wasm_bindgen(getter, js_name = pendingCount)]
    pub fn pending_count(&self) -> usize {
        self.inner.borrow().engine.pending_count()
    }

    /// This store's MQTT client id (its identity in topics).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.inner.borrow().engine.replica().config().client.clone()
    }

    /// Follows a collection: subscribes to its events and loads it. Idempotent.
    pub fn watch(&self, collection: String) -> Result<(), Error> {
        self.act(|e, now| e.watch(now, &collection))?;
        Ok(())
    }

    /// Stops following a collection: its objects are forgotten, except those with changes of
    /// this store pending, which stay followed one by one. Idempotent.
    pub fn unwatch(&self, collection: String) -> Result<(), Error> {
        self.act(|e, now| e.unwatch(now, &collection))?;
        Ok(())
    }

    /// Stops following one object followed by `watchObject`: forgotten unless its collection is
    /// followed or changes of it are pending (then it stays followed). Idempotent.
    #[wasm_bindgen(js_name = unwatchObject)]
    pub fn unwatch_object(&self, collection: String, id: JsValue) -> Result<(), Error> {
        let id = id_of(&id)?;
        self.act(|e, now| e.unwatch_object(now, &collection, &id))?;
        Ok(())
    }

    /// Whether the first load of a followed collection is complete.
    #[wasm_bindgen(js_name = isLoaded)]
    pub fn is_loaded(&self, collection: String) -> bool {
        self.inner.borrow().engine.replica().is_loaded(&collection)
    }

    /// Why the events of a collection cannot arrive (a `PermissionError` when the broker refused
    /// its subscription), or `undefined`.
    #[wasm_bindgen(js_name = collectionError)]
    pub fn collection_error(&self, collection: String) -> JsValue {
        let error = self.inner.borrow().engine.collection_error(&collection).cloned();
        error.map_or(JsValue::UNDEFINED, |v| Error::from(v).into())
    }

    /// Cancels this store's pending changes of an object: rolled back at once, their promises
    /// rejected with a `CancelledError`. One already sent may still be applied (its event is then
    /// merged like anyone else's). Returns how many were cancelled.
    pub fn cancel(&self, collection: String, id: JsValue) -> Result<usize, Error> {
        let id = id_of(&id)?;
        Ok(self.act(|e, now| e.cancel(now, &collection, &id).len()))
    }

    /// Follows one object: subscribes to its events and loads it. Idempotent.
    #[wasm_bindgen(js_name = watchObject)]
    pub fn watch_object(&self, collection: String, id: JsValue) -> Result<(), Error> {
        let id = id_of(&id)?;
        self.act(|e, now| e.watch_object(now, &collection, &id))?;
        Ok(())
    }

    /// Makes a change: shown at once (pending), resolved with the confirming event, or
    /// rejected — after the change was rolled back — with a `ConflictError`,
    /// `ValidationError`, `PermissionError`, `NotFoundError`, `CancelledError`, … Nothing is
    /// rolled back for lack of time: with `options.timeout` (ms; default the connect option
    /// `requestTimeout`, else none) the promise rejects early with a `TimeoutError` whose outcome
    /// is unknown, while the change stays pending and its event still confirms it.
    pub fn request(&self, collection: String, op: JsValue, options: JsValue) -> js_sys::Promise {
        let timeout = match request_timeout(&options) {
            Ok(t) => t.or(self.inner.borrow().request_timeout),
            Err(e) => return js_sys::Promise::reject(&e.into()),
        };
        let result = from_js(&op).and_then(|op| {
            let mut s = self.inner.borrow_mut();
            let t = s.now();
            Ok(s.engine.request(t, &collection, op)?)
        });
        let promise = match result {
            Ok(rid) => {
                let inner = self.inner.clone();
                js_sys::Promise::new(&mut |resolve, reject| {
                    let deadline = timeout.map(|ms| shell::deadline(&inner, &rid, ms));
                    inner.borrow_mut().requests.insert(rid.clone(), (resolve, reject, deadline));
                })
            }
            Err(e) => js_sys::Promise::reject(&e.into()),
        };
        shell::pump(&self.inner);
        promise
    }

    /// The optimistic view of an object, or `undefined`.
    pub fn get(&self, collection: String, id: JsValue) -> Result<JsValue, Error> {
        let id = id_of(&id)?;
        let s = self.inner.borrow();
        Ok(s.engine.replica().get(&collection, &id).map_or(JsValue::UNDEFINED, |d| to_js(&d, s.values)))
    }

    /// The optimistic view of a collection, as an array of documents in id order.
    pub fn list(&self, collection: String) -> JsValue {
        let s = self.inner.borrow();
        let docs: Vec<_> = s.engine.replica().list(&collection).into_iter().map(|(_, d)| d).collect();
        to_js_items(&docs, s.values)
    }

    /// The optimistic view of a collection as `[{key, id, doc}]` in id key order: the shape of a
    /// collection listener's changes, so that a view can be kept up to date from them.
    pub fn entries(&self, collection: String) -> JsValue {
        let s = self.inner.borrow();
        let entries: Vec<_> = s
            .engine
            .replica()
            .list(&collection)
            .into_iter()
            .map(|(id, d)| {
                let pending = s.engine.replica().meta(&collection, &id).map_or(0, |m| m.pending);
                shell::entry(&id.key(), &id, serde_json::Value::Object(d), pending)
            })
            .collect();
        to_js_items(&entries, s.values)
    }

    /// `{version, pending, deleted, lastError?}` of an object, or `undefined`.
    pub fn meta(&self, collection: String, id: JsValue) -> Result<JsValue, Error> {
        let id = id_of(&id)?;
        let Some(m) = self.inner.borrow().engine.replica().meta(&collection, &id) else {
            return Ok(JsValue::UNDEFINED);
        };
        let mut out = serde_json::json!({"version": m.version, "pending": m.pending, "deleted": m.deleted});
        if let Some((code, message)) = m.last_error {
            out["lastError"] = serde_json::json!({"code": code.as_str(), "message": message});
        }
        Ok(to_js(&out, Values::default()))
    }

    /// Calls `listener(changes)` after changes of the collection's view, once per batch:
    /// `changes` is `[{key, id, doc}]`, one entry per changed object in id key order, `doc`
    /// `null` when it is gone (an empty array when the collection finished loading). Returns the
    /// unsubscribe function.
    #[wasm_bindgen(js_name = onCollection)]
    pub fn on_collection(&self, collection: String, listener: js_sys::Function) -> js_sys::Function {
        add_listener(&self.inner, move |l| l.collections.entry(collection.clone()).or_default(), listener)
    }

    /// Calls `listener()` after changes of the object's view; returns the unsubscribe.
    #[wasm_bindgen(js_name = onDocument)]
    pub fn on_document(
        &self,
        collection: String,
        id: JsValue,
        listener: js_sys::Function,
    ) -> Result<js_sys::Function, Error> {
        let key = (collection, id_of(&id)?.key());
        Ok(add_listener(&self.inner, move |l| l.documents.entry(key.clone()).or_default(), listener))
    }

    /// Calls `listener(status)` when the status, the number of pending changes or the number
    /// of bridges changes; returns the unsubscribe.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(&self, listener: js_sys::Function) -> js_sys::Function {
        add_listener(&self.inner, |l| &mut l.status, listener)
    }

    /// Calls `listener(error)` with a `ConnectionError` (`reason`: `refused`, `auth`, `network`)
    /// when an attempt to reach the broker fails with a new problem (not on every retry);
    /// returns the unsubscribe. Without listeners the store warns on the console.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(&self, listener: js_sys::Function) -> js_sys::Function {
        add_listener(&self.inner, |l| &mut l.errors, listener)
    }

    /// Closes the connection for good; pending changes stay pending.
    pub fn close(&self) {
        {
            let mut s = self.inner.borrow_mut();
            s.closed = true;
            s.reconnect = None;
            let t = s.now();
            let bye = s.engine.disconnect(t);
            shell::send_outgoing(&mut s);
            if let Some(socket) = s.socket.take() {
                socket.send(&bye);
                socket.close();
            }
        }
        shell::pump(&self.inner);
    }

    /// Goes offline on purpose (an app's offline mode; the status says `offline`): changes
    /// queue until `reconnect()`.
    pub fn disconnect(&self) {
        {
            let mut s = self.inner.borrow_mut();
            s.closed = true;
            s.reconnect = None;
            let t = s.now();
            let bye = s.engine.disconnect(t);
            shell::send_outgoing(&mut s);
            if let Some(socket) = &s.socket {
                socket.send(&bye);
            }
        }
        shell::lost(&self.inner);
    }

    /// Comes back after `disconnect()`: reconnects, resyncs, then sends the queued changes.
    pub fn reconnect(&self) {
        {
            let mut s = self.inner.borrow_mut();
            if s.socket.is_some() {
                return;
            }
            s.closed = false;
            s.backoff = 250;
        }
        shell::open(&self.inner);
    }

    /// Drops the connection as if the network failed (for tests and demos): the store goes
    /// offline, then reconnects and resyncs.
    #[wasm_bindgen(js_name = dropConnection)]
    pub fn drop_connection(&self) {
        shell::lost(&self.inner);
    }
}

/// The `timeout` of a request's options, in milliseconds (0: none).
fn request_timeout(options: &JsValue) -> Result<Option<u64>, Error> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = js_sys::Reflect::get(options, &"timeout".into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(ms) if ms >= 0.0 && ms.fract() == 0.0 && ms <= u32::MAX as f64 => Ok((ms > 0.0).then_some(ms as u64)),
        _ => Err(vmm_protocol::Violation::malformed("timeout is a whole number of milliseconds").at("timeout").into()),
    }
}
