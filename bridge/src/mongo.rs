//! The bridge's storage in MongoDB (or anything that speaks its wire protocol): the
//! [`Storage`] of `vmm_protocol::bridge`, with point operations by `_id` only (PROTOCOL.md §15).
//!
//! - Each object lives in its collection with its version in `_vmm_v` (a document without it,
//!   written by another program, is read as version 1).
//! - `vmm_events`: one document per event, `_id` `collection|key|version` (zero-padded). Its
//!   insert is the commit point: the unique `_id` makes one request win each version. It holds
//!   the payload as published and the object's document after the event, as BSON: a document
//!   the database cannot store is refused right there, before anything is recorded. It also
//!   says which bridge process recorded it (`by`) and when (`at`), for crash recovery.
//! - `vmm_tombstones` (`collection|key` → version of the deleted object), `vmm_rejects`
//!   (`client|rid` → the reject sent), `vmm_rids` (`client|rid` → the fingerprint of the request
//!   that first used it, §9), `vmm_bridges` (one heartbeat per running bridge).
//!
//! No secondary index is needed: on FerretDB only an exact `_id` filter and an insert stay cheap
//! as collections grow (docs/BENCHMARKS.md).

use crate::group::{GroupInsert, Inserted};
use crate::metrics::Metrics;
use mongodb::bson::{self, doc, Bson, Document as BsonDocument};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use std::sync::Arc;
use vmm_protocol::bridge::{LoggedEvent, Recorded, Storage, StorageError, StorageResult};
use vmm_protocol::decide::Stored;
use vmm_protocol::message::{stored_document, Event, Message, ObjectState, Reject};
use vmm_protocol::{Id, Limits, Value};

/// The field that carries an object's version in its stored document.
pub(crate) const VERSION_FIELD: &str = "_vmm_v";

/// How often a write re-reads and restores after finding a newer version than its own.
const MAX_RESTORES: usize = 8;

pub(crate) struct MongoStorage {
    db: Database,
    pub(crate) events: Collection<BsonDocument>,
    /// Event inserts, grouped (`group.rs`).
    inserts: GroupInsert,
    rejects: Collection<BsonDocument>,
    /// Rid claims: one insert per request (§9).
    rids: Collection<BsonDocument>,
    tombstones: Collection<BsonDocument>,
    /// This process's id, written into every event it records.
    instance: String,
    metrics: Arc<Metrics>,
    /// Whether the database stores Decimal128 (FerretDB 1.24 does not; found out at open).
    decimal: bool,
    /// Whether the database stores arrays inside arrays (FerretDB 1.24 does not).
    nested_arrays: bool,
    /// Limits for reading what is stored: generous, since it was checked on the way in.
    read_limits: Limits,
    /// `VMM_FAILPOINT=after-event`: die once an event is recorded, before its object is written.
    die_after_record: bool,
}

pub(crate) fn event_key(collection: &str, key: &str, version: u64) -> String {
    format!("{collection}|{key}|{version:016}")
}

/// The collection, id key and version of an [`event_key`] (collection names hold no `|`; id
/// keys may).
pub(crate) fn parse_event_key(event_key: &str) -> Option<(&str, &str, u64)> {
    let (object, version) = event_key.rsplit_once('|')?;
    let (collection, key) = object.split_once('|')?;
    Some((collection, key, version.parse().ok()?))
}

fn tombstone_key(collection: &str, id: &Id) -> String {
    format!("{collection}|{}", id.key())
}

/// Error codes of MongoDB that say "try again", not "never".
const TRANSIENT_CODES: [i32; 12] = [6, 7, 50, 89, 91, 112, 189, 262, 9001, 10107, 11600, 13435];

/// Sorts a driver error: duplicate key, refused (a deterministic write or command error), or
/// unavailable.
enum Failure {
    Duplicate,
    Refused(String),
    Unavailable(String),
}

/// Whether the error is a duplicate key (code 11000).
pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    matches!(classify(e), Failure::Duplicate)
}

fn classify(e: &mongodb::error::Error) -> Failure {
    use mongodb::error::{ErrorKind, WriteFailure};
    let code = match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    };
    match code {
        Some(11000) => Failure::Duplicate,
        Some(c) if !TRANSIENT_CODES.contains(&c) && !e.contains_label("RetryableWriteError") => {
            Failure::Refused(e.to_string())
        }
        _ => Failure::Unavailable(e.to_string()),
    }
}

fn unavailable(e: mongodb::error::Error) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(what.to_string())
}

fn version_of(doc: &BsonDocument, field: &str, absent: u64) -> u64 {
    match doc.get(field) {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        Some(Bson::Double(v)) => *v as u64,
        _ => absent,
    }
}

