//! [`MemoryStorage`]: the bridge's storage in memory, for tests, simulations and examples. Every
//! operation completes at once (run handlers with [`ready`](super::ready)).

use super::storage::{LoggedEvent, Recorded, Storage, StorageError, StorageResult};
use crate::decide::Stored;
use crate::message::{Event, ObjectState, Reject};
use crate::value::Document;
use crate::Id;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Objects, the event log and the recorded rejects, in memory.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// (collection, order key) → (id, state); tombstones have no document.
    objects: BTreeMap<(String, IdOrder), (Id, Stored)>,
    /// (collection, id key) → version → event.
    log: HashMap<(String, String), BTreeMap<u64, LoggedEvent>>,
    rejects: HashMap<(String, String), Reject>,
    /// (client, rid) → the fingerprint of the request that first used it.
    rids: HashMap<(String, String), String>,
    /// Every event recorded and not voided, in the order recorded, whatever the log has pruned.
    recorded: Vec<Event>,
    /// How many of an object's latest events the log keeps (`None`: all).
    keep_history: Option<usize>,
    /// Documents with a top-level field of this name are refused, as a database refuses a value
    /// it cannot store (`true`: by the event insert too; `false`: by the object write only, as
    /// a unique index on the collection would).
    refuse_field: Option<(String, bool)>,
    /// Every operation fails as unavailable while set.
    unavailable: bool,
    /// Operations done, by name.
    ops: BTreeMap<&'static str, u64>,
}

/// MongoDB's `_id` order: integers, then strings, then ObjectIds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum IdOrder {
    Int(i64),
    String(String),
    ObjectId(String),
}

fn order(id: &Id) -> IdOrder {
    match id {
        Id::Int(n) => IdOrder::Int(*n),
        Id::String(s) => IdOrder::String(s.clone()),
        Id::ObjectId(h) => IdOrder::ObjectId(h.clone()),
    }
}

impl MemoryStorage {
    /// A storage whose log keeps only each object's latest `n` events (older replays become
    /// snapshots, as after pruning).
    pub fn keeping_history(n: usize) -> MemoryStorage {
        let storage = MemoryStorage::default();
        storage.lock().keep_history = Some(n);
        storage
    }

    /// From now on, refuses any document with a top-level field `name`, or stops refusing with
    /// `None`. With `at_record`, recording an event with such a document fails too (a value the
    /// database cannot store); without, only the object write does (a unique index of the
    /// collection).
    pub fn refuse_field(&self, name: Option<&str>, at_record: bool) {
        self.lock().refuse_field = name.map(|n| (n.to_string(), at_record));
    }

    /// Makes every operation fail as unavailable (`true`) or work again (`false`).
    pub fn set_unavailable(&self, unavailable: bool) {
        self.lock().unavailable = unavailable;
    }

    /// Operations done so far, by name (`object`, `event`, `record`, `void`, `write`,
    /// `record_reject`, `claim_rid`, `page`).
    pub fn operations(&self) -> BTreeMap<&'static str, u64> {
        self.lock().ops.clone()
    }

    /// The live objects of `collection`: id key → (version, document).
    pub fn live(&self, collection: &str) -> BTreeMap<String, (u64, Document)> {
        self.lock()
            .objects
            .iter()
            .filter(|((c, _), _)| c == collection)
            .filter_map(|(_, (id, s))| Some((id.key(), (s.version, s.doc.clone()?))))
            .collect()
    }

    /// The logged events of one object, in version order.
    pub fn events(&self, collection: &str, id: &Id) -> Vec<Event> {
        let inner = self.lock();
        let log = inner.log.get(&(collection.to_string(), id.key()));
        log.map(|l| l.values().map(|e| e.event.clone()).collect()).unwrap_or_default()
    }

    /// Every event ever recorded (and not voided), pruned ones included, in the order recorded.
    pub fn recorded(&self) -> Vec<Event> {
        self.lock().recorded.clone()
    }

    /// Every object of `collection` with its stored state, tombstones included.
    pub fn objects(&self, collection: &str) -> Vec<(Id, Stored)> {
        self.lock().objects.iter().filter(|((c, _), _)| c == collection).map(|(_, o)| o.clone()).collect()
    }

    /// Sets an object's stored state directly, as another program writing the collection would.
    pub fn put(&self, collection: &str, id: &Id, state: Stored) {
        self.lock().objects.insert((collection.to_string(), order(id)), (id.clone(), state));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("memory storage lock")
    }

    fn op(&self, name: &'static str) -> StorageResult<std::sync::MutexGuard<'_, Inner>> {
        let mut inner = self.lock();
        *inner.ops.entry(name).or_default() += 1;
        if inner.unavailable {
            return Err(StorageError::Unavailable("the memory storage is set unavailable".into()));
        }
        Ok(inner)
    }
}

