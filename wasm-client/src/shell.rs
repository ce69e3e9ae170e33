//! The shell around the engine: the WebSocket, the timers, the promises and the listeners.
//!
//! Everything runs on the browser's one thread: state lives in an `Rc<RefCell<_>>`. Every entry
//! point (a socket event, a timer, a call from JS) ends with [`pump`], which sends what the
//! engine queued, settles promises and notes what changed, then calls JS after the borrow is
//! released (a callback may call back into the store). Listeners are called once per batch,
//! from a timer, at most once per [`FRAME`]: a burst of messages costs one call per listener and
//! frame, with the changed documents, not one per message (a change after a quiet moment is
//! passed on at once). When the listeners take long (a view of thousands of rows re-rendered),
//! the batches grow so that they take at most a fifth of the time: ingesting stays as fast per
//! message at 20,000 objects as at 2,500.

use crate::convert::{to_js, to_js_items, Values};
use crate::errors::{connection_error, Error};
use crate::socket::{Socket, SocketEvent};
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};
use vmm_engine::{Engine, Output};
use vmm_protocol::Id;
use wasm_bindgen::prelude::*;

pub(crate) type Listener = (u32, js_sys::Function);

/// The shortest time between two calls of the listeners, in milliseconds: one frame at 60 Hz,
/// as often as a screen can show a change.
const FRAME: u64 = 16;

#[derive(Default)]
pub(crate) struct Listeners {
    pub(crate) next: u32,
    pub(crate) collections: HashMap<String, Vec<Listener>>,
    pub(crate) documents: HashMap<(String, String), Vec<Listener>>,
    pub(crate) status: Vec<Listener>,
    pub(crate) errors: Vec<Listener>,
}

/// What changed since the listeners were last called.
#[derive(Default)]
struct Dirty {
    /// Changed objects per collection (an empty map: the collection finished loading).
    collections: BTreeMap<String, BTreeMap<String, Id>>,
    status: bool,
}

pub(crate) struct Inner {
    pub(crate) engine: Engine,
    pub(crate) url: String,
    /// How documents are given to JS (the connect option `values`).
    pub(crate) values: Values,
    pub(crate) socket: Option<Socket>,
    pub(crate) closed: bool,
    pub(crate) backoff: u32,
    timer: Option<(u64, Timeout)>,
    pub(crate) reconnect: Option<Timeout>,
    flush: Option<Timeout>,
    /// Bytes to send, and the timer that sends them when they were produced by received bytes.
    outgoing: Vec<u8>,
    send_soon: bool,
    /// A zero-delay task queue that browsers do not clamp (timers wait ≥ 1–4 ms): posting to it
    /// runs `send_outgoing` as the next task.
    soon: Option<Soon>,
    /// How long the listeners took at the last flush, in milliseconds.
    flush_cost: u64,
    last_flush: u64,
    /// The promises of requests waiting for their outcome: resolve, reject, and the timer of
    /// their deadline if they have one.
    pub(crate) requests: HashMap<String, (js_sys::Function, js_sys::Function, Option<Timeout>)>,
    /// The default deadline of a request's promise, in milliseconds.
    pub(crate) request_timeout: Option<u64>,
    pub(crate) listeners: Listeners,
    dirty: Dirty,
    clock: Option<web_sys::Performance>,
}

pub(crate) type Shared = Rc<RefCell<Inner>>;

/// A message channel whose messages run [`send_outgoing`], and its handler.
type Soon = (web_sys::MessageChannel, Closure<dyn FnMut(JsValue)>);

impl Inner {
    pub(crate) fn new(engine: Engine, url: String) -> Inner {
        // `performance` is monotonic (the wall clock may jump); windows and workers both have it.
        let clock = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok().and_then(|p| p.dyn_into().ok());
        Inner {
            engine,
            url,
            values: Values::default(),
            socket: None,
            closed: false,
            backoff: 250,
            timer: None,
            reconnect: None,
            flush: None,
            outgoing: Vec::new(),
            send_soon: false,
            soon: None,
            flush_cost: 0,
            last_flush: 0,
            requests: HashMap::new(),
            request_timeout: None,
            listeners: Listeners::default(),
            dirty: Dirty::default(),
            clock,
        }
    }

    /// Milliseconds of a monotonic clock.
    pub(crate) fn now(&self) -> u64 {
        self.clock.as_ref().map_or_else(js_sys::Date::now, |p| p.now()) as u64
    }
}

