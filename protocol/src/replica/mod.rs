//! The consumer's replica (§5, §6.1, §6.4, §11, §12): confirmed objects with their versions, an
//! overlay of this client's pending changes, and the decisions that keep both right.
//!
//! The replica does no IO and reads no clock. Its shell (the browser client, the native client)
//! subscribes to [`Replica::subscriptions`], feeds it what arrives with [`Replica::handle`], tells
//! it about the connection ([`Replica::connected`], [`Replica::disconnected`]) and the time
//! ([`Replica::handle_timeout`] at [`Replica::poll_timeout`]), publishes with QoS 1 whatever
//! [`Replica::poll_transmit`] returns, and shows [`Replica::get`] and [`Replica::list`], refreshed
//! on the [`Notice`]s of [`Replica::poll_notice`].
//!
//! ```
//! use vmm_protocol::replica::{Config, Notice, Replica};
//! use serde_json::json;
//!
//! let mut replica = Replica::new(Config::new("alice", "s1").unwrap());
//! replica.watch_collection(0, "tasks").unwrap();
//! replica.connected(0); // sends a load of "tasks"
//! let load = replica.poll_transmit().unwrap();
//! assert_eq!(load.topic, "vmm/v1/load/alice/tasks");
//! let lid = serde_json::from_slice::<serde_json::Value>(&load.payload).unwrap()["lid"].clone();
//! let page = json!({"type": "snapshot", "lid": lid, "collection": "tasks", "objects": [], "next": null});
//! replica.handle(1, "vmm/v1/reply/alice", page.to_string().as_bytes()).unwrap();
//!
//! // An optimistic insert: visible at once, pending until its event arrives.
//! let rid = replica
//!     .request(2, "tasks", json!({"op": "insert", "id": "t1", "doc": {"title": "milk"}}))
//!     .unwrap();
//! assert_eq!(replica.get("tasks", &"t1".parse().unwrap()).unwrap()["title"], "milk");
//! assert_eq!(replica.pending_count(), 1);
//! let request = replica.poll_transmit().unwrap();
//! assert_eq!(request.topic, "vmm/v1/req/alice/tasks");
//!
//! let event = json!({"type": "event", "collection": "tasks", "id": "t1", "prev": 0, "version": 1,
//!     "client": "alice", "rid": rid, "op": "insert", "doc": {"_id": "t1", "title": "milk"}});
//! replica.handle(3, "vmm/v1/evt/tasks/s:t1", event.to_string().as_bytes()).unwrap();
//! assert_eq!(replica.pending_count(), 0);
//! assert!(std::iter::from_fn(|| replica.poll_notice()).any(|n| matches!(n, Notice::Confirmed { .. })));
//! ```

mod control;
mod incoming;
mod load;
mod object;
mod outgoing;
mod pending;
#[cfg(test)]
mod tests;
mod timers;

use crate::error::{Code, Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::message::{Change, Event, Message, Request};
use crate::topic::{self, Route, Topics};
use crate::value::{Document, Value};
use load::LoadJob;
use object::ObjectEntry;
use pending::Pending;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// How a replica behaves. Times are in milliseconds of whatever clock the shell passes in.
#[derive(Debug, Clone)]
pub struct Config {
    /// This client's identity, as the broker binds it (the `{client}` topic level).
    pub client: String,
    /// A prefix that makes this session's request and load ids unique forever (random, chosen
    /// by the shell; at most 40 characters of `[A-Za-z0-9._:~-]`).
    pub id_prefix: String,
    /// The topic scheme.
    pub topics: Topics,
    /// The limits.
    pub limits: Limits,
    /// Publish a request in flight again after this long without an outcome (doubling).
    pub resend_after: u64,
    /// The longest back-off between resends, failures and loads.
    pub max_backoff: u64,
    /// Send a failure again after this long if the gap is still open (doubling).
    pub failure_retry: u64,
    /// Ask for a snapshot page again after this long.
    pub load_retry: u64,
    /// How many early events to keep per object.
    pub max_early: usize,
    /// How a collection this replica already holds objects of is loaded again (after a
    /// reconnect, or after [`Replica::restore`]).
    pub resync: Resync,
}

/// How a replica loads again a collection it holds objects of (§12.3, §12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resync {
    /// Load every document again (§12.1): one pass, any bridge of protocol v1.
    #[default]
    Documents,
    /// List the versions of the live objects and fetch only the objects that differ (§12.4):
    /// what travels is an id and a version per object plus what changed. Needs a bridge of
    /// draft 6 or later.
    Versions,
}