impl Inner {
    fn refuses(&self, doc: Option<&Document>, recording: bool) -> Option<String> {
        let (field, at_record) = self.refuse_field.as_ref()?;
        if recording && !at_record {
            return None;
        }
        doc.is_some_and(|d| d.contains_key(field)).then(|| format!("field {field:?} cannot be stored"))
    }
}

impl Storage for MemoryStorage {
    async fn object(&self, collection: &str, id: &Id) -> StorageResult<Stored> {
        let inner = self.op("object")?;
        Ok(inner.objects.get(&(collection.to_string(), order(id))).map(|(_, s)| s.clone()).unwrap_or_default())
    }

    async fn event(&self, collection: &str, id: &Id, version: u64) -> StorageResult<Option<LoggedEvent>> {
        let inner = self.op("event")?;
        let log = inner.log.get(&(collection.to_string(), id.key()));
        Ok(log.and_then(|l| l.get(&version)).cloned())
    }

    async fn record(&self, logged: &LoggedEvent) -> StorageResult<Recorded> {
        let mut guard = self.op("record")?;
        let inner = &mut *guard;
        if let Some(why) = inner.refuses(logged.doc.as_ref(), true) {
            return Err(StorageError::Refused(why));
        }
        let keep = inner.keep_history;
        let e = &logged.event;
        let log = inner.log.entry((e.collection.clone(), e.id.key())).or_default();
        if log.contains_key(&e.version) || log.keys().next_back().is_some_and(|&v| v > e.version) {
            return Ok(Recorded::Lost);
        }
        log.insert(e.version, logged.clone());
        inner.recorded.push(logged.event.clone());
        if let Some(n) = keep {
            while log.len() > n.max(1) {
                log.pop_first();
            }
        }
        Ok(Recorded::Won)
    }

    async fn void(&self, event: &Event) -> StorageResult<()> {
        let mut inner = self.op("void")?;
        if let Some(log) = inner.log.get_mut(&(event.collection.clone(), event.id.key())) {
            log.remove(&event.version);
        }
        inner
            .recorded
            .retain(|e| !(e.collection == event.collection && e.id == event.id && e.version == event.version));
        Ok(())
    }

    async fn write(&self, collection: &str, id: &Id, state: &Stored) -> StorageResult<()> {
        let mut inner = self.op("write")?;
        if let Some(why) = inner.refuses(state.doc.as_ref(), false) {
            return Err(StorageError::Refused(why));
        }
        let slot =
            inner.objects.entry((collection.to_string(), order(id))).or_insert_with(|| (id.clone(), Stored::default()));
        // Converge on the highest version, as the MongoDB storage does.
        if slot.1.version <= state.version {
            slot.1 = state.clone();
        }
        Ok(())
    }

    async fn record_reject(&self, client: &str, reject: &Reject) -> StorageResult<Option<Reject>> {
        let mut inner = self.op("record_reject")?;
        let Some(rid) = &reject.rid else { return Ok(None) };
        let key = (client.to_string(), rid.clone());
        if let Some(prior) = inner.rejects.get(&key) {
            return Ok(Some(prior.clone()));
        }
        inner.rejects.insert(key, reject.clone());
        Ok(None)
    }

    async fn claim_rid(&self, client: &str, rid: &str, fingerprint: &str) -> StorageResult<Option<String>> {
        let mut inner = self.op("claim_rid")?;
        let key = (client.to_string(), rid.to_string());
        if let Some(prior) = inner.rids.get(&key) {
            return Ok(Some(prior.clone()));
        }
        inner.rids.insert(key, fingerprint.to_string());
        Ok(None)
    }

    async fn page(
        &self,
        collection: &str,
        after: Option<&Id>,
        limit: usize,
        docs: bool,
    ) -> StorageResult<Vec<ObjectState>> {
        let inner = self.op("page")?;
        let start = match after {
            Some(a) => std::ops::Bound::Excluded((collection.to_string(), order(a))),
            None => std::ops::Bound::Included((collection.to_string(), IdOrder::Int(i64::MIN))),
        };
        let end = std::ops::Bound::Unbounded;
        Ok(inner
            .objects
            .range((start, end))
            .take_while(|((c, _), _)| c == collection)
            .filter_map(|(_, (id, s))| {
                let doc = s.doc.as_ref()?;
                Some(ObjectState { id: id.clone(), version: s.version, doc: docs.then(|| doc.clone()) })
            })
            .take(limit)
            .collect())
    }
}
