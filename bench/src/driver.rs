//! The baseline: what an application without vmm does for the same change, with the MongoDB
//! driver on the same database (`update_one` by `_id` with `$set`, `insert_one`).

use crate::vmm::{document, Done, Outcome};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ClientOptions;
use std::time::{Duration, Instant};

pub struct Driver {
    client: mongodb::Client,
    db: mongodb::Database,
}

impl Driver {
    /// A client with a pool large enough for every request in flight (the driver's default of 10
    /// connections would queue 64 concurrent operations in the driver, not in the database).
    pub async fn connect(uri: &str, database: &str, pool: u32) -> Result<Driver, String> {
        let mut options = ClientOptions::parse(uri).await.map_err(|e| e.to_string())?;
        options.max_pool_size = Some(pool.max(10));
        options.app_name = Some("vmm-bench".into());
        let client = mongodb::Client::with_options(options).map_err(|e| e.to_string())?;
        let db = client.database(database);
        tokio::time::timeout(Duration::from_secs(10), db.run_command(doc! {"ping": 1}))
            .await
            .map_err(|_| "the database did not answer a ping within 10 s".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Driver { client, db })
    }

    fn collection(&self, name: &str) -> mongodb::Collection<Document> {
        self.db.collection(name)
    }

    /// `update_one({_id}, {$set: {n}})`.
    pub async fn update(&self, collection: &str, id: &str, n: u64) -> Done {
        let start = Instant::now();
        // Stored as vmm stores an integer: Int32 when it fits (PROTOCOL.md §3.1).
        let n = i32::try_from(n).map(Bson::Int32).unwrap_or(Bson::Int64(n as i64));
        let result = self.collection(collection).update_one(doc! {"_id": id}, doc! {"$set": {"n": n}}).await;
        let outcome = match result {
            Ok(r) if r.matched_count == 1 => Outcome::Applied { version: 0 },
            Ok(_) => Outcome::Rejected { code: "not_found".into(), current: None },
            Err(e) => Outcome::Failed(e.to_string()),
        };
        Done { start, end: Instant::now(), outcome }
    }

    /// `insert_one` of the same document vmm inserts.
    pub async fn insert(&self, collection: &str, id: &str, n: u64) -> Done {
        let start = Instant::now();
        let result = self.collection(collection).insert_one(to_document(id, n)).await;
        let outcome = match result {
            Ok(_) => Outcome::Applied { version: 0 },
            Err(e) => Outcome::Failed(e.to_string()),
        };
        Done { start, end: Instant::now(), outcome }
    }

    /// Inserts the objects `ids` (the same documents vmm inserts) in batches of 1,000.
    pub async fn preload(&self, collection: &str, ids: impl Iterator<Item = String>) -> Result<u64, String> {
        let ids: Vec<String> = ids.collect();
        let mut done = 0;
        for batch in ids.chunks(1000) {
            let docs: Vec<Document> = batch.iter().map(|id| to_document(id, 0)).collect();
            let r = self.collection(collection).insert_many(docs).await.map_err(|e| e.to_string())?;
            done += r.inserted_ids.len() as u64;
        }
        Ok(done)
    }

    pub async fn shutdown(self) {
        self.client.shutdown().await;
    }
}

fn to_document(id: &str, n: u64) -> Document {
    let mut d = doc! {"_id": id};
    if let Ok(Bson::Document(body)) = Bson::try_from(document(id, n)) {
        d.extend(body);
    }
    d
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_driver_inserts_what_vmm_inserts() {
        let d = super::to_document("o1", 3);
        assert_eq!(d.get_str("_id").unwrap(), "o1");
        assert_eq!(d.get_i64("n").or_else(|_| d.get_i32("n").map(i64::from)).unwrap(), 3);
        assert_eq!(d.get_array("tags").unwrap().len(), 2);
    }
}
