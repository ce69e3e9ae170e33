//! The `Store` class JavaScript sees: the protocol's replica and our MQTT session over one
//! WebSocket, with promises for requests and listeners for changes.
//!
//! Everything runs on the browser's one thread: state lives in an `Rc<RefCell<_>>`, and every
//! entry point (a socket event, a timer, a call from JS) ends with `pump`, which moves messages
//! between the replica, the session and the socket, then calls the listeners — after the borrow
//! is released, since a listener may call back into the store.

use crate::errors::js_error;
use crate::mqtt::{QoS, Session, SessionEvent, SessionOptions};
use crate::transport::{Socket, SocketEvent};
use gloo_timers::callback::Timeout;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::{Rc, Weak};
use vmm_protocol::replica::{Config, Notice, Replica, Status};
use vmm_protocol::topic::Topics;
use vmm_protocol::{Code, Id, Value};
use wasm_bindgen::prelude::*;

/// Options of `connect_store`, from JS.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    url: String,
    client_id: String,
    username: Option<String>,
    password: Option<String>,
    prefix: Option<String>,
    keep_alive: Option<u16>,
    request_timeout: Option<u64>,
    #[serde(default)]
    collections: Vec<String>,
}

type Listener = (u32, js_sys::Function);

/// What a subscription is for.
#[derive(Clone, PartialEq)]
enum Watch {
    /// Everything the replica follows, on connecting: after its SUBACK the replica may load.
    Connect,
    /// A collection followed while online.
    Collection(String),
    /// An object followed while online.
    Object(String, Id),
}

#[derive(Default)]
struct Listeners {
    next: u32,
    collections: HashMap<String, Vec<Listener>>,
    documents: HashMap<(String, String), Vec<Listener>>,
    status: Vec<Listener>,
}

struct Inner {
    url: String,
    replica: Replica,
    session: Session,
    socket: Option<Socket>,
    /// Subscriptions waiting for their SUBACK, and what each one is for.
    subscribing: HashMap<u16, Watch>,
    ever_online: bool,
    closed: bool,
    backoff: u32,
    timer: Option<Timeout>,
    reconnect: Option<Timeout>,
    requests: HashMap<String, (js_sys::Function, js_sys::Function)>,
    listeners: Listeners,
    last_status: String,
    last_pending: usize,
}

/// A vmm store: an optimistic copy of the collections it watches.
#[wasm_bindgen]
pub struct Store {
    inner: Rc<RefCell<Inner>>,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::UNDEFINED)
}

fn from_js(value: JsValue) -> Result<Value, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error(Code::Malformed, &e.to_string(), None, None))
}

fn id_of(value: JsValue) -> Result<Id, JsValue> {
    Id::from_value(&from_js(value)?).map_err(|e| js_error(e.code(), e.message(), None, None))
}

fn random_prefix() -> String {
    (0..3).map(|_| format!("{:04x}", (js_sys::Math::random() * 65536.0) as u32)).collect()
}

/// Connects a store (the JS wrapper `connect()` awaits the wasm first and calls this).
#[wasm_bindgen(js_name = connect_store)]
pub fn connect_store(options: JsValue) -> Result<Store, JsValue> {
    let o: Options = serde_wasm_bindgen::from_value(options)
        .map_err(|e| js_error(Code::Malformed, &format!("bad options: {e}"), None, None))?;
    let bad = |e: vmm_protocol::Violation| js_error(e.code(), e.message(), None, None);
    let mut config = Config::new(&o.client_id, &random_prefix()).map_err(bad)?;
    config.topics = Topics::new(o.prefix.as_deref().unwrap_or(Topics::DEFAULT_PREFIX)).map_err(bad)?;
    config.request_timeout = match o.request_timeout {
        Some(0) => None,
        Some(ms) => Some(ms),
        None => Some(60_000),
    };
    let mut replica = Replica::new(config);
    for c in &o.collections {
        replica.watch_collection(now(), c).map_err(bad)?;
    }
    let mut session_options = SessionOptions::new(o.client_id.clone());
    session_options.keep_alive_secs = o.keep_alive.unwrap_or(30);
    session_options.clean_session = true;
    session_options.username = o.username;
    session_options.password = o.password.map(String::into_bytes);
    let session = Session::new(session_options)
        .map_err(|e| js_error(Code::Malformed, &format!("bad MQTT options: {e:?}"), None, None))?;
    let inner = Rc::new(RefCell::new(Inner {
        url: o.url,
        replica,
        session,
        socket: None,
        subscribing: HashMap::new(),
        ever_online: false,
        closed: false,
        backoff: 250,
        timer: None,
        reconnect: None,
        requests: HashMap::new(),
        listeners: Listeners::default(),
        last_status: "connecting".into(),
        last_pending: 0,
    }));
    open(&inner);
    Ok(Store { inner })
}