impl MongoStorage {
    /// Opens the storage and finds out what the database can store.
    pub(crate) async fn open(db: Database, instance: String, metrics: Arc<Metrics>) -> crate::Result<MongoStorage> {
        db.run_command(doc! {"ping": 1}).await?;
        let probe: Collection<BsonDocument> = db.collection("vmm_probe");
        // The values of PROTOCOL.md §3.1 a MongoDB-compatible database may lack (§3.6): probed once
        // at start-up, so that a request carrying one is refused before anything is written.
        let stores = |d: BsonDocument| {
            let probe = probe.clone();
            async move {
                let id = d.get_str("_id").unwrap_or_default().to_string();
                probe.replace_one(doc! {"_id": id}, d).upsert(true).await.is_ok()
            }
        };
        let decimal = match "1.5".parse::<bson::Decimal128>() {
            Ok(d) => stores(doc! {"_id": "decimal128", "d": d}).await,
            Err(_) => false,
        };
        let nested_arrays = stores(doc! {"_id": "nested-arrays", "a": [[1, 2], [3]]}).await;
        let lacking: Vec<&str> = [(!decimal, "Decimal128 values"), (!nested_arrays, "arrays inside arrays")]
            .into_iter()
            .filter_map(|(lacks, what)| lacks.then_some(what))
            .collect();
        if !lacking.is_empty() {
            tracing::warn!(
                lacking = %lacking.join(", "),
                "the database cannot store every value of the protocol (PROTOCOL.md §3.6): requests carrying these are rejected `refused`, nothing written"
            );
        }
        Ok(MongoStorage {
            inserts: GroupInsert::start(db.collection("vmm_events"), metrics.clone()),
            events: db.collection("vmm_events"),
            rejects: db.collection("vmm_rejects"),
            rids: db.collection("vmm_rids"),
            tombstones: db.collection("vmm_tombstones"),
            db,
            instance,
            metrics,
            decimal,
            nested_arrays,
            read_limits: Limits { max_payload: usize::MAX, max_document: usize::MAX, max_depth: 100 },
            die_after_record: std::env::var("VMM_FAILPOINT").is_ok_and(|f| f == "after-event"),
        })
    }

    fn op(&self, name: &'static str) {
        self.metrics.db_operation(name);
    }

    fn collection(&self, name: &str) -> Collection<BsonDocument> {
        self.db.collection(name)
    }

    /// The document as BSON, or why this database cannot store it.
    fn to_bson(&self, doc: &vmm_protocol::Document) -> StorageResult<BsonDocument> {
        if !self.decimal && has_decimal(&Value::Object(doc.clone())) {
            return Err(StorageError::Refused("this database does not store Decimal128 values".into()));
        }
        if !self.nested_arrays && has_nested_array(&Value::Object(doc.clone()), false) {
            return Err(StorageError::Refused(
                "this database does not store nested arrays (an array directly inside an array)".into(),
            ));
        }
        match Bson::try_from(Value::Object(doc.clone())) {
            Ok(Bson::Document(d)) => Ok(d),
            Ok(_) => Err(corrupt("a document did not convert to a BSON document")),
            Err(e) => Err(StorageError::Refused(format!("not representable in BSON: {e}"))),
        }
    }

    fn id_bson(&self, id: &Id) -> StorageResult<Bson> {
        Bson::try_from(id.to_value()).map_err(corrupt)
    }

    fn read_document(&self, mut doc: BsonDocument, id: &Id) -> StorageResult<Stored> {
        let version = version_of(&doc, VERSION_FIELD, 1);
        doc.remove(VERSION_FIELD);
        let json = Bson::Document(doc).into_relaxed_extjson();
        let doc = stored_document(json, id, &self.read_limits).map_err(|e| corrupt(format!("{id}: {e}")))?;
        Ok(Stored { version, doc: Some(doc) })
    }

    async fn tombstone(&self, collection: &str, id: &Id) -> StorageResult<u64> {
        self.op("tombstone_find");
        let found = self.tombstones.find_one(doc! {"_id": tombstone_key(collection, id)}).await.map_err(unavailable)?;
        Ok(found.map_or(0, |t| version_of(&t, "v", 0)))
    }

    /// Replaces the object by `stored` and returns the version it replaced (`None`: absent).
    async fn replace(&self, collection: &str, id: &Id, stored: BsonDocument) -> StorageResult<Option<u64>> {
        let filter = doc! {"_id": self.id_bson(id)?};
        let mut raced = false;
        loop {
            self.op("object_replace");
            let result = self
                .collection(collection)
                .find_one_and_replace(filter.clone(), stored.clone())
                .upsert(true)
                .return_document(ReturnDocument::Before)
                .await;
            let e = match result {
                Ok(before) => return Ok(before.map(|b| version_of(&b, VERSION_FIELD, 1))),
                Err(e) => e,
            };
            match classify(&e) {
                // Two upserts of one new object raced and the other inserted it: now it exists,
                // and replacing it tells which version it had.
                Failure::Duplicate if !raced && e.to_string().contains("_id_") => raced = true,
                Failure::Duplicate | Failure::Refused(_) => return Err(StorageError::Refused(e.to_string())),
                Failure::Unavailable(why) => return Err(StorageError::Unavailable(why)),
            }
        }
    }
}

