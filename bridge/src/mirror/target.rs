//! The target database: reading what an earlier run left (for [`vmm_protocol::replica::Replica::restore`])
//! and writing object states so that any number of mirrors, in any order, leave each object at
//! the highest version any of them wrote.
//!
//! Every write is a point operation on `_id` (the only filter FerretDB answers without scanning
//! the collection): an atomic swap (`findOneAndReplace`, upsert, returning the document before),
//! and when the swap displaced a newer version, that version is put back the same way. A delete
//! records a tombstone (`vmm_mirror_tombstones`, `{_id: "<collection>|<id key>", v}` raised with
//! `$max`) before it removes the document, and a write that finds no document checks the
//! tombstone after it wrote: whichever of two mirrors comes second sees the other's work, so a
//! late write of an old version never resurrects a deleted object.

use mongodb::bson::{doc, Bson, Document as BsonDocument};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use vmm_protocol::message::{stored_document, ObjectState};
use vmm_protocol::{Document, Id, Limits, Value};

use crate::mongo::{is_duplicate_key, VERSION_FIELD};

/// The collection of the target database that holds the mirror's tombstones.
pub const TOMBSTONES: &str = "vmm_mirror_tombstones";

/// What a write found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The target held an older version (or nothing): this write made it current.
    Applied,
    /// The target already held this version: another mirror, or an earlier run, wrote it.
    Duplicate,
    /// The target held a newer version: it was kept (put back if the swap displaced it).
    Stale,
}

impl Outcome {
    /// `applied`, `duplicate` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Stale => "stale",
        }
    }
}

/// Why the target could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The database refused or did not answer.
    #[error("target database: {0}")]
    Database(#[from] mongodb::error::Error),
    /// A document cannot be written as BSON.
    #[error("cannot convert {0} to BSON")]
    Bson(String),
}

type Result<T> = std::result::Result<T, TargetError>;

/// The mirror's view of its target database.
#[derive(Clone, Debug)]
pub struct Target {
    db: Database,
    tombstones: Collection<BsonDocument>,
}

fn version_of(doc: &BsonDocument) -> u64 {
    match doc.get(VERSION_FIELD) {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        Some(Bson::Double(v)) => *v as u64,
        _ => 0,
    }
}

fn tombstone_key(collection: &str, id: &Id) -> String {
    format!("{collection}|{}", id.key())
}

fn id_bson(id: &Id) -> Result<Bson> {
    Bson::try_from(id.to_value()).map_err(|e| TargetError::Bson(format!("the id {id}: {e}")))
}

impl Target {
    /// The target database `db`.
    pub fn new(db: Database) -> Target {
        Target { tombstones: db.collection(TOMBSTONES), db }
    }

    /// The database, for `/healthz`'s ping.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Every object of `collection` that a mirror wrote, as the states it wrote; and how many
    /// documents the collection holds that no mirror wrote (no version field: skipped).
    pub async fn restore(&self, collection: &str) -> Result<(Vec<ObjectState>, usize)> {
        use futures_util::TryStreamExt;
        let limits = Limits { max_payload: usize::MAX, max_document: usize::MAX, max_depth: 100 };
        let mut cursor = self.db.collection::<BsonDocument>(collection).find(doc! {}).await?;
        let (mut states, mut foreign) = (Vec::new(), 0);
        while let Some(mut doc) = cursor.try_next().await? {
            let version = version_of(&doc);
            let id = doc.get("_id").cloned().and_then(|raw| Id::from_value(&raw.into_relaxed_extjson()).ok());
            let (Some(id), true) = (id, version > 0) else {
                foreign += 1;
                continue;
            };
            doc.remove(VERSION_FIELD);
            match stored_document(Bson::Document(doc).into_relaxed_extjson(), &id, &limits) {
                Ok(doc) => states.push(ObjectState { id, version, doc: Some(doc) }),
                Err(_) => foreign += 1,
            }
        }
        Ok((states, foreign))
    }

    /// Writes the object at `version` with `doc`, unless the target holds a newer version.
    pub async fn write_live(&self, collection: &str, id: &Id, version: u64, doc: &Document) -> Result<Outcome> {
        let mut stored = match Bson::try_from(Value::Object(doc.clone())) {
            Ok(Bson::Document(d)) => d,
            Ok(_) | Err(_) => return Err(TargetError::Bson(format!("the document of {id}"))),
        };
        stored.insert(VERSION_FIELD, version as i64);
        self.swap_in(collection, id, stored, version).await
    }

