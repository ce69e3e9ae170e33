//! The native client: the [`Engine`] over a tokio TCP connection (`mqtt://host:port`), or TLS
//! (`mqtts://host:port`, with [`ClientOptions::tls`]: a CA file, else the OS roots, and an
//! optional client certificate).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vmm_engine::native::{Client, ClientOptions};
//! let client = Client::connect(ClientOptions::new("mqtt://127.0.0.1:1883", "alice"))?;
//! client.watch("tasks").await?;
//! let event = client
//!     .request("tasks", serde_json::json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}}))
//!     .await?;
//! assert_eq!(event.version, 1);
//! # Ok(()) }
//! ```
//!
//! On a secured broker, the identity in topics is the user name (PROTOCOL §2.3) and the client
//! id is namespaced by it:
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vmm_engine::native::{Client, ClientOptions};
//! use vmm_engine::tls::TlsFiles;
//! let mut options = ClientOptions::new("mqtts://127.0.0.1:8883", "alice:laptop");
//! options.credentials = Some(("alice".into(), "alice-secret".into()));
//! options.tls = TlsFiles::new().with_ca_file(".run/secure/ca.crt");
//! let client = Client::connect(options)?; // publishes on vmm/v1/req/alice/...
//! # Ok(()) }
//! ```
//!
//! One task owns the connection: it reads bytes into the engine, writes what the engine sends,
//! sleeps until the engine's next timer, and reconnects with back-off when the connection ends.
//! The application's calls lock the engine, act, and wake that task. Time is a monotonic clock
//! read by this shell only ([`std::time::Instant`]), passed to the engine in milliseconds.

mod connection;

use crate::{Engine, Options, Output, Rollback, Status};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use vmm_protocol::message::Event;
use vmm_protocol::message::ObjectState;
use vmm_protocol::replica::{Replica, Resync};
use vmm_protocol::topic::Topics;
use vmm_protocol::{Code, Document, Id, Value, Violation};

/// How to connect. Its `Debug` prints the password as `***`.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// `mqtt://host:port` (port 1883 if left out), or `mqtts://host:port` (TLS, port 8883 if
    /// left out; `ssl://` is accepted too).
    pub mqtt_url: String,
    /// The MQTT client id. Without credentials it is also the client's identity in topics.
    pub client_id: String,
    /// The MQTT user name and password, if the broker wants them. The user name is then the
    /// identity in topics (unless [`ClientOptions::identity`] says otherwise).
    pub credentials: Option<(String, String)>,
    /// The identity in topics, when neither the user name nor the client id is (a broker that
    /// takes it from a client certificate's common name).
    pub identity: Option<String>,
    /// For `mqtts://`: the CA bundle to trust (else the OS roots) and the client certificate to
    /// present, if any. Unused for `mqtt://`.
    pub tls: crate::tls::TlsFiles,
    /// The topic prefix.
    pub prefix: String,
    /// How long [`Client::request`] waits for the outcome before it returns `timeout` (the
    /// outcome is then unknown: the change stays pending and is resent, and its event still
    /// confirms it in the replica). `None` waits for the outcome however long it takes.
    pub request_timeout: Option<Duration>,
    /// How long to wait for a snapshot page before asking again.
    pub load_retry: Duration,
    /// How long to wait for a request's outcome before publishing it again (doubling).
    pub resend_after: Duration,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// How a collection the replica holds objects of (after a reconnect, or after
    /// [`Client::restore`]) is loaded again: every document (the default), or only what differs
    /// by version ([`Resync::Versions`], PROTOCOL §12.4, a bridge of draft 6 or later).
    pub resync: Resync,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("mqtt_url", &self.mqtt_url)
            .field("client_id", &self.client_id)
            .field("credentials", &self.credentials.as_ref().map(|(user, _)| (user, "***")))
            .field("identity", &self.identity)
            .field("tls", &self.tls)
            .field("prefix", &self.prefix)
            .field("request_timeout", &self.request_timeout)
            .field("load_retry", &self.load_retry)
            .field("resend_after", &self.resend_after)
            .field("keep_alive", &self.keep_alive)
            .field("resync", &self.resync)
            .finish()
    }
}