/// Whether a value holds a Decimal128 anywhere.
fn has_decimal(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("$numberDecimal") || m.values().any(has_decimal),
        Value::Array(a) => a.iter().any(has_decimal),
        _ => false,
    }
}

/// Whether a value holds an array directly inside an array anywhere (`inside`: `v` is an element).
fn has_nested_array(v: &Value, inside: bool) -> bool {
    match v {
        Value::Object(m) => m.values().any(|v| has_nested_array(v, false)),
        Value::Array(a) => inside || a.iter().any(|v| has_nested_array(v, true)),
        _ => false,
    }
}

impl Storage for MongoStorage {
    async fn object(&self, collection: &str, id: &Id) -> StorageResult<Stored> {
        self.op("object_find");
        let found = self.collection(collection).find_one(doc! {"_id": self.id_bson(id)?}).await.map_err(unavailable)?;
        match found {
            Some(doc) => self.read_document(doc, id),
            None => Ok(Stored { version: self.tombstone(collection, id).await?, doc: None }),
        }
    }

    async fn event(&self, collection: &str, id: &Id, version: u64) -> StorageResult<Option<LoggedEvent>> {
        self.op("event_find");
        let key = event_key(collection, &id.key(), version);
        let Some(d) = self.events.find_one(doc! {"_id": &key}).await.map_err(unavailable)? else { return Ok(None) };
        let payload = d.get_str("json").map_err(|e| corrupt(format!("event {key}: {e}")))?.as_bytes().to_vec();
        let event = match Message::parse(&payload, &self.read_limits) {
            Ok(Message::Event(e)) => e,
            other => return Err(corrupt(format!("event {key} is not an event: {other:?}"))),
        };
        let doc = match d.get("doc") {
            Some(Bson::Document(doc)) => self.read_document(doc.clone(), id)?.doc,
            _ => None,
        };
        Ok(Some(LoggedEvent { event, doc, payload }))
    }

    async fn record(&self, logged: &LoggedEvent) -> StorageResult<Recorded> {
        let e = &logged.event;
        let doc = match &logged.doc {
            Some(d) => Bson::Document(self.to_bson(d)?),
            None => Bson::Null,
        };
        let json = String::from_utf8(logged.payload.clone()).map_err(corrupt)?;
        let at = bson::DateTime::from_millis(e.at.unwrap_or(0) as i64);
        let record = doc! {
            "_id": event_key(&e.collection, &e.id.key(), e.version),
            "by": &self.instance, "at": at, "client": &e.client, "rid": &e.rid, "json": json, "doc": doc,
        };
        match self.inserts.insert(record).await {
            Inserted::Ok if self.die_after_record => crate::die("after-event"),
            Inserted::Ok => Ok(Recorded::Won),
            Inserted::Duplicate => Ok(Recorded::Lost),
            Inserted::Refused(why) => Err(StorageError::Refused(why)),
            Inserted::Unavailable(why) => Err(StorageError::Unavailable(why)),
        }
    }

    async fn void(&self, event: &Event) -> StorageResult<()> {
        self.op("event_delete");
        let key = event_key(&event.collection, &event.id.key(), event.version);
        self.events.delete_one(doc! {"_id": key}).await.map_err(unavailable)?;
        Ok(())
    }

