//! One page of a collection load from MongoDB: live objects after a cursor, in `_id` order within
//! each id type (integers, then strings, then ObjectIds, as MongoDB compares them). The one query
//! of the bridge that is not a point operation: a load reads the collection by nature. A versions
//! page (§12.4) asks the database for `_id` and version only.

use crate::mongo::{MongoStorage, VERSION_FIELD};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document as BsonDocument};
use mongodb::Collection;
use vmm_protocol::bridge::{StorageError, StorageResult};
use vmm_protocol::message::{stored_document, ObjectState};
use vmm_protocol::Id;

pub(crate) async fn page(
    storage: &MongoStorage,
    collection: &str,
    after: Option<&Id>,
    limit: usize,
    docs: bool,
) -> StorageResult<Vec<ObjectState>> {
    let coll: Collection<BsonDocument> = storage.database().collection(collection);
    let unavailable = |e: mongodb::error::Error| StorageError::Unavailable(e.to_string());
    let start = after.map_or(0, bracket_of);
    let mut states = Vec::new();
    for bracket in start..3 {
        let lower = match after {
            Some(a) if bracket_of(a) == bracket => {
                doc! {"$gt": Bson::try_from(a.to_value()).map_err(|e| StorageError::Corrupt(e.to_string()))?}
            }
            _ => doc! {"$gte": bracket_min(bracket)},
        };
        storage.count("page_find");
        let want = (limit - states.len()) as i64;
        let mut find = coll.find(doc! {"_id": lower}).sort(doc! {"_id": 1}).limit(want);
        if !docs {
            find = find.projection(doc! {"_id": 1, VERSION_FIELD: 1});
        }
        let mut cursor = find.await.map_err(unavailable)?;
        while let Some(mut doc) = cursor.try_next().await.map_err(unavailable)? {
            let Some(raw_id) = doc.get("_id").cloned() else { continue };
            let Ok(id) = Id::from_value(&raw_id.into_relaxed_extjson()) else { continue };
            if bracket_of(&id) != bracket {
                continue;
            }
            let version = match doc.remove(VERSION_FIELD) {
                Some(Bson::Int64(v)) => v as u64,
                Some(Bson::Int32(v)) => v as u64,
                _ => 1,
            };
            if !docs {
                states.push(ObjectState { id, version, doc: None });
                if states.len() == limit {
                    return Ok(states);
                }
                continue;
            }
            let json = Bson::Document(doc).into_relaxed_extjson();
            let Ok(json) = stored_document(json, &id, storage.read_limits()) else {
                tracing::warn!(%collection, %id, "skipping a document that is not a valid vmm document");
                continue;
            };
            states.push(ObjectState { id, version, doc: Some(json) });
            if states.len() == limit {
                return Ok(states);
            }
        }
    }
    Ok(states)
}

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