pub(crate) fn open(inner: &Shared) {
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

fn on_socket(inner: &Shared, event: SocketEvent) {
    let send = {
        let mut s = inner.borrow_mut();
        let t = s.now();
        match event {
            SocketEvent::Open => {
                s.engine.transport_open(t);
                Send::Now
            }
            SocketEvent::Bytes(bytes) => {
                s.engine.handle_bytes(t, &bytes);
                Send::Soon
            }
            SocketEvent::Closed => {
                drop(s);
                return lost(inner);
            }
        }
    };
    pump_sending(inner, send);
}

/// When [`pump`] sends what the engine queued.
#[derive(Clone, Copy, PartialEq)]
enum Send {
    /// At once: the application asked for something, or the connection opened.
    Now,
    /// From a zero-delay timer: what received messages cause (acknowledgements, mostly) goes out
    /// in one WebSocket message per burst. A send is a synchronous call into the browser's
    /// network process, ~50 µs each in Chromium: one per received message was a fifth of the
    /// ingest time.
    Soon,
}

/// The connection is gone: tell the engine, and try again later.
pub(crate) fn lost(inner: &Shared) {
    {
        let mut s = inner.borrow_mut();
        if let Some(socket) = s.socket.take() {
            socket.close();
        }
        // Bytes of the lost connection: the session sends again what was not acknowledged.
        s.outgoing.clear();
        let t = s.now();
        s.engine.transport_closed(t);
    }
    pump(inner);
    schedule_reconnect(inner);
}

fn schedule_reconnect(inner: &Shared) {
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

/// Sends what the engine queued, settles promises, notes changes, and arms the timers; then
/// settles the promises (after the borrow is released).
pub(crate) fn pump(inner: &Shared) {
    pump_sending(inner, Send::Now);
}

fn pump_sending(inner: &Shared, send: Send) {
    let mut settled: Vec<(js_sys::Function, JsValue)> = Vec::new();
    let mut dead = false;
    {
        let mut guard = inner.borrow_mut();
        let s = &mut *guard;
        while let Some(bytes) = s.engine.poll_transmit() {
            s.outgoing.extend_from_slice(&bytes);
        }
        if send == Send::Now {
            send_outgoing(s);
        } else if !s.outgoing.is_empty() && !s.send_soon {
            send_soon(inner, s);
        }
        while let Some(output) = s.engine.poll_output() {
            match output {
                Output::Outcome { rid, result } => {
                    let Some((resolve, reject, _deadline)) = s.requests.remove(&rid) else { continue };
                    settled.push(match result {
                        Ok(event) => (resolve, to_js(&event.to_value(), s.values)),
                        Err(r) => (reject, Error::rollback(r.code, r.message, r.current, rid).into()),
                    });
                }
                Output::Changed { collection, id } => {
                    s.dirty.collections.entry(collection).or_default().insert(id.key(), id);
                }
                Output::Loaded { collection } => {
                    s.dirty.collections.entry(collection).or_default();
                }
                Output::Status { .. } => s.dirty.status = true,
                Output::Lost { reason } => {
                    web_sys::console::warn_1(&format!("vmm: connection lost: {reason}").into());
                    dead = true;
                }
                Output::Ignored { topic, reason } => {
                    web_sys::console::warn_1(&format!("vmm: ignored a message on {topic}: {reason}").into())
                }
                Output::SubscriptionRefused { filter, collection } => {
                    web_sys::console::error_1(&format!("vmm: the broker refused the subscription {filter}").into());
                    if let Some(c) = collection {
                        s.dirty.collections.entry(c).or_default();
                    }
                }
                Output::ConnectionFailed(problem) => {
                    let error = connection_error(problem.kind.as_str(), &problem.message);
                    if s.listeners.errors.is_empty() {
                        web_sys::console::warn_1(&format!("vmm: cannot reach the broker: {}", problem.message).into());
                    }
                    settled.extend(s.listeners.errors.iter().map(|(_, f)| (f.clone(), error.clone())));
                }
                _ => {}
            }
        }
        if s.engine.status() == vmm_engine::Status::Online {
            s.backoff = 250;
        }
        arm_timer(inner, s);
        if (s.dirty.status || !s.dirty.collections.is_empty()) && s.flush.is_none() {
            let weak = Rc::downgrade(inner);
            let delay = (s.last_flush + FRAME.max(4 * s.flush_cost)).saturating_sub(s.now());
            s.flush = Some(Timeout::new(delay as u32, move || {
                if let Some(inner) = weak.upgrade() {
                    flush(&inner);
                }
            }));
        }
    }
    for (f, arg) in settled {
        call(&f, &arg);
    }
    if dead {
        lost(inner);
    }
}

/// Writes the queued bytes to the socket, as one WebSocket message (MQTT packets need not align
/// with WebSocket messages, MQTT 3.1.1 §6).
/// Schedules [`send_outgoing`] as the next task (falling back to sending at once).
fn send_soon(inner: &Shared, s: &mut Inner) {
    if s.soon.is_none() {
        let weak = Rc::downgrade(inner);
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            if let Some(inner) = weak.upgrade() {
                send_outgoing(&mut inner.borrow_mut());
            }
        });
        s.soon = web_sys::MessageChannel::new().ok().map(|channel| {
            channel.port1().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            (channel, on_message)
        });
    }
    match &s.soon {
        Some((channel, _)) if channel.port2().post_message(&JsValue::NULL).is_ok() => s.send_soon = true,
        _ => send_outgoing(s),
    }
}

pub(crate) fn send_outgoing(s: &mut Inner) {
    s.send_soon = false;
    if let Some(socket) = &s.socket {
        if !s.outgoing.is_empty() {
            socket.send(&s.outgoing);
        }
    }
    s.outgoing.clear();
}

