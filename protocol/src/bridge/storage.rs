//! What the bridge reads and writes, and nothing more: the [`Storage`] interface.
//!
//! Every method is one point operation on the database (by a unique key), except
//! [`Storage::page`], which serves collection loads. That is the design rule of PROTOCOL.md §15:
//! the cost of a request must not grow with the number of objects or events, and on the
//! databases vmm ships with only inserts and exact-key lookups are cheap.
//!
//! The compare-and-set that makes exactly one bridge win a version is [`Storage::record`]: an
//! insert whose unique key is (collection, id, version). Object writes are not conditional (a
//! conditional write would have to filter on the version, which is not a point operation); a
//! storage makes them converge on the highest version instead (see [`Storage::write`]).

use crate::decide::Stored;
use crate::message::{Event, ObjectState, Reject};
use crate::value::Document;
use crate::Id;
use std::future::Future;

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The database refused the operation for what it contains, and will refuse it again: a
    /// value it cannot store, a unique index of its own. Nothing was written.
    #[error("the database refused the write: {0}")]
    Refused(String),
    /// The database could not be reached or failed; the operation may be retried. Whether it
    /// took effect is unknown.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// What is stored cannot be read back as a vmm object or event.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// The result type of storage operations.
pub type StorageResult<T> = std::result::Result<T, StorageError>;

/// An event as the log keeps it: the event, the object's document after it (`None` for a delete)
/// and the exact payload that is published.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// The event.
    pub event: Event,
    /// The object's document at `event.version`.
    pub doc: Option<Document>,
    /// The event's payload, published as stored.
    pub payload: Vec<u8>,
}

impl LoggedEvent {
    /// Logs `event`, whose result is `doc`.
    pub fn new(event: Event, doc: Option<Document>) -> LoggedEvent {
        let payload = crate::message::Message::Event(event.clone()).to_bytes();
        LoggedEvent { event, doc, payload }
    }

    /// The object's state after this event.
    pub fn state(&self) -> Stored {
        Stored { version: self.event.version, doc: self.doc.clone() }
    }
}

/// What became of [`Storage::record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The event is the object's `version`: the request is applied (the commit point).
    Won,
    /// An event with this version was recorded already (by another request, or by a copy of
    /// this one): nothing was written.
    Lost,
}

/// The bridge's storage. Implementations: [`MemoryStorage`](super::MemoryStorage) in this crate,
/// MongoDB in `vmm-bridge`. The futures are `Send` so that a multi-threaded shell can run
/// handlers on any thread.
pub trait Storage: Send + Sync {
    /// The object as written in its collection: its version and document, or the version of
    /// its tombstone with no document (0 if it never existed). May be behind the event log
    /// after a crash; the bridge rolls it forward.
    fn object(&self, collection: &str, id: &Id) -> impl Future<Output = StorageResult<Stored>> + Send;

    /// The logged event of `id` at `version`, if the log has it.
    fn event(
        &self,
        collection: &str,
        id: &Id,
        version: u64,
    ) -> impl Future<Output = StorageResult<Option<LoggedEvent>>> + Send;

    /// Records an event: inserts it under its unique (collection, id, version). `Lost` if that
    /// version is taken. `Refused` if the database cannot store it (nothing recorded).
    fn record(&self, event: &LoggedEvent) -> impl Future<Output = StorageResult<Recorded>> + Send;

    /// Removes a recorded event whose object write the database refused, so that nothing claims
    /// a success that never reached the collection. Only ever called before the event was
    /// published.
    fn void(&self, event: &Event) -> impl Future<Output = StorageResult<()>> + Send;

    /// Writes the object's state at `state.version` (a tombstone when `state.doc` is `None`).
    /// Writes are not conditional; an implementation makes concurrent writers of one object end
    /// on the highest version (for instance by reading back what it replaced and restoring it
    /// when it was newer). `Refused` when the database refuses the document.
    fn write(&self, collection: &str, id: &Id, state: &Stored) -> impl Future<Output = StorageResult<()>> + Send;

    /// Records `reject` as the outcome of (`client`, its `rid`), unless an outcome is recorded
    /// already: then returns that one, unchanged.
    fn record_reject(
        &self,
        client: &str,
        reject: &Reject,
    ) -> impl Future<Output = StorageResult<Option<Reject>>> + Send;

    /// Claims (`client`, `rid`) for the request with this `fingerprint` (§9): records the pair
    /// unless it is recorded already, and then returns the fingerprint it was first claimed with
    /// (`None`: claimed now). One point operation, an insert by the unique key `client|rid`.
    fn claim_rid(
        &self,
        client: &str,
        rid: &str,
        fingerprint: &str,
    ) -> impl Future<Output = StorageResult<Option<String>>> + Send;

    /// Up to `limit` live objects of `collection` after `after` (exclusive), in the collection's
    /// `_id` order (integers, then strings, then ObjectIds). With `docs` false the states carry
    /// no document (`doc: None`, live all the same): a versions page (§12.4) reads less.
    fn page(
        &self,
        collection: &str,
        after: Option<&Id>,
        limit: usize,
        docs: bool,
    ) -> impl Future<Output = StorageResult<Vec<ObjectState>>> + Send;
}

/// Several bridges may share one storage (as several processes share one database).
impl<S: Storage> Storage for std::sync::Arc<S> {
    fn object(&self, collection: &str, id: &Id) -> impl Future<Output = StorageResult<Stored>> + Send {
        (**self).object(collection, id)
    }
    fn event(
        &self,
        collection: &str,
        id: &Id,
        version: u64,
    ) -> impl Future<Output = StorageResult<Option<LoggedEvent>>> + Send {
        (**self).event(collection, id, version)
    }
    fn record(&self, event: &LoggedEvent) -> impl Future<Output = StorageResult<Recorded>> + Send {
        (**self).record(event)
    }
    fn void(&self, event: &Event) -> impl Future<Output = StorageResult<()>> + Send {
        (**self).void(event)
    }
    fn write(&self, collection: &str, id: &Id, state: &Stored) -> impl Future<Output = StorageResult<()>> + Send {
        (**self).write(collection, id, state)
    }
    fn record_reject(
        &self,
        client: &str,
        reject: &Reject,
    ) -> impl Future<Output = StorageResult<Option<Reject>>> + Send {
        (**self).record_reject(client, reject)
    }
    fn claim_rid(
        &self,
        client: &str,
        rid: &str,
        fingerprint: &str,
    ) -> impl Future<Output = StorageResult<Option<String>>> + Send {
        (**self).claim_rid(client, rid, fingerprint)
    }
    fn page(
        &self,
        collection: &str,
        after: Option<&Id>,
        limit: usize,
        docs: bool,
    ) -> impl Future<Output = StorageResult<Vec<ObjectState>>> + Send {
        (**self).page(collection, after, limit, docs)
    }
}