    /// Installs `stored` (at `version`), then puts back whatever newer it displaced, until the
    /// target holds the highest version written; the outcome is that of the first swap.
    async fn swap_in(&self, collection: &str, id: &Id, mut stored: BsonDocument, version: u64) -> Result<Outcome> {
        let coll = self.db.collection::<BsonDocument>(collection);
        let filter = doc! {"_id": id_bson(id)?};
        let mut mine = version;
        let mut outcome = None;
        loop {
            let before = swap(&coll, &filter, &stored).await?;
            let was = before.as_ref().map(version_of);
            let first = match was {
                Some(v) if v > mine => Outcome::Stale,
                Some(v) if v == mine => Outcome::Duplicate,
                _ => Outcome::Applied,
            };
            let outcome = *outcome.get_or_insert(first);
            match (was, before) {
                // A newer version was there: it goes back.
                (Some(v), Some(newer)) if v > mine => {
                    tracing::debug!(%collection, %id, version = v, "mirror: putting back a newer version");
                    (stored, mine) = (newer, v);
                }
                (None, _) => {
                    // Nothing was there: if it was deleted at this version or later, this write
                    // brought it back. Take it out again, unless a newer one replaced it meanwhile.
                    let deleted = self.tombstone(collection, id).await?;
                    if deleted < mine {
                        return Ok(outcome);
                    }
                    let removed = coll.find_one_and_delete(filter.clone()).await?;
                    let outcome = if mine == version { Outcome::Stale } else { outcome };
                    match removed.map(|r| (version_of(&r), r)) {
                        Some((v, newer)) if v > deleted => (stored, mine) = (newer, v),
                        _ => return Ok(outcome),
                    }
                }
                _ => return Ok(outcome),
            }
        }
    }

    /// Records that the object was deleted at `version` and removes it, unless the target holds
    /// a newer version.
    pub async fn write_deleted(&self, collection: &str, id: &Id, version: u64) -> Result<Outcome> {
        // The tombstone before the raise tells whether this deletion was recorded already (a
        // modified count would not: some servers count a `$max` that changed nothing).
        let before = self
            .tombstones
            .find_one_and_update(doc! {"_id": tombstone_key(collection, id)}, doc! {"$max": {"v": version as i64}})
            .upsert(true)
            .return_document(ReturnDocument::Before)
            .await?;
        let new = before.map_or(0, |t| tombstone_version(&t)) < version;
        let coll = self.db.collection::<BsonDocument>(collection);
        let removed = coll.find_one_and_delete(doc! {"_id": id_bson(id)?}).await?;
        match removed.map(|r| (version_of(&r), r)) {
            Some((v, newer)) if v > version => {
                self.swap_in(collection, id, newer, v).await?;
                Ok(Outcome::Stale)
            }
            Some(_) => Ok(Outcome::Applied),
            None if new => Ok(Outcome::Applied),
            None => Ok(Outcome::Duplicate),
        }
    }

    /// The version the target holds of an object (`None`: absent).
    pub async fn version(&self, collection: &str, id: &Id) -> Result<Option<u64>> {
        let coll = self.db.collection::<BsonDocument>(collection);
        let found = coll.find_one(doc! {"_id": id_bson(id)?}).projection(doc! {VERSION_FIELD: 1}).await?;
        Ok(found.as_ref().map(version_of))
    }

    async fn tombstone(&self, collection: &str, id: &Id) -> Result<u64> {
        let found = self.tombstones.find_one(doc! {"_id": tombstone_key(collection, id)}).await?;
        Ok(found.map_or(0, |t| tombstone_version(&t)))
    }
}

fn tombstone_version(tombstone: &BsonDocument) -> u64 {
    match tombstone.get("v") {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        _ => 0,
    }
}

/// `findOneAndReplace` by `_id` with upsert, returning the document before. Two upserts of one
/// new object may race (the loser gets a duplicate key error on `_id`): then it exists, and the
/// swap is tried once more.
async fn swap(
    coll: &Collection<BsonDocument>,
    filter: &BsonDocument,
    stored: &BsonDocument,
) -> Result<Option<BsonDocument>> {
    let mut raced = false;
    loop {
        let result = coll
            .find_one_and_replace(filter.clone(), stored.clone())
            .upsert(true)
            .return_document(ReturnDocument::Before)
            .await;
        match result {
            Ok(before) => return Ok(before),
            Err(e) if !raced && is_duplicate_key(&e) => raced = true,
            Err(e) => return Err(e.into()),
        }
    }
}
