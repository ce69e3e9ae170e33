//! The bridge role (§6.2, §9, §10, §11, §12), with no IO: [`Bridge`] handles a request, a
//! failure or a load over a [`Storage`] and returns the [`Effect`]s for its shell to carry out
//! (replies to send, events to publish in order). The shell owns the sockets and the clock; the
//! time is passed in.
//!
//! The same handlers run in the reference bridge (`vmm-bridge`, over MongoDB), in this crate's
//! simulation tests and conformance vectors (over [`MemoryStorage`]), and in the example below.
//!
//! ```
//! use vmm_protocol::bridge::{ready, Bridge, BridgeConfig, Effect, MemoryStorage};
//! use vmm_protocol::topic::Topics;
//!
//! let bridge = Bridge::new(MemoryStorage::default(), BridgeConfig::default());
//! let topics = Topics::default();
//! let request = br#"{"type":"request","rid":"r1","collection":"tasks","id":"t1","base":0,"op":"insert","doc":{"title":"milk"}}"#;
//! // A shell would do this for every message it receives, on any runtime.
//! let handled = ready(bridge.handle(1_000, &topics.request("alice", "tasks"), request));
//! assert_eq!(handled.outcome, "applied");
//! let Effect::Publish(event) = &handled.effects[0] else { panic!("expected an event") };
//! assert_eq!(event.event.version, 1);
//! assert_eq!(event.topic, topics.event("tasks", &event.event.id));
//! ```
//!
//! ## Layout
//!
//! | file | job |
//! |---|---|
//! | `storage` | the [`Storage`] interface: point operations only |
//! | `state` | an object's current state: the cache, reading, rolling forward from the log |
//! | `request` | the request lifecycle: validate, authorise, decide, record, write |
//! | `rules` | permissions: grants per collection and operation, the owner field, schemas |
//! | `read` | answers to failures (replays) and loads (snapshot pages) |
//! | `cache` | the bounded cache of object states |
//! | `memory` | [`MemoryStorage`], for tests and simulations |

mod cache;
mod memory;
mod read;
mod request;
mod rules;
mod state;
mod storage;
#[cfg(test)]
mod tests;

pub use memory::MemoryStorage;
pub use read::MAX_REPLAY_EVENTS;
pub use request::MAX_MERGE_SPAN;
pub use rules::{CollectionRules, Grant, Rules, RulesError, Schema, Unlisted};
pub use storage::{LoggedEvent, Recorded, Storage, StorageError, StorageResult};

use crate::limits::Limits;
use crate::topic::{Route, Topics};
use cache::Cache;
use std::sync::Mutex;

/// Which collections a bridge serves (§6.2 step 2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Served {
    /// Every collection except the reserved ones (`vmm_*`, `system.*`).
    #[default]
    All,
    /// Only these.
    Only(Vec<String>),
}

impl Served {
    /// Whether requests, failures and loads on `collection` are served.
    pub fn allows(&self, collection: &str) -> bool {
        match self {
            Served::All => !is_reserved(collection),
            Served::Only(list) => list.iter().any(|c| c == collection),
        }
    }
}

/// Whether `collection` is reserved for the bridge's own bookkeeping.
pub fn is_reserved(collection: &str) -> bool {
    collection.starts_with("vmm_") || collection.starts_with("system.")
}

/// How a [`Bridge`] behaves.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The topic prefix.
    pub topics: Topics,
    /// The limits requests are checked against.
    pub limits: Limits,
    /// The collections served.
    pub served: Served,
    /// Objects per page of a collection load without `limit` (§12).
    pub page_size: u32,
    /// Entries per page of a versions load without `limit` (§12.4): an entry is some 60 bytes.
    pub versions_page_size: u32,
    /// Most object states kept in the cache (0: no cache).
    pub cache_entries: usize,
    /// How long a cached state is used, in ms. Must stay far below the event retention.
    pub cache_ttl_ms: u64,
    /// Who may do what (§6.3); the default allows everything.
    pub rules: Rules,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            topics: Topics::default(),
            limits: Limits::default(),
            served: Served::All,
            page_size: DEFAULT_PAGE_SIZE,
            versions_page_size: DEFAULT_VERSIONS_PAGE_SIZE,
            cache_entries: 10_000,
            cache_ttl_ms: 20_000,
            rules: Rules::default(),
        }
    }
}

