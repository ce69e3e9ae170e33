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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Change;
    use crate::{Id, Value};

    fn failure(version: u64) -> Failure {
        Failure { collection: "c".into(), id: Id::Int(1), version }
    }

    fn event(prev: u64, pad: usize) -> Event {
        let update =
            crate::update::Update::parse(serde_json::json!({"$set": {"pad": "x".repeat(pad)}}), &Limits::default())
                .unwrap();
        Event {
            collection: "c".into(),
            id: Id::Int(1),
            prev,
            version: prev + 1,
            client: "a".into(),
            rid: format!("r{prev}"),
            at: None,
            change: Change::Update(update),
        }
    }

    fn stored(version: u64) -> Stored {
        let mut doc = crate::value::Document::new();
        doc.insert("_id".into(), Value::from(1));
        Stored { version, doc: Some(doc) }
    }

    #[test]
    fn a_complete_history_is_replayed_as_events_in_order() {
        let history: Vec<Event> = (0..5).map(|p| event(p, 1)).collect();
        let replay = answer(&failure(2), &stored(5), &history, &Limits::default());
        let ReplayBody::Events(events) = replay.body else { panic!("expected events") };
        assert_eq!(events.iter().map(|e| e.version).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(replay.from, 2);
    }

    #[test]
    fn a_history_that_no_longer_reaches_back_gives_a_snapshot() {
        let history: Vec<Event> = (3..5).map(|p| event(p, 1)).collect();
        let replay = answer(&failure(2), &stored(5), &history, &Limits::default());
        assert!(matches!(replay.body, ReplayBody::Snapshot(ObjectState { version: 5, .. })));
    }

    #[test]
    fn events_that_would_not_fit_one_message_give_a_snapshot() {
        let history: Vec<Event> = (0..3).map(|p| event(p, 40_000)).collect();
        let limits = Limits { max_payload: Limits::MIN_PAYLOAD, ..Limits::default() };
        let replay = answer(&failure(0), &stored(3), &history, &limits);
        assert!(matches!(replay.body, ReplayBody::Snapshot(_)));
    }

    #[test]
    fn a_consumer_at_or_past_the_stored_version_gets_a_snapshot() {
        assert!(events_needed(&failure(5), 5).is_none());
        let replay = answer(&failure(5), &stored(5), &[], &Limits::default());
        assert!(matches!(replay.body, ReplayBody::Snapshot(ObjectState { version: 5, .. })));
    }
}