impl ClientOptions {
    /// Options with the protocol's defaults.
    pub fn new(mqtt_url: &str, client_id: &str) -> ClientOptions {
        ClientOptions {
            mqtt_url: mqtt_url.to_string(),
            client_id: client_id.to_string(),
            credentials: None,
            identity: None,
            tls: crate::tls::TlsFiles::default(),
            prefix: Topics::DEFAULT_PREFIX.to_string(),
            request_timeout: Some(Duration::from_secs(60)),
            load_retry: Duration::from_secs(10),
            resend_after: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            resync: Resync::Documents,
        }
    }

    fn engine_options(&self) -> Options {
        let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        // Unique per process and start: request ids must never repeat for this client (§9).
        let id_prefix = format!("{:x}{:x}", std::process::id(), start.as_nanos() % 0xffff_ffff_ffff);
        let mut o = Options::new(&self.client_id, &id_prefix);
        o.prefix = self.prefix.clone();
        o.identity = self.identity.clone();
        if let Some((user, password)) = &self.credentials {
            o.username = Some(user.clone());
            o.password = Some(password.clone().into_bytes());
        }
        o.keep_alive_secs = self.keep_alive.as_secs().min(u64::from(u16::MAX)) as u16;
        o.load_retry = self.load_retry.as_millis() as u64;
        o.resend_after = self.resend_after.as_millis() as u64;
        o.resync = self.resync;
        o
    }
}

/// Why a request did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RequestError {
    /// The reject code, or `aborted` / `cancelled` / `timeout` (the outcome is unknown), or the
    /// local refusal's code.
    pub code: Code,
    /// A human-readable explanation.
    pub message: String,
    /// The object's stored version, when the bridge said.
    pub current: Option<u64>,
}

impl From<Violation> for RequestError {
    fn from(v: Violation) -> Self {
        RequestError { code: v.code(), message: v.message().to_string(), current: None }
    }
}

impl From<Rollback> for RequestError {
    fn from(r: Rollback) -> Self {
        RequestError { code: r.code, message: r.message, current: r.current }
    }
}

/// Why the client cannot do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The options are unusable.
    #[error("bad options: {0}")]
    Options(String),
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
}