impl Config {
    /// The defaults of the protocol for a client and an id prefix.
    pub fn new(client: &str, id_prefix: &str) -> Result<Config> {
        topic::check_client(client)?;
        if id_prefix.len() > 40 {
            return Err(Violation::malformed("the id prefix is at most 40 characters"));
        }
        topic::check_token("id prefix", id_prefix)?;
        Ok(Config {
            client: client.to_string(),
            id_prefix: id_prefix.to_string(),
            topics: Topics::default(),
            limits: Limits::default(),
            resend_after: 10_000,
            max_backoff: 60_000,
            failure_retry: 5_000,
            load_retry: 10_000,
            max_early: 64,
            resync: Resync::Documents,
        })
    }
}

/// A message to publish, with QoS 1 and without retain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The topic.
    pub topic: String,
    /// The JSON payload.
    pub payload: Vec<u8>,
}

/// The replica's connection state, as a UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not connected: changes queue.
    Offline,
    /// Connected, loading what it follows before sending queued changes.
    Resyncing,
    /// Connected and in sync.
    Online,
}

/// Something the application may want to react to.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// The view of an object changed.
    Changed {
        /// The collection.
        collection: String,
        /// The object.
        id: Id,
    },
    /// A pending change was confirmed by its event.
    Confirmed {
        /// Its request id.
        rid: String,
        /// The event that confirmed it.
        event: Event,
    },
    /// A pending change was rolled back.
    RolledBack {
        /// Its request id.
        rid: String,
        /// The collection.
        collection: String,
        /// The object.
        id: Id,
        /// Why: a reject code, or `aborted` or `cancelled`.
        code: Code,
        /// A human-readable explanation.
        message: String,
        /// The stored version, when the bridge said.
        current: Option<u64>,
    },
    /// A collection finished loading.
    Loaded {
        /// The collection.
        collection: String,
    },
    /// The status changed.
    Status(Status),
}

/// Per-object information a UI can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The confirmed version.
    pub version: u64,
    /// How many of this client's changes are pending.
    pub pending: usize,
    /// Whether the confirmed object is absent or deleted.
    pub deleted: bool,
    /// The code and message of the last rollback of one of this client's changes.
    pub last_error: Option<(Code, String)>,
}

/// What this replica's loads received since it was created: the cost of loading, which a resync
/// by versions (§12.4) keeps to what changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Object states received in snapshot pages (documents or deletions).
    pub states: u64,
    /// Entries of versions pages received (an id and a version each).
    pub versions: u64,
}

/// A consumer's copy of some collections and objects, with an optimistic overlay.
#[derive(Debug)]
pub struct Replica {
    config: Config,
    online: bool,
    resyncing: bool,
    collections: BTreeSet<String>,
    /// The collections whose first load is complete.
    loaded: BTreeSet<String>,
    watched_objects: BTreeMap<String, BTreeMap<String, Id>>,
    objects: BTreeMap<String, BTreeMap<String, ObjectEntry>>,
    /// Every pending change by request id: its collection and object key.
    rids: HashMap<String, (String, String)>,
    loads: HashMap<String, LoadJob>,
    /// Objects that may have a timer: a request in flight or a failure outstanding. Kept so that
    /// timers cost what is in flight, not the size of the replica; an entry whose timers are gone
    /// is dropped by the next [`Replica::handle_timeout`].
    active: BTreeSet<(String, String)>,
    next_id: u64,
    load_counts: LoadCounts,
    out: Out,
}