    async fn write(&self, collection: &str, id: &Id, state: &Stored) -> StorageResult<()> {
        let Some(doc) = &state.doc else { return self.delete(collection, id, state.version).await };
        let mut stored = self.to_bson(doc)?;
        stored.insert(VERSION_FIELD, state.version as i64);
        let mut replaced = self.replace(collection, id, stored).await?;
        // Writes are not conditional: if this one replaced a newer version (a slower writer of
        // an older state), put the newer one back; if the object was deleted at a newer version
        // meanwhile, delete it again.
        for _ in 0..MAX_RESTORES {
            match replaced {
                Some(v) if v > state.version => {
                    let newer = self.object_at(collection, id, v).await?;
                    replaced = match newer {
                        Some(doc) => self.replace(collection, id, doc).await?,
                        None => return Ok(()),
                    };
                }
                None if self.tombstone(collection, id).await? > state.version => {
                    self.op("object_delete");
                    let filter = doc! {"_id": self.id_bson(id)?};
                    self.collection(collection).delete_one(filter).await.map_err(unavailable)?;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    async fn record_reject(&self, client: &str, reject: &Reject) -> StorageResult<Option<Reject>> {
        let Some(rid) = &reject.rid else { return Ok(None) };
        let key = format!("{client}|{rid}");
        let json = String::from_utf8(Message::Reject(reject.clone()).to_bytes()).map_err(corrupt)?;
        self.op("reject_insert");
        let record = doc! {"_id": &key, "json": json, "at": bson::DateTime::now()};
        match self.rejects.insert_one(record).await {
            Ok(_) => Ok(None),
            Err(e) => match classify(&e) {
                Failure::Duplicate => {
                    self.op("reject_find");
                    let prior = self.rejects.find_one(doc! {"_id": &key}).await.map_err(unavailable)?;
                    let json = prior.as_ref().and_then(|d| d.get_str("json").ok()).unwrap_or_default();
                    match Message::parse(json.as_bytes(), &self.read_limits) {
                        Ok(Message::Reject(r)) => Ok(Some(r)),
                        _ => Err(corrupt(format!("recorded reject {key} is unreadable"))),
                    }
                }
                Failure::Refused(why) | Failure::Unavailable(why) => Err(StorageError::Unavailable(why)),
            },
        }
    }

    async fn claim_rid(&self, client: &str, rid: &str, fingerprint: &str) -> StorageResult<Option<String>> {
        let key = format!("{client}|{rid}");
        let claim = doc! {"_id": &key, "fp": fingerprint, "at": bson::DateTime::now()};
        self.op("rid_insert");
        let e = match self.rids.insert_one(claim).await {
            Ok(_) => return Ok(None),
            Err(e) => e,
        };
        match classify(&e) {
            Failure::Duplicate => {
                self.op("rid_find");
                let prior = self.rids.find_one(doc! {"_id": &key}).await.map_err(unavailable)?;
                match prior.as_ref().and_then(|d| d.get_str("fp").ok()) {
                    Some(fp) => Ok(Some(fp.to_string())),
                    None => Err(corrupt(format!("rid claim {key} has no fingerprint"))),
                }
            }
            Failure::Refused(why) | Failure::Unavailable(why) => Err(StorageError::Unavailable(why)),
        }
    }

    async fn page(
        &self,
        collection: &str,
        after: Option<&Id>,
        limit: usize,
        docs: bool,
    ) -> StorageResult<Vec<ObjectState>> {
        crate::paging::page(self, collection, after, limit, docs).await
    }
}

impl MongoStorage {
    /// The stored document of the object at `version`, from its event (for restoring it).
    async fn object_at(&self, collection: &str, id: &Id, version: u64) -> StorageResult<Option<BsonDocument>> {
        let Some(logged) = self.event(collection, id, version).await? else { return Ok(None) };
        let Some(doc) = logged.doc else { return Ok(None) };
        let mut stored = self.to_bson(&doc)?;
        stored.insert(VERSION_FIELD, version as i64);
        Ok(Some(stored))
    }

    /// A delete: the tombstone first (a crash before the delete leaves the document, which the
    /// event log rolls forward again), then the document, unless it is newer than the delete.
    async fn delete(&self, collection: &str, id: &Id, version: u64) -> StorageResult<()> {
        self.op("tombstone_upsert");
        let key = tombstone_key(collection, id);
        let max = doc! {"$max": {"v": version as i64}};
        self.tombstones.update_one(doc! {"_id": &key}, max).upsert(true).await.map_err(unavailable)?;
        self.op("object_delete");
        let filter = doc! {"_id": self.id_bson(id)?};
        let before = self.collection(collection).find_one_and_delete(filter).await.map_err(unavailable)?;
        if let Some(v) = before.map(|b| version_of(&b, VERSION_FIELD, 1)).filter(|&v| v > version) {
            // A re-insert newer than this delete was written first: put it back.
            if let Some(doc) = self.object_at(collection, id, v).await? {
                self.replace(collection, id, doc).await?;
            }
        }
        Ok(())
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn read_limits(&self) -> &Limits {
        &self.read_limits
    }

    pub(crate) fn count(&self, name: &'static str) {
        self.op(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_key_reads_back_even_when_the_id_key_holds_bars() {
        let key = event_key("tasks", "s:a|b", 42);
        assert_eq!(parse_event_key(&key), Some(("tasks", "s:a|b", 42)));
        assert_eq!(parse_event_key("tasks|s:a"), None);
    }

    #[test]
    fn an_array_directly_inside_an_array_is_found_at_any_depth() {
        let nested = |v: serde_json::Value| has_nested_array(&v, false);
        assert!(nested(serde_json::json!({"a": [[1]]})));
        assert!(nested(serde_json::json!({"a": {"b": [1, [2]]}})));
        assert!(nested(serde_json::json!({"a": [{"b": [[]]}]})));
        assert!(!nested(serde_json::json!({"a": [1, {"b": [2]}], "c": []})));
    }
}
