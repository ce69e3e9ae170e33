//! MongoDB storage, without multi-document transactions (PROTOCOL.md §15).
//!
//! - Each object lives in its collection with its version in `_vmm_v` (a document without it,
//!   written by another program, is read as version 1).
//! - `vmm_events` is the event log, keyed `collection|key|version` (zero-padded, so `_id` order is
//!   version order), with a unique index on (`client`, `rid`). Inserting an event is the commit
//!   point: the `_id` makes one bridge win each version, the unique index keeps a request from
//!   being applied twice. Its `published` flag makes it the outbox too.
//! - The object is then written conditionally on its previous version. Whoever reads an object
//!   whose log is ahead of it rolls it forward first, so a crash between the two writes loses
//!   nothing.
//! - `vmm_tombstones` keeps the version of deleted objects; `vmm_rejects` the rejects sent.

use crate::error::{Error, Result};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document as BsonDocument};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use std::ops::RangeInclusive;
use vmm_protocol::decide::{Outcome, Stored};
use vmm_protocol::message::{stored_document, Event, Message, ObjectState, Reject};
use vmm_protocol::{value, Id, Limits, Value};

/// The field that carries an object's version in its stored document.
pub(crate) const VERSION_FIELD: &str = "_vmm_v";

pub(crate) struct Store {
    db: Database,
    events: Collection<BsonDocument>,
    rejects: Collection<BsonDocument>,
    tombstones: Collection<BsonDocument>,
    /// Limits for reading what is stored: generous, since it was checked on the way in.
    read_limits: Limits,
}

fn event_key(collection: &str, key: &str, version: u64) -> String {
    format!("{collection}|{key}|{version:016}")
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::InsertMany(m) => m.write_errors.as_ref().is_some_and(|ws| ws.iter().any(|w| w.code == 11000)),
        ErrorKind::Command(c) => c.code == 11000,
        _ => e.to_string().contains("E11000"),
    }
}

pub(crate) fn to_bson(value: Value) -> Result<Bson> {
    Bson::try_from(value).map_err(|e| Error::Storage(format!("cannot convert to BSON: {e}")))
}

fn id_bson(id: &Id) -> Result<Bson> {
    to_bson(id.to_value())
}

fn version_of(doc: &BsonDocument) -> u64 {
    match doc.get(VERSION_FIELD) {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        Some(Bson::Double(v)) => *v as u64,
        _ => 1,
    }
}

/// A filter matching the object's stored document at `version`.
fn at_version(id: Bson, version: u64) -> BsonDocument {
    if version == 1 {
        doc! {"_id": id, "$or": [{VERSION_FIELD: 1_i64}, {VERSION_FIELD: {"$exists": false}}]}
    } else {
        doc! {"_id": id, VERSION_FIELD: version as i64}
    }
}

impl Store {
    pub(crate) async fn open(db: Database) -> Result<Store> {
        let store = Store {
            events: db.collection("vmm_events"),
            rejects: db.collection("vmm_rejects"),
            tombstones: db.collection("vmm_tombstones"),
            db,
            read_limits: Limits { max_payload: usize::MAX, max_document: usize::MAX, max_depth: 100 },
        };
        let unique = IndexOptions::builder().unique(true).name("client_rid".to_string()).build();
        store
            .events
            .create_index(IndexModel::builder().keys(doc! {"client": 1, "rid": 1}).options(unique).build())
            .await?;
        store.events.create_index(IndexModel::builder().keys(doc! {"published": 1}).build()).await?;
        Ok(store)
    }

    fn parse_event(&self, doc: &BsonDocument) -> Result<Event> {
        let json = doc.get_str("json").map_err(|e| Error::Storage(format!("event without json: {e}")))?;
        let value: Value = serde_json::from_str(json).map_err(|e| Error::Storage(e.to_string()))?;
        match Message::from_value(value, &self.read_limits) {
            Ok(Message::Event(e)) => Ok(e),
            other => Err(Error::Storage(format!("bad stored event: {other:?}"))),
        }
    }