#[derive(Debug, Default)]
struct Out {
    transmits: VecDeque<Transmit>,
    notices: VecDeque<Notice>,
    follows: VecDeque<(String, Id)>,
}

impl Replica {
    /// An empty, offline replica.
    pub fn new(config: Config) -> Replica {
        Replica {
            config,
            online: false,
            resyncing: false,
            collections: BTreeSet::new(),
            loaded: BTreeSet::new(),
            watched_objects: BTreeMap::new(),
            objects: BTreeMap::new(),
            rids: HashMap::new(),
            loads: HashMap::new(),
            active: BTreeSet::new(),
            next_id: 0,
            load_counts: LoadCounts::default(),
            out: Out::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The connection state.
    pub fn status(&self) -> Status {
        match (self.online, self.resyncing) {
            (false, _) => Status::Offline,
            (true, true) => Status::Resyncing,
            (true, false) => Status::Online,
        }
    }

    /// The topic filters the shell must hold (SUBACK received) for this replica: its reply topic
    /// and the events of everything it follows.
    pub fn subscriptions(&self) -> Vec<String> {
        let t = &self.config.topics;
        let mut subs = vec![t.reply(&self.config.client)];
        subs.extend(self.collections.iter().map(|c| t.collection_events(c)));
        for (c, ids) in &self.watched_objects {
            if !self.collections.contains(c) {
                subs.extend(ids.values().map(|id| t.event(c, id)));
            }
        }
        subs
    }

    /// Follows a whole collection. Call it once the shell holds the collection's event
    /// subscription; if online, the load starts at once.
    pub fn watch_collection(&mut self, now: u64, collection: &str) -> Result<()> {
        topic::check_collection(collection)?;
        if self.collections.insert(collection.to_string()) && self.online {
            self.start_collection_load(now, collection);
        }
        Ok(())
    }

    /// Follows one object. Call it once the shell holds the object's event subscription; a
    /// change of this client's that waited for it (see [`Replica::poll_follow`]) is sent then.
    pub fn watch_object(&mut self, now: u64, collection: &str, id: &Id) -> Result<()> {
        topic::check_collection(collection)?;
        let key = id.key();
        let ids = self.watched_objects.entry(collection.to_string()).or_default();
        if ids.insert(key.clone(), id.clone()).is_none() && self.online && !self.collections.contains(collection) {
            self.start_ids_load(now, collection, vec![id.clone()]);
        }
        // A change that waited for the subscription goes out now (nothing happens without one).
        self.send_head(now, collection, &key);
        Ok(())
    }

    /// The next object this replica must follow before it can send a change of it (§6.1: a
    /// requester holds the event subscription of an object before it publishes a request for
    /// it). The shell subscribes to the object's event topic and, once it holds it, calls
    /// [`Replica::watch_object`]; the change is sent then.
    pub fn poll_follow(&mut self) -> Option<(String, Id)> {
        self.out.follows.pop_front()
    }

    /// Whether this replica follows a whole collection.
    pub fn watches(&self, collection: &str) -> bool {
        self.collections.contains(collection)
    }

    /// Whether the events of an object reach this replica: it follows its collection or the
    /// object itself.
    pub fn is_followed(&self, collection: &str, key: &str) -> bool {
        self.collections.contains(collection)
            || self.watched_objects.get(collection).is_some_and(|ids| ids.contains_key(key))
    }

    /// The connection is up (and the subscriptions are held): resynchronise, then send.
    pub fn connected(&mut self, now: u64) {
        self.online = true;
        self.loads.clear();
        let collections: Vec<String> = self.collections.iter().cloned().collect();
        for c in &collections {
            self.start_collection_load(now, c);
        }
        let objects: Vec<(String, Vec<Id>)> = self
            .watched_objects
            .iter()
            .filter(|(c, _)| !self.collections.contains(*c))
            .map(|(c, ids)| (c.clone(), ids.values().cloned().collect()))
            .collect();
        for (c, ids) in objects {
            for chunk in ids.chunks(Limits::MAX_LOAD_IDS) {
                self.start_ids_load(now, &c, chunk.to_vec());
            }
        }
        self.resyncing = !self.loads.is_empty();
        self.out.notices.push_back(Notice::Status(self.status()));
        if !self.resyncing {
            self.send_all(now);
        }
    }

    /// The connection is down: changes queue until [`Replica::connected`].
    pub fn disconnected(&mut self) {
        if !self.online {
            return;
        }
        self.online = false;
        self.resyncing = false;
        self.loads.clear();
        for (collection, key) in &self.active {
            let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { continue };
            entry.failure = None;
        }
        self.out.notices.push_back(Notice::Status(Status::Offline));
    }

    /// Makes a change: applies it to the view at once (pending) and queues its request. `op` is
    /// a request without `type`, `rid`, `collection` and `base`:
    /// `{"op": "update", "id": …, "update": {…}, "policy": "merge"}`. Returns the request id.
    ///
    /// Errors, with nothing changed: the op is malformed or invalid, an insert of an object the
    /// view holds (`conflict`), a change of an object the view does not hold (`not_found`), or
    /// an update that cannot apply to the view (`invalid_update`).
    pub fn request(&mut self, now: u64, collection: &str, op: Value) -> Result<String> {
        let Value::Object(mut map) = op else {
            return Err(Violation::malformed("a change is a JSON object"));
        };
        let rid = self.fresh_id("r");
        map.insert("type".into(), "request".into());
        map.insert("rid".into(), rid.clone().into());
        map.insert("collection".into(), collection.into());
        map.insert("base".into(), 0.into());
        let request = Request::from_map(map, &self.config.limits)?;
        let limits = &self.config.limits;
        let key = request.id.key();
        let entry = self
            .objects
            .entry(collection.to_string())
            .or_default()
            .entry(key.clone())
            .or_insert_with(|| ObjectEntry::new(request.id.clone()));
        let view = entry.view(limits);
        let refusal = match (&request.change, &view) {
            (Change::Insert(_), Some(_)) => {
                Some(Violation::new(Code::Conflict, format!("{} already exists", request.id)))
            }
            (Change::Update(_) | Change::Replace(_) | Change::Delete, None) => {
                Some(Violation::new(Code::NotFound, format!("{} does not exist", request.id)))
            }
            (Change::Update(update), Some(doc)) => update.apply(doc, limits).err(),
            _ => None,
        };
        if let Some(refusal) = refusal {
            if entry.is_empty() {
                self.objects.get_mut(collection).map(|m| m.remove(&key));
            }
            return Err(refusal);
        }
        let base = entry.pending.is_empty().then_some(entry.version);
        entry.pending.push(Pending {
            rid: rid.clone(),
            change: request.change,
            policy: request.policy,
            base,
            flight: None,
        });
        self.rids.insert(rid.clone(), (collection.to_string(), key.clone()));
        // The first pending change of an object nobody follows asks once to follow it: until then
        // none of its changes can be sent, so none is settled, and the later ones find it pending.
        if base.is_some() && !self.is_followed(collection, &key) {
            self.out.follows.push_back((collection.to_string(), request.id.clone()));
        }
        self.out.notices.push_back(Notice::Changed { collection: collection.to_string(), id: request.id });
        self.send_head(now, collection, &key);
        Ok(rid)
    }

    /// Handles one message received on `topic`. A message that cannot be read, or that does not
    /// belong on its topic, is an error and changes nothing.
    pub fn handle(&mut self, now: u64, topic: &str, payload: &[u8]) -> Result<()> {
        let route = self.config.topics.parse(topic)?;
        let message = Message::parse(payload, &self.config.limits)?;
        match (route, message) {
            (Route::Event { .. }, Message::Event(e)) => self.on_event(now, e),
            (Route::Reply { client }, m) if client == self.config.client => match m {
                Message::Event(e) => self.on_event(now, e),
                Message::Reject(r) => self.on_reject(now, r),
                Message::Replay(r) => self.on_replay(now, r),
                Message::Snapshot(s) => self.on_snapshot(now, s),
                other => {
                    return Err(Violation::malformed(format!("a {} is not sent to a client", other.kind())));
                }
            },
            (_, m) => return Err(Violation::malformed(format!("a {} does not belong on {topic}", m.kind()))),
        }
        Ok(())
    }

    /// Acts on the time: resends requests, failures and load pages. A request is never given up
    /// on (§6.4): it is resent until its outcome arrives or [`Replica::cancel`]. Its cost grows
    /// with what is in flight, not with the replica.
    pub fn handle_timeout(&mut self, now: u64) {
        if !self.online {
            return;
        }
        let mut idle = Vec::new();
        for (collection, key) in &self.active {
            let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else {
                idle.push((collection.clone(), key.clone()));
                continue;
            };
            let in_flight = entry.pending.first().is_some_and(|p| p.flight.is_some());
            if !in_flight && entry.failure.is_none() {
                idle.push((collection.clone(), key.clone()));
                continue;
            }
            if !self.resyncing {
                timers::resend(&self.config, &mut self.out, collection, entry, now, timers::When::Due);
            }
            timers::failure(&self.config, &mut self.out, collection, entry, now, timers::When::Due);
        }
        for object in idle {
            self.active.remove(&object);
        }
        self.retry_loads(now);
    }

    /// When [`Replica::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        if !self.online {
            return None;
        }
        let mut next: Option<u64> = None;
        let mut consider = |t: u64| next = Some(next.map_or(t, |n| n.min(t)));
        for (collection, key) in &self.active {
            let Some(entry) = self.objects.get(collection).and_then(|m| m.get(key)) else { continue };
            if !self.resyncing {
                if let Some(f) = entry.pending.first().and_then(|p| p.flight) {
                    consider(f.resend_at);
                }
            }
            if let Some((at, _)) = entry.failure {
                consider(at);
            }
        }
        for job in self.loads.values() {
            consider(job.retry_at);
        }
        next
    }