/// One timer, for the engine's next deadline. It is re-armed only when the deadline comes
/// sooner: the keep-alive deadline moves later with every message, and a timer that fires early
/// costs one look at the engine, where re-arming on every message cost a `setTimeout` and a
/// `clearTimeout` each.
fn arm_timer(inner: &Shared, s: &mut Inner) {
    let next = s.engine.poll_timeout();
    let armed = s.timer.as_ref().map(|(at, _)| *at);
    if armed == next || matches!((armed, next), (Some(a), Some(n)) if a <= n) {
        return;
    }
    let t = s.now();
    s.timer = next.map(|at| {
        let weak = Rc::downgrade(inner);
        let timeout = Timeout::new(at.saturating_sub(t).min(u32::MAX as u64) as u32, move || {
            if let Some(inner) = weak.upgrade() {
                {
                    let mut s = inner.borrow_mut();
                    s.timer = None;
                    let t = s.now();
                    s.engine.handle_timeout(t);
                }
                pump(&inner);
            }
        });
        (at, timeout)
    });
}

/// Calls the listeners of what changed since the last flush: a collection's listeners get the
/// changed documents as `[{key, id, doc}]` (`doc` undefined when gone), built once per batch.
fn flush(inner: &Shared) {
    let mut calls: Vec<(js_sys::Function, JsValue)> = Vec::new();
    {
        let mut guard = inner.borrow_mut();
        let s = &mut *guard;
        s.flush = None;
        let dirty = std::mem::take(&mut s.dirty);
        let replica = s.engine.replica();
        for (collection, changed) in &dirty.collections {
            let listeners = s.listeners.collections.get(collection).map_or(&[][..], Vec::as_slice);
            if !listeners.is_empty() {
                let changes: Vec<serde_json::Value> = changed
                    .iter()
                    .map(|(key, id)| {
                        let doc =
                            replica.get(collection, id).map_or(serde_json::Value::Null, serde_json::Value::Object);
                        let pending = replica.meta(collection, id).map_or(0, |m| m.pending);
                        entry(key, id, doc, pending)
                    })
                    .collect();
                let changes = to_js_items(&changes, s.values);
                calls.extend(listeners.iter().map(|(_, f)| (f.clone(), changes.clone())));
            }
            for key in changed.keys() {
                let listeners = s.listeners.documents.get(&(collection.clone(), key.clone()));
                calls.extend(listeners.into_iter().flatten().map(|(_, f)| (f.clone(), JsValue::UNDEFINED)));
            }
        }
        if dirty.status {
            let status = JsValue::from_str(s.engine.status().as_str());
            calls.extend(s.listeners.status.iter().map(|(_, f)| (f.clone(), status.clone())));
        }
    }
    let started = inner.borrow().now();
    for (f, arg) in calls {
        call(&f, &arg);
    }
    // The cost is read in a microtask queued now, so after the ones the listeners queued: Vue
    // renders in a microtask after a ref changed, and that render is most of the cost. (Counting
    // the browser's layout and paint too, from the next animation frame, was measured: it made
    // the batches larger and the last rows later, and ingest no faster.)
    let weak = Rc::downgrade(inner);
    let measure = Closure::once_into_js(move || {
        if let Some(inner) = weak.upgrade() {
            let mut s = inner.borrow_mut();
            s.last_flush = s.now();
            s.flush_cost = s.last_flush.saturating_sub(started);
        }
    });
    let queue = js_sys::Reflect::get(&js_sys::global(), &"queueMicrotask".into());
    match queue.ok().and_then(|q| q.dyn_into::<js_sys::Function>().ok()) {
        Some(queue) => {
            let _ = queue.call1(&JsValue::NULL, &measure);
        }
        None => {
            let now = inner.borrow().now();
            inner.borrow_mut().last_flush = now;
        }
    }
}

/// One entry of `entries()` and of a collection listener's changes: `pending` counts this
/// store's unconfirmed changes of the object.
pub(crate) fn entry(key: &str, id: &Id, doc: serde_json::Value, pending: usize) -> serde_json::Value {
    serde_json::json!({"key": key, "id": id.to_value(), "doc": doc, "pending": pending})
}

/// The deadline of a request's promise: after `ms` it rejects with a `TimeoutError` (outcome
/// unknown) and forgets the promise; the change itself stays pending (§6.4).
pub(crate) fn deadline(inner: &Shared, rid: &str, ms: u64) -> Timeout {
    let weak = Rc::downgrade(inner);
    let rid = rid.to_string();
    Timeout::new(ms.min(u64::from(u32::MAX)) as u32, move || {
        let Some(inner) = weak.upgrade() else { return };
        let Some((_, reject, _)) = inner.borrow_mut().requests.remove(&rid) else { return };
        let message = format!(
            "no outcome within {ms} ms: the change stays pending and is resent; its event will still confirm it"
        );
        let error = Error::rollback(vmm_protocol::Code::Timeout, message, None, rid.clone());
        call(&reject, &error.into());
    })
}

fn call(f: &js_sys::Function, arg: &JsValue) {
    if let Err(e) = f.call1(&JsValue::NULL, arg) {
        web_sys::console::error_2(&"vmm: a listener threw".into(), &e);
    }
}
