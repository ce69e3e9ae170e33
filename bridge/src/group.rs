//! Group commit of event inserts: the event inserts of requests handled at the same time go to
//! the database as one `insertMany` (unordered), each still its own compare-and-set (a duplicate
//! `_id` fails only that event). No waiting is added: a batch is whatever queued up while the
//! previous one was in flight, so one request alone is inserted at once.
//!
//! On FerretDB an `insertMany` of 8 costs about a tenth per document of 8 single inserts
//! (docs/BENCHMARKS.md), and every write is serialised by SQLite.

use crate::metrics::Metrics;
use mongodb::bson::Document as BsonDocument;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::Collection;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What became of one insert.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inserted {
    Ok,
    /// Its `_id` exists.
    Duplicate,
    /// The database refused this document (its error).
    Refused(String),
    /// The insert failed as a whole; it may or may not have happened.
    Unavailable(String),
}

type Job = (BsonDocument, oneshot::Sender<Inserted>);

/// Most documents in one `insertMany`.
const MAX_BATCH: usize = 256;

#[derive(Clone)]
pub(crate) struct GroupInsert {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupInsert {
    /// Starts the inserting task for `collection` (it ends when every handle is dropped).
    pub(crate) fn start(collection: Collection<BsonDocument>, metrics: Arc<Metrics>) -> GroupInsert {
        let (jobs, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(collection, metrics, rx));
        GroupInsert { jobs }
    }

    pub(crate) async fn insert(&self, doc: BsonDocument) -> Inserted {
        let (tx, rx) = oneshot::channel();
        if self.jobs.send((doc, tx)).is_err() {
            return Inserted::Unavailable("the bridge is shutting down".into());
        }
        rx.await.unwrap_or_else(|_| Inserted::Unavailable("the inserting task stopped".into()))
    }
}

async fn run(collection: Collection<BsonDocument>, metrics: Arc<Metrics>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (docs, waiters): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        metrics.db_operation("event_insert");
        metrics.batch(docs.len());
        let results = outcomes(collection.insert_many(docs).ordered(false).await, waiters.len());
        for (waiter, result) in waiters.into_iter().zip(results) {
            let _ = waiter.send(result);
        }
    }
}

/// Each document's outcome from the result of an unordered `insertMany` of `n` documents.
fn outcomes(result: mongodb::error::Result<mongodb::results::InsertManyResult>, n: usize) -> Vec<Inserted> {
    let error = match result {
        Ok(_) => return vec![Inserted::Ok; n],
        Err(e) => e,
    };
    let failures: Vec<(usize, i32, String)> = match error.kind.as_ref() {
        ErrorKind::InsertMany(m) if m.write_concern_error.is_none() => {
            m.write_errors.iter().flatten().map(|w| (w.index, w.code, w.message.clone())).collect()
        }
        ErrorKind::Write(WriteFailure::WriteError(w)) if n == 1 => vec![(0, w.code, w.message.clone())],
        _ => return vec![Inserted::Unavailable(error.to_string()); n],
    };
    let mut out = vec![Inserted::Ok; n];
    for (index, code, message) in failures {
        if let Some(slot) = out.get_mut(index) {
            *slot = if code == 11000 { Inserted::Duplicate } else { Inserted::Refused(message) };
        }
    }
    out
}
