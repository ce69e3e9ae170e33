//! The bridge's answer to a failure (§11): the missing events if it has them all and they fit
//! in one message, else a snapshot of the object.

use crate::decide::Stored;
use crate::limits::Limits;
use crate::message::{Event, Failure, ObjectState, Replay, ReplayBody};

/// The versions whose events the bridge should read to answer `failure` (`version + 1 ..=
/// stored`), or `None` when only a snapshot will do.
pub fn events_needed(failure: &Failure, stored_version: u64) -> Option<std::ops::RangeInclusive<u64>> {
    (failure.version < stored_version).then(|| failure.version + 1..=stored_version)
}

/// Builds the replay for `failure`, given the object as stored and the events the bridge still
/// has among [`events_needed`] (in version order).
pub fn answer(failure: &Failure, stored: &Stored, history: &[Event], limits: &Limits) -> Replay {
    let snapshot = || Replay {
        collection: failure.collection.clone(),
        id: failure.id.clone(),
        from: failure.version,
        body: ReplayBody::Snapshot(ObjectState {
            id: failure.id.clone(),
            version: stored.version,
            doc: stored.doc.clone(),
        }),
    };
    let Some(wanted) = events_needed(failure, stored.version) else {
        return snapshot();
    };
    let events: Vec<Event> = history.iter().filter(|e| wanted.contains(&e.version)).cloned().collect();
    let complete = events.len() as u64 == stored.version - failure.version
        && events.iter().zip(wanted).all(|(e, v)| e.version == v);
    if !complete {
        return snapshot();
    }
    let replay = Replay {
        collection: failure.collection.clone(),
        id: failure.id.clone(),
        from: failure.version,
        body: ReplayBody::Events(events),
    };
    if crate::message::Message::Replay(replay.clone()).to_bytes().len() > limits.max_payload {
        return snapshot();
    }
    replay
}