    /// The next message to publish.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next notice for the application.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.out.notices.pop_front()
    }

    /// The optimistic view of an object: `None` if absent or deleted.
    pub fn get(&self, collection: &str, id: &Id) -> Option<Document> {
        self.objects.get(collection)?.get(&id.key())?.view(&self.config.limits)
    }

    /// The optimistic view of every object of a collection, in id key order.
    pub fn list(&self, collection: &str) -> Vec<(Id, Document)> {
        let Some(objects) = self.objects.get(collection) else { return Vec::new() };
        objects.values().filter_map(|e| e.view(&self.config.limits).map(|d| (e.id.clone(), d))).collect()
    }

    /// The confirmed state of an object: its version and document.
    pub fn confirmed(&self, collection: &str, id: &Id) -> Option<(u64, Option<&Document>)> {
        let e = self.objects.get(collection)?.get(&id.key())?;
        Some((e.version, e.doc.as_ref()))
    }

    /// Per-object information for a UI.
    pub fn meta(&self, collection: &str, id: &Id) -> Option<ObjectMeta> {
        let e = self.objects.get(collection)?.get(&id.key())?;
        Some(ObjectMeta {
            version: e.version,
            pending: e.pending.len(),
            deleted: e.doc.is_none(),
            last_error: e.last_error.clone(),
        })
    }

    /// What this replica's loads received so far.
    pub fn load_counts(&self) -> LoadCounts {
        self.load_counts
    }

    /// How many of this client's changes are pending, over all objects.
    pub fn pending_count(&self) -> usize {
        self.rids.len()
    }
}