fn open(inner: &Rc<RefCell<Inner>>) {
    let weak = Rc::downgrade(inner);
    let url = inner.borrow().url.clone();
    let socket = Socket::open(&url, move |event| {
        if let Some(inner) = weak.upgrade() {
            on_socket(&inner, event);
        }
    });
    match socket {
        Ok(s) => inner.borrow_mut().socket = Some(s),
        Err(_) => schedule_reconnect(inner),
    }
}

fn on_socket(inner: &Rc<RefCell<Inner>>, event: SocketEvent) {
    {
        let mut s = inner.borrow_mut();
        let t = now();
        match event {
            SocketEvent::Open => {
                let connect = s.session.connect(t);
                if let Some(socket) = &s.socket {
                    socket.send(&connect);
                }
            }
            SocketEvent::Bytes(bytes) => s.session.handle_bytes(t, &bytes),
            SocketEvent::Closed => {
                drop(s);
                lost(inner);
                return;
            }
        }
    }
    pump(inner);
}

/// The connection is gone: tell the session and the replica, and try again later.
fn lost(inner: &Rc<RefCell<Inner>>) {
    {
        let mut s = inner.borrow_mut();
        if let Some(socket) = s.socket.take() {
            socket.close();
        }
        s.session.disconnected();
        s.replica.disconnected();
        s.subscribing.clear();
    }
    pump(inner);
    schedule_reconnect(inner);
}

fn schedule_reconnect(inner: &Rc<RefCell<Inner>>) {
    let mut s = inner.borrow_mut();
    if s.closed {
        return;
    }
    let delay = s.backoff;
    s.backoff = (s.backoff * 2).min(10_000);
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(inner);
    s.reconnect = Some(Timeout::new(delay, move || {
        if let Some(inner) = weak.upgrade() {
            open(&inner);
        }
    }));
}

/// Moves everything that can move, then calls the listeners.
fn pump(inner: &Rc<RefCell<Inner>>) {
    let mut calls: Vec<(js_sys::Function, JsValue)> = Vec::new();
    let mut settled: Vec<(js_sys::Function, JsValue)> = Vec::new();
    let dead;
    {
        let mut guard = inner.borrow_mut();
        let s = &mut *guard;
        let t = now();
        let mut is_dead = false;
        // Session → replica.
        while let Some(event) = s.session.poll_event() {
            match event {
                SessionEvent::Connected { .. } => {
                    s.backoff = 250;
                    // Watches still waiting for a SUBACK are subscribed again with the rest.
                    for watch in s.subscribing.drain().map(|(_, w)| w).collect::<Vec<_>>() {
                        match watch {
                            Watch::Collection(c) => {
                                let _ = s.replica.watch_collection(t, &c);
                            }
                            Watch::Object(c, id) => {
                                let _ = s.replica.watch_object(t, &c, &id);
                            }
                            Watch::Connect => {}
                        }
                    }
                    let filters = s.replica.subscriptions();
                    let filters: Vec<(&str, QoS)> = filters.iter().map(|f| (f.as_str(), QoS::AtLeastOnce)).collect();
                    match s.session.subscribe(&filters) {
                        Ok(id) => {
                            s.subscribing.insert(id, Watch::Connect);
                        }
                        Err(e) => web_sys::console::error_1(&format!("vmm: cannot subscribe: {e:?}").into()),
                    }
                }
                SessionEvent::Subscribed { id, .. } => match s.subscribing.remove(&id) {
                    Some(Watch::Connect) if s.replica.status() == Status::Offline => s.replica.connected(t),
                    Some(Watch::Collection(collection)) => {
                        let _ = s.replica.watch_collection(t, &collection);
                    }
                    Some(Watch::Object(collection, id)) => {
                        let _ = s.replica.watch_object(t, &collection, &id);
                    }
                    _ => {}
                },
                SessionEvent::Message { topic, payload } => {
                    if let Err(e) = s.replica.handle(t, &topic, &payload) {
                        web_sys::console::warn_1(&format!("vmm: ignored a message on {topic}: {e}").into());
                    }
                }
                SessionEvent::Dead | SessionEvent::ProtocolError(_) | SessionEvent::ConnectionRefused(_) => {
                    is_dead = true
                }
                _ => {}
            }
        }
        s.replica.handle_timeout(t);
        // Replica → session.
        while let Some(tx) = s.replica.poll_transmit() {
            if let Err(e) = s.session.publish(&tx.topic, &tx.payload, QoS::AtLeastOnce) {
                web_sys::console::error_1(&format!("vmm: cannot publish: {e:?}").into());
            }
        }
        // Session → socket.
        while let Some(bytes) = s.session.poll_transmit() {
            if let Some(socket) = &s.socket {
                socket.send(&bytes);
            }
        }
        // Notices → promises and listeners.
        let mut collections = BTreeSet::new();
        let mut documents = BTreeSet::new();
        while let Some(notice) = s.replica.poll_notice() {
            match notice {
                Notice::Changed { collection, id } => {
                    documents.insert((collection.clone(), id.key()));
                    collections.insert(collection);
                }
                Notice::Confirmed { rid, event } => {
                    if let Some((resolve, _)) = s.requests.remove(&rid) {
                        settled.push((resolve, to_js(&event.to_value())));
                    }
                }
                Notice::RolledBack { rid, code, message, current, .. } => {
                    if let Some((_, reject)) = s.requests.remove(&rid) {
                        settled.push((reject, js_error(code, &message, current, Some(&rid))));
                    }
                }
                Notice::Loaded { collection } => {
                    collections.insert(collection);
                }
                Notice::Status(_) => {}
            }
        }
        for c in &collections {
            for (_, f) in s.listeners.collections.get(c).into_iter().flatten() {
                calls.push((f.clone(), JsValue::UNDEFINED));
            }
        }
        for d in &documents {
            for (_, f) in s.listeners.documents.get(d).into_iter().flatten() {
                calls.push((f.clone(), JsValue::UNDEFINED));
            }
        }
        if s.replica.status() == Status::Online {
            s.ever_online = true;
        }
        let status = status_of(s);
        let pending = s.replica.pending_count();
        if status != s.last_status || pending != s.last_pending {
            s.last_status = status.clone();
            s.last_pending = pending;
            for (_, f) in &s.listeners.status {
                calls.push((f.clone(), JsValue::from_str(&status)));
            }
        }
        // The next timer.
        let next = [s.replica.poll_timeout(), s.session.poll_timeout()].into_iter().flatten().min();
        s.timer = next.map(|at| {
            let weak = Rc::downgrade(inner);
            Timeout::new(at.saturating_sub(t).min(u32::MAX as u64) as u32, move || {
                if let Some(inner) = weak.upgrade() {
                    let t = now();
                    inner.borrow_mut().session.handle_timeout(t);
                    pump(&inner);
                }
            })
        });
        dead = is_dead;
    }
    for (f, arg) in settled.into_iter().chain(calls) {
        if let Err(e) = f.call1(&JsValue::NULL, &arg) {
            web_sys::console::error_2(&"vmm: a listener threw".into(), &e);
        }
    }
    if dead {
        lost(inner);
    }
}