    /// The recorded outcome of (`client`, `rid`), if any.
    pub(crate) async fn prior(&self, client: &str, rid: &str) -> Result<Option<Outcome>> {
        if let Some(doc) = self.events.find_one(doc! {"client": client, "rid": rid}).await? {
            return Ok(Some(Outcome::Applied(self.parse_event(&doc)?)));
        }
        if let Some(doc) = self.rejects.find_one(doc! {"_id": format!("{client}|{rid}")}).await? {
            let json = doc.get_str("json").map_err(|e| Error::Storage(e.to_string()))?;
            let value: Value = serde_json::from_str(json).map_err(|e| Error::Storage(e.to_string()))?;
            if let Ok(Message::Reject(r)) = Message::from_value(value, &self.read_limits) {
                return Ok(Some(Outcome::Rejected(r)));
            }
        }
        Ok(None)
    }

    /// Whether (`client`, `rid`) was applied.
    pub(crate) async fn applied(&self, client: &str, rid: &str) -> Result<Option<Event>> {
        match self.events.find_one(doc! {"client": client, "rid": rid}).await? {
            Some(doc) => Ok(Some(self.parse_event(&doc)?)),
            None => Ok(None),
        }
    }

    /// The object as stored, without rolling forward.
    async fn read(&self, collection: &str, id: &Id) -> Result<Stored> {
        let coll: Collection<BsonDocument> = self.db.collection(collection);
        if let Some(mut doc) = coll.find_one(doc! {"_id": id_bson(id)?}).await? {
            let version = version_of(&doc);
            doc.remove(VERSION_FIELD);
            let json = Bson::Document(doc).into_relaxed_extjson();
            let doc = stored_document(json, id, &self.read_limits)
                .map_err(|e| Error::Storage(format!("{collection}/{id} is not a valid vmm document: {e}")))?;
            return Ok(Stored { version, doc: Some(doc) });
        }
        let tomb = self.tombstones.find_one(doc! {"_id": format!("{collection}|{}", id.key())}).await?;
        let version = tomb.map(|t| version_of_tombstone(&t)).unwrap_or(0);
        Ok(Stored { version, doc: None })
    }

    /// The object as it is: as stored, rolled forward with any events the log has beyond it.
    pub(crate) async fn load(&self, collection: &str, id: &Id) -> Result<Stored> {
        let stored = self.read(collection, id).await?;
        let later = self.events_after(collection, id, stored.version, None).await?;
        if later.is_empty() {
            return Ok(stored);
        }
        let mut state = stored.clone();
        for e in later {
            if e.prev != state.version {
                break;
            }
            state.doc = e
                .change
                .apply(state.doc.as_ref(), &self.read_limits)
                .map_err(|v| Error::Storage(format!("cannot roll {collection}/{id} forward: {v}")))?;
            state.version = e.version;
        }
        if state.version != stored.version {
            tracing::info!(%collection, %id, from = stored.version, to = state.version, "rolling an object forward from the event log");
            self.write(collection, id, &stored, &state).await?;
        }
        Ok(state)
    }

    async fn events_after(&self, collection: &str, id: &Id, after: u64, upto: Option<u64>) -> Result<Vec<Event>> {
        let key = id.key();
        let high = match upto {
            Some(v) => doc! {"$lte": event_key(collection, &key, v)},
            None => doc! {"$lt": format!("{collection}|{key}|~")},
        };
        let mut range = doc! {"$gt": event_key(collection, &key, after)};
        range.extend(high);
        let docs: Vec<BsonDocument> =
            self.events.find(doc! {"_id": range}).sort(doc! {"_id": 1}).await?.try_collect().await?;
        docs.iter().map(|d| self.parse_event(d)).collect()
    }