/// The engine and who waits on it.
struct State {
    engine: Engine,
    waiting: HashMap<String, oneshot::Sender<Result<Event, RequestError>>>,
    watchers: Vec<(String, oneshot::Sender<()>)>,
    /// Why the connection ended, when the engine said so; the connection task takes it.
    lost: Option<String>,
    /// Who receives a copy of every output ([`Client::outputs`]).
    listeners: Vec<mpsc::UnboundedSender<Output>>,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the connection task after a call queued something to send.
    wake: Notify,
    /// Counts changes, for [`Client::wait_for`].
    changed: watch::Sender<u64>,
    start: Instant,
    request_timeout: Option<Duration>,
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands the engine's outputs to whoever waits for them.
    fn settle(&self, state: &mut State) {
        let mut any = false;
        while let Some(output) = state.engine.poll_output() {
            any = true;
            if !state.listeners.is_empty() {
                state.listeners.retain(|tx| tx.send(output.clone()).is_ok());
            }
            match output {
                Output::Outcome { rid, result } => {
                    if let Some(tx) = state.waiting.remove(&rid) {
                        let _ = tx.send(result.map_err(RequestError::from));
                    }
                }
                Output::Watching { collection } => {
                    let (done, rest) =
                        std::mem::take(&mut state.watchers).into_iter().partition(|(c, _)| *c == collection);
                    state.watchers = rest;
                    for (_, tx) in done {
                        let _ = tx.send(());
                    }
                }
                Output::Ignored { topic, reason } => {
                    tracing_free_log(&format!("ignored a message on {topic}: {reason}"))
                }
                Output::SubscriptionRefused { filter, .. } => {
                    tracing_free_log(&format!("subscription refused: {filter}"))
                }
                Output::ConnectionFailed(problem) => {
                    tracing_free_log(&format!("cannot reach the broker: {}", problem.message))
                }
                Output::Lost { reason } => state.lost = Some(reason),
                _ => {}
            }
        }
        if any {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// Runs `f` on the state and settles what it caused (for the connection task).
    fn step<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> T {
        let mut state = self.lock();
        let result = f(&mut state, self.now());
        self.settle(&mut state);
        result
    }

    /// [`Shared::step`] for the application: then wakes the connection task to send what the
    /// call queued.
    fn act<T>(&self, f: impl FnOnce(&mut State, u64) -> T) -> T {
        let result = self.step(f);
        self.wake.notify_one();
        result
    }
}

/// The native client logs to stderr only when `VMM_CLIENT_LOG` is set: a library should not
/// choose a logging framework for its application.
fn tracing_free_log(message: &str) {
    if std::env::var_os("VMM_CLIENT_LOG").is_some() {
        eprintln!("vmm-engine: {message}");
    }
}

/// A client with its replica, connected in the background (reconnecting with back-off).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Starts connecting in the background and returns at once. Needs a tokio runtime. Fails at
    /// once on a bad URL or a TLS file that cannot be read or parsed (named in the error).
    pub fn connect(options: ClientOptions) -> Result<Client, ClientError> {
        let target = connection::Target::parse(&options.mqtt_url, &options.tls).map_err(ClientError::Options)?;
        let engine = Engine::new(options.engine_options()).map_err(|e| ClientError::Options(e.to_string()))?;
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine,
                waiting: HashMap::new(),
                watchers: Vec::new(),
                lost: None,
                listeners: Vec::new(),
                closed: false,
            }),
            wake: Notify::new(),
            changed,
            start: Instant::now(),
            request_timeout: options.request_timeout,
        });
        tokio::spawn(connection::run(shared.clone(), target));
        Ok(Client { shared })
    }

    /// Takes confirmed states kept from an earlier run, before the collection is watched (see
    /// [`Replica::restore`]); with [`ClientOptions::resync`] set to [`Resync::Versions`], the load
    /// that follows fetches only the objects whose version differs. Returns how many were taken.
    pub fn restore(&self, collection: &str, states: impl IntoIterator<Item = ObjectState>) -> usize {
        self.shared.act(|state, _| state.engine.restore(collection, states))
    }

    /// A copy of every [`Output`] from now on (changed objects, loads, status), for an
    /// application that keeps its own store in step: a consumer such as a mirror. Unbounded:
    /// the receiver must keep up (or be dropped, which ends the copies).
    pub fn outputs(&self) -> mpsc::UnboundedReceiver<Output> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.shared.lock().listeners.push(tx);
        rx
    }

    /// Follows a collection: subscribes to its events, then loads it. Returns once subscribed;
    /// see [`Client::wait_for`] to wait for the load.
    pub async fn watch(&self, collection: &str) -> Result<(), ClientError> {
        let waiting = self.shared.act(|state, now| {
            if state.closed {
                return Err(ClientError::Closed);
            }
            if state.engine.replica().watches(collection) {
                return Ok(None);
            }
            let (tx, rx) = oneshot::channel();
            state.watchers.push((collection.to_string(), tx));
            state.engine.watch(now, collection).map_err(|e| ClientError::Options(e.to_string()))?;
            Ok(Some(rx))
        })?;
        match waiting {
            Some(rx) => rx.await.map_err(|_| ClientError::Closed),
            None => Ok(()),
        }
    }

    /// Makes a change (see [`Replica::request`] for `op`): visible at once in [`Client::get`],
    /// resolved with the confirming event or the reason for its rollback.
    pub async fn request(&self, collection: &str, op: Value) -> Result<Event, RequestError> {
        let (rid, rx) = self.shared.act(|state, now| {
            let rid = state.engine.request(now, collection, op)?;
            let (tx, rx) = oneshot::channel();
            state.waiting.insert(rid.clone(), tx);
            Ok::<_, RequestError>((rid, rx))
        })?;
        let closed = || RequestError { code: Code::Internal, message: "the client is closed".into(), current: None };
        let Some(deadline) = self.shared.request_timeout else { return rx.await.map_err(|_| closed())? };
        match tokio::time::timeout(deadline, rx).await {
            Ok(outcome) => outcome.map_err(|_| closed())?,
            Err(_) => {
                self.shared.lock().waiting.remove(&rid);
                Err(RequestError {
                    code: Code::Timeout,
                    message: format!(
                        "no outcome within {deadline:?}: the change stays pending and may still be applied"
                    ),
                    current: None,
                })
            }
        }
    }

    /// Cancels this client's pending changes of an object (rolled back with `cancelled`; one
    /// already sent may still be applied). Returns how many.
    pub fn cancel(&self, collection: &str, id: &Id) -> usize {
        self.shared.act(|state, now| state.engine.cancel(now, collection, id).len())
    }

    /// Stops following a collection (see [`crate::Engine::unwatch`]).
    pub fn unwatch(&self, collection: &str) -> Result<(), ClientError> {
        self.shared
            .act(|state, now| state.engine.unwatch(now, collection).map_err(|e| ClientError::Options(e.to_string())))
    }

    /// Why the broker cannot be reached, while it cannot.
    pub fn problem(&self) -> Option<crate::Problem> {
        self.shared.lock().engine.problem().cloned()
    }

    /// How many bridges announce themselves on the prefix.
    pub fn bridges(&self) -> usize {
        self.shared.lock().engine.bridges()
    }

    /// The optimistic view of an object.
    pub fn get(&self, collection: &str, id: &Id) -> Option<Document> {
        self.with_replica(|r| r.get(collection, id))
    }

    /// The optimistic view of a collection.
    pub fn list(&self, collection: &str) -> Vec<(Id, Document)> {
        self.with_replica(|r| r.list(collection))
    }

    /// The confirmed version of an object (0 if unknown).
    pub fn version(&self, collection: &str, id: &Id) -> u64 {
        self.with_replica(|r| r.confirmed(collection, id).map_or(0, |(v, _)| v))
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.shared.lock().engine.status()
    }

    /// How many changes are pending.
    pub fn pending_count(&self) -> usize {
        self.shared.lock().engine.pending_count()
    }

    /// Runs `f` on the replica.
    pub fn with_replica<T>(&self, f: impl FnOnce(&Replica) -> T) -> T {
        f(self.shared.lock().engine.replica())
    }

    /// Waits until `check` holds for the replica, re-checking on every change, for at most
    /// `timeout`. Returns whether it held.
    pub async fn wait_for(&self, timeout: Duration, mut check: impl FnMut(&Replica) -> bool) -> bool {
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.with_replica(&mut check) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return self.with_replica(&mut check),
            }
        }
    }

    /// Disconnects for good; pending changes stay pending (and are lost with the client).
    pub async fn disconnect(&self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let mut changes = self.shared.changed.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.status().is_connected() {
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientOptions;

    #[test]
    fn the_options_debug_hides_the_password_and_the_user_name_is_the_identity() {
        let mut options = ClientOptions::new("mqtt://127.0.0.1:1884", "alice:laptop");
        options.credentials = Some(("alice".into(), "alice-secret".into()));
        let debug = format!("{options:?}");
        assert!(!debug.contains("alice-secret") && debug.contains("***"), "{debug}");
        let engine_options = options.engine_options();
        assert_eq!(engine_options.identity(), "alice");
        assert_eq!(engine_options.client_id, "alice:laptop");
    }
}