fn status_of(s: &Inner) -> String {
    match s.replica.status() {
        Status::Online => "online",
        Status::Resyncing => "resyncing",
        Status::Offline if !s.ever_online => "connecting",
        Status::Offline => "offline",
    }
    .to_string()
}

fn add_listener(
    inner: &Rc<RefCell<Inner>>,
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

#[wasm_bindgen]
impl Store {
    /// `connecting`, `online`, `offline` or `resyncing`.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> String {
        status_of(&self.inner.borrow())
    }

    /// How many of this store's changes wait for their outcome.
    #[wasm_bindgen(getter, js_name = pendingCount)]
    pub fn pending_count(&self) -> usize {
        self.inner.borrow().replica.pending_count()
    }

    /// This store's MQTT client id (its identity in topics).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.inner.borrow().replica.config().client.clone()
    }

    /// Follows a collection: subscribes to its events and loads it. Idempotent.
    pub fn watch(&self, collection: String) -> Result<(), JsValue> {
        vmm_protocol::topic::check_collection(&collection).map_err(|e| js_error(e.code(), e.message(), None, None))?;
        let filter = self.inner.borrow().replica.config().topics.collection_events(&collection);
        self.follow(filter, Watch::Collection(collection));
        Ok(())
    }

    /// Follows one object: subscribes to its events and loads it. Idempotent.
    #[wasm_bindgen(js_name = watchObject)]
    pub fn watch_object(&self, collection: String, id: JsValue) -> Result<(), JsValue> {
        vmm_protocol::topic::check_collection(&collection).map_err(|e| js_error(e.code(), e.message(), None, None))?;
        let id = id_of(id)?;
        let filter = self.inner.borrow().replica.config().topics.event(&collection, &id);
        self.follow(filter, Watch::Object(collection, id));
        Ok(())
    }

    fn follow(&self, filter: String, watch: Watch) {
        {
            let mut s = self.inner.borrow_mut();
            let known = s.replica.subscriptions().contains(&filter) || s.subscribing.values().any(|w| *w == watch);
            if known {
                // Already followed, or about to be.
            } else if s.replica.status() == Status::Offline {
                let t = now();
                let _ = match &watch {
                    Watch::Collection(c) => s.replica.watch_collection(t, c),
                    Watch::Object(c, id) => s.replica.watch_object(t, c, id),
                    Watch::Connect => Ok(()),
                };
            } else if let Ok(id) = s.session.subscribe(&[(filter.as_str(), QoS::AtLeastOnce)]) {
                s.subscribing.insert(id, watch);
            }
        }
        pump(&self.inner);
    }

    /// Makes a change: shown at once (pending), resolved with the confirming event, or
    /// rejected — after the change was rolled back — with a `ConflictError`,
    /// `ValidationError`, `PermissionError`, `NotFoundError`, `TimeoutError`, …
    pub fn request(&self, collection: String, op: JsValue) -> js_sys::Promise {
        let op = match from_js(op) {
            Ok(op) => op,
            Err(e) => return js_sys::Promise::reject(&e),
        };
        let result = self.inner.borrow_mut().replica.request(now(), &collection, op);
        let promise = match result {
            Ok(rid) => {
                let inner = self.inner.clone();
                js_sys::Promise::new(&mut |resolve, reject| {
                    inner.borrow_mut().requests.insert(rid.clone(), (resolve, reject));
                })
            }
            Err(e) => js_sys::Promise::reject(&js_error(e.code(), e.message(), None, None)),
        };
        pump(&self.inner);
        promise
    }

    /// The optimistic view of an object, or `undefined`.
    pub fn get(&self, collection: String, id: JsValue) -> Result<JsValue, JsValue> {
        let id = id_of(id)?;
        Ok(self.inner.borrow().replica.get(&collection, &id).map_or(JsValue::UNDEFINED, |d| to_js(&d)))
    }

    /// The optimistic view of a collection, as an array of documents in id order.
    pub fn list(&self, collection: String) -> JsValue {
        let docs: Vec<_> = self.inner.borrow().replica.list(&collection).into_iter().map(|(_, d)| d).collect();
        to_js(&docs)
    }

    /// `{version, pending, deleted, lastError?}` of an object, or `undefined`.
    pub fn meta(&self, collection: String, id: JsValue) -> Result<JsValue, JsValue> {
        let id = id_of(id)?;
        let Some(m) = self.inner.borrow().replica.meta(&collection, &id) else { return Ok(JsValue::UNDEFINED) };
        let mut out = serde_json::json!({"version": m.version, "pending": m.pending, "deleted": m.deleted});
        if let Some((code, message)) = m.last_error {
            out["lastError"] = serde_json::json!({"code": code.as_str(), "message": message});
        }
        Ok(to_js(&out))
    }

    /// Calls `listener()` after any change of the collection's view; returns the unsubscribe.
    #[wasm_bindgen(js_name = onCollection)]
    pub fn on_collection(&self, collection: String, listener: js_sys::Function) -> js_sys::Function {
        add_listener(&self.inner, move |l| l.collections.entry(collection.clone()).or_default(), listener)
    }

    /// Calls `listener()` after any change of the object's view; returns the unsubscribe.
    #[wasm_bindgen(js_name = onDocument)]
    pub fn on_document(
        &self,
        collection: String,
        id: JsValue,
        listener: js_sys::Function,
    ) -> Result<js_sys::Function, JsValue> {
        let key = (collection, id_of(id)?.key());
        Ok(add_listener(&self.inner, move |l| l.documents.entry(key.clone()).or_default(), listener))
    }

    /// Calls `listener(status)` when the status or the number of pending changes changes;
    /// returns the unsubscribe.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(&self, listener: js_sys::Function) -> js_sys::Function {
        add_listener(&self.inner, |l| &mut l.status, listener)
    }

    /// Closes the connection for good; pending changes stay pending.
    pub fn close(&self) {
        let mut s = self.inner.borrow_mut();
        s.closed = true;
        s.timer = None;
        s.reconnect = None;
        if let Some(socket) = s.socket.take() {
            let bye = s.session.disconnect();
            socket.send(&bye);
            socket.close();
        }
        s.replica.disconnected();
    }

    /// Goes offline on purpose (an app's offline mode): changes queue until `reconnect()`.
    pub fn disconnect(&self) {
        {
            let mut s = self.inner.borrow_mut();
            s.closed = true;
            s.reconnect = None;
        }
        lost(&self.inner);
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
        open(&self.inner);
    }

    /// Drops the connection as if the network failed (for tests and demos): the store goes
    /// offline, then reconnects and resyncs.
    #[wasm_bindgen(js_name = dropConnection)]
    pub fn drop_connection(&self) {
        lost(&self.inner);
    }
}