/// Objects per page of a collection load that names no `limit` (§12).
pub const DEFAULT_PAGE_SIZE: u32 = 200;

/// Entries per page of a versions load that names no `limit` (§12.4). As large as a payload
/// holds for ObjectId ids (some 50 bytes an entry): every page is one collection read, and on
/// FerretDB a read past a cursor scans the collection, so fewer pages is what makes a resync by
/// versions cheap (docs/BENCHMARKS.md, scenario 9).
pub const DEFAULT_VERSIONS_PAGE_SIZE: u32 = 4000;

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Publish `payload` to `topic` (a reply topic) with QoS 1.
    Reply {
        /// The requester's reply topic.
        topic: String,
        /// The reject, event, replay or snapshot.
        payload: Vec<u8>,
    },
    /// Publish this recorded and written event on its event topic, after every earlier event of
    /// the object was acknowledged by the broker (§10). May repeat an event already published.
    Publish(Box<Publication>),
    /// The object's event is recorded but its state could not be written yet: call
    /// [`Bridge::roll_forward`] for it again later, until it succeeds.
    RollForward {
        /// The collection.
        collection: String,
        /// The object.
        id: crate::Id,
    },
}

/// An event to publish, with its topic and its payload as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// The event.
    pub event: crate::message::Event,
    /// Its event topic.
    pub topic: String,
    /// The payload, as recorded.
    pub payload: Vec<u8>,
}

/// What [`Bridge::handle`] did with one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Handled {
    /// What the shell must do, in order.
    pub effects: Vec<Effect>,
    /// For metrics and logs: `applied`, `duplicate`, a reject code, `replay`, `snapshot`,
    /// `load`, `forbidden` (a load or failure the rules refuse), or `ignored`.
    pub outcome: &'static str,
    /// A storage error met on the way (the message was answered `internal`, or not at all).
    pub error: Option<StorageError>,
}

impl Handled {
    fn new(outcome: &'static str) -> Handled {
        Handled { effects: Vec::new(), outcome, error: None }
    }
}

/// The bridge role over a storage.
#[derive(Debug)]
pub struct Bridge<S> {
    storage: S,
    config: BridgeConfig,
    cache: Mutex<Cache>,
}

impl<S: Storage> Bridge<S> {
    /// A bridge over `storage`.
    pub fn new(storage: S, config: BridgeConfig) -> Bridge<S> {
        let cache = Mutex::new(Cache::new(config.cache_entries, config.cache_ttl_ms));
        Bridge { storage, config, cache }
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The configuration.
    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    /// Handles one message received on `topic` at `now` (ms since the Unix epoch). Never fails:
    /// errors are answered (`internal`) or logged by the shell from [`Handled::error`].
    pub async fn handle(&self, now: u64, topic: &str, payload: &[u8]) -> Handled {
        match self.config.topics.parse(topic) {
            Ok(Route::Request { client, collection }) => self.on_request(now, &client, &collection, payload).await,
            Ok(Route::Failure { client, collection }) => self.on_failure(now, &client, &collection, payload).await,
            Ok(Route::Load { client, collection }) => self.on_load(now, &client, &collection, payload).await,
            Ok(_) => Handled::new("ignored"),
            Err(v) => match self.config.topics.requester(topic) {
                Some(client) => self.on_bad_request_topic(&client, payload, v),
                None => Handled::new("ignored"),
            },
        }
    }

    /// Drops expired cache entries; a shell calls it now and then so that an idle bridge gives
    /// its memory back.
    pub fn expire(&self, now: u64) {
        self.cache.lock().expect("cache lock").expire(now);
    }

    /// How many object states are cached.
    pub fn cached(&self) -> usize {
        self.cache.lock().expect("cache lock").len()
    }
}

/// Runs a future that never waits, such as any handler over [`MemoryStorage`], to completion.
///
/// # Panics
/// If the future is not ready at once.
pub fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("ready: the future waited"),
    }
}