    /// The events with versions in `range` that the log still has, in order.
    pub(crate) async fn history(&self, collection: &str, id: &Id, range: RangeInclusive<u64>) -> Result<Vec<Event>> {
        self.events_after(collection, id, range.start().saturating_sub(1), Some(*range.end())).await
    }

    /// Records an event: the commit point. `false` when another request took this version, or
    /// this request was recorded already.
    pub(crate) async fn record_event(&self, event: &Event, now: bson::DateTime) -> Result<bool> {
        let key = event.id.key();
        let json = serde_json::to_string(&event.to_value()).expect("JSON");
        let doc = doc! {
            "_id": event_key(&event.collection, &key, event.version),
            "c": &event.collection,
            "k": &key,
            "v": event.version as i64,
            "client": &event.client,
            "rid": &event.rid,
            "json": json,
            "published": false,
            "at": now,
        };
        match self.events.insert_one(doc).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the object's new state, conditional on its previous one. Losing that condition
    /// means another bridge already wrote it (rolling forward): not an error.
    pub(crate) async fn write(&self, collection: &str, id: &Id, prev: &Stored, new: &Stored) -> Result<()> {
        let coll: Collection<BsonDocument> = self.db.collection(collection);
        let idb = id_bson(id)?;
        match &new.doc {
            Some(doc) => {
                let Bson::Document(mut stored) = to_bson(Value::Object(doc.clone()))? else {
                    return Err(Error::Storage("a document did not convert to a BSON document".into()));
                };
                stored.insert(VERSION_FIELD, new.version as i64);
                let filter = if prev.doc.is_some() {
                    at_version(idb.clone(), prev.version)
                } else {
                    doc! {"_id": idb.clone()}
                };
                let result = if prev.doc.is_some() {
                    coll.replace_one(filter, stored).await
                } else {
                    // The object is absent; insert it. A duplicate key means someone else did.
                    coll.insert_one(stored).await.map(|_| mongodb::results::UpdateResult::default())
                };
                match result {
                    Ok(_) => Ok(()),
                    Err(e) if is_duplicate_key(&e) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            None => {
                // Tombstone first: a crash before the delete leaves the document, which the event
                // log then rolls forward again.
                let tomb_id = format!("{collection}|{}", id.key());
                self.tombstones
                    .update_one(doc! {"_id": &tomb_id}, doc! {"$max": {"v": new.version as i64}})
                    .upsert(true)
                    .await?;
                if prev.doc.is_some() {
                    coll.delete_one(at_version(idb, prev.version)).await?;
                }
                Ok(())
            }
        }
    }

    /// Records a reject as the outcome of (`client`, `rid`).
    pub(crate) async fn record_reject(&self, client: &str, reject: &Reject, now: bson::DateTime) -> Result<()> {
        let Some(rid) = &reject.rid else { return Ok(()) };
        let json = serde_json::to_string(&reject.to_value()).expect("JSON");
        let result = self
            .rejects
            .update_one(doc! {"_id": format!("{client}|{rid}")}, doc! {"$setOnInsert": {"json": json, "at": now}})
            .upsert(true)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The oldest event of an object not yet acknowledged by the broker.
    pub(crate) async fn next_unpublished(&self, collection: &str, key: &str) -> Result<Option<Event>> {
        let filter = doc! {
            "_id": {"$gt": format!("{collection}|{key}|"), "$lt": format!("{collection}|{key}|~")},
            "published": false,
        };
        match self.events.find(filter).sort(doc! {"_id": 1}).limit(1).await?.try_next().await? {
            Some(doc) => Ok(Some(self.parse_event(&doc)?)),
            None => Ok(None),
        }
    }

    pub(crate) async fn mark_published(&self, event: &Event) -> Result<()> {
        let id = event_key(&event.collection, &event.id.key(), event.version);
        self.events.update_one(doc! {"_id": id}, doc! {"$set": {"published": true}}).await?;
        Ok(())
    }

    /// Objects with events not yet acknowledged (at most `limit`), and how many such events.
    pub(crate) async fn unpublished(&self, limit: i64) -> Result<(Vec<(String, String)>, u64)> {
        let docs: Vec<BsonDocument> = self
            .events
            .find(doc! {"published": false})
            .projection(doc! {"c": 1, "k": 1})
            .limit(limit)
            .await?
            .try_collect()
            .await?;
        let mut objects: Vec<(String, String)> = docs
            .iter()
            .filter_map(|d| Some((d.get_str("c").ok()?.to_string(), d.get_str("k").ok()?.to_string())))
            .collect();
        let count = objects.len() as u64;
        objects.sort();
        objects.dedup();
        Ok((objects, count))
    }

    /// Forgets published events (and with them the applied outcomes) recorded before
    /// `events_before`, and rejects recorded before `rejects_before`. Replays from before then
    /// become snapshots. Returns how many events and rejects were removed.
    pub(crate) async fn prune(
        &self,
        events_before: bson::DateTime,
        rejects_before: bson::DateTime,
    ) -> Result<(u64, u64)> {
        let events = self.events.delete_many(doc! {"published": true, "at": {"$lt": events_before}}).await?;
        let rejects = self.rejects.delete_many(doc! {"at": {"$lt": rejects_before}}).await?;
        Ok((events.deleted_count, rejects.deleted_count))
    }

    /// One page of a collection load: live objects after the cursor, in `_id` order within each
    /// id type (integers, strings, ObjectIds), at most `limit` and at most `budget` bytes.
    pub(crate) async fn page(
        &self,
        collection: &str,
        after: Option<&Id>,
        limit: usize,
        budget: usize,
    ) -> Result<(Vec<ObjectState>, Option<String>)> {
        let coll: Collection<BsonDocument> = self.db.collection(collection);
        let start = after.map_or(0, bracket_of);
        let mut states = Vec::new();
        let mut used = 0;
        for bracket in start..3 {
            let lower = match after {
                Some(a) if bracket_of(a) == bracket => doc! {"$gt": id_bson(a)?},
                _ => doc! {"$gte": bracket_min(bracket)},
            };
            let mut cursor = coll.find(doc! {"_id": lower}).sort(doc! {"_id": 1}).limit((limit + 1) as i64).await?;
            while let Some(mut doc) = cursor.try_next().await? {
                let Some(raw_id) = doc.get("_id").cloned() else { continue };
                let Ok(id) = Id::from_value(&raw_id.clone().into_relaxed_extjson()) else { continue };
                if bracket_of(&id) != bracket {
                    continue;
                }
                let version = version_of(&doc);
                doc.remove(VERSION_FIELD);
                let Ok(json) = stored_document(Bson::Document(doc).into_relaxed_extjson(), &id, &self.read_limits)
                else {
                    tracing::warn!(%collection, %id, "skipping a document that is not a valid vmm document");
                    continue;
                };
                let state = ObjectState { id, version, doc: Some(json) };
                let size = value::serialized_len(&state.to_value());
                if states.len() == limit || (used + size > budget && !states.is_empty()) {
                    let next = states.last().map(|s: &ObjectState| s.id.key());
                    return Ok((states, next));
                }
                used += size;
                states.push(state);
            }
        }
        Ok((states, None))
    }
}

fn version_of_tombstone(doc: &BsonDocument) -> u64 {
    match doc.get("v") {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        _ => 0,
    }
}

/// MongoDB compares `_id`s within a type bracket: integers, then strings, then ObjectIds.
fn bracket_of(id: &Id) -> usize {
    match id {
        Id::Int(_) => 0,
        Id::String(_) => 1,
        Id::ObjectId(_) => 2,
    }
}

fn bracket_min(bracket: usize) -> Bson {
    match bracket {
        0 => Bson::Int64(i64::MIN),
        1 => Bson::String(String::new()),
        _ => Bson::ObjectId(bson::oid::ObjectId::from_bytes([0; 12])),
    }
}
