//! An object's state as the bridge decides on it: cached, or read from the collection, and rolled
//! forward over the events the log has beyond it (a bridge may have died between recording an
//! event and writing its object, §15).

use super::storage::{LoggedEvent, StorageError, StorageResult};
use super::{Bridge, Effect, Publication, Storage};
use crate::decide::Stored;
use crate::Id;

/// Most events one roll-forward follows before it answers with what it has (a later one goes on).
const MAX_ROLL: usize = 1000;

impl<S: Storage> Bridge<S> {
    /// The state a request is decided on: the cached one, or the stored one. A stored state's
    /// own event is published again, since this process cannot know whether the bridge that
    /// recorded it got it acknowledged, and no later event may go out before it (§10).
    pub(crate) async fn current(
        &self,
        now: u64,
        collection: &str,
        id: &Id,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<Stored> {
        let key = id.key();
        if let Some(state) = self.cache.lock().expect("cache lock").get(now, collection, &key) {
            return Ok(state);
        }
        let stored = self.storage.object(collection, id).await?;
        if stored.version > 0 {
            if let Some(logged) = self.storage.event(collection, id, stored.version).await? {
                effects.push(Effect::Publish(Box::new(self.publication(&logged))));
            }
        }
        self.remember(now, collection, &key, &stored);
        Ok(stored)
    }

    /// The newest state: [`Bridge::current`], rolled forward over any later events in the log.
    pub(crate) async fn latest(
        &self,
        now: u64,
        collection: &str,
        id: &Id,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<Stored> {
        let state = self.current(now, collection, id, effects).await?;
        self.advance(now, collection, id, state, effects).await
    }

    /// Rolls `state` forward over the events the log has after it: writes each state and
    /// publishes each event. An event whose state the database refuses never took effect: it is
    /// removed from the log (it was never published, since objects are written first).
    pub(crate) async fn advance(
        &self,
        now: u64,
        collection: &str,
        id: &Id,
        mut state: Stored,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<Stored> {
        for _ in 0..MAX_ROLL {
            let Some(logged) = self.storage.event(collection, id, state.version + 1).await? else { break };
            match self.storage.write(collection, id, &logged.state()).await {
                Ok(()) => {}
                Err(StorageError::Refused(_)) => {
                    self.storage.void(&logged.event).await?;
                    break;
                }
                Err(e) => return Err(e),
            }
            state = logged.state();
            effects.push(Effect::Publish(Box::new(self.publication(&logged))));
        }
        self.remember(now, collection, &id.key(), &state);
        Ok(state)
    }

    /// Reads the object again, ignoring the cache, and rolls it forward.
    pub(crate) async fn reread(
        &self,
        now: u64,
        collection: &str,
        id: &Id,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<Stored> {
        self.forget(collection, &id.key());
        let stored = self.storage.object(collection, id).await?;
        self.advance(now, collection, id, stored, effects).await
    }

    /// Finishes what a bridge left undone for an object: publishes its events from version
    /// `from` on (in order, each again if it was already), writes every state the log has beyond
    /// the stored one, and publishes those events too. For [`Effect::RollForward`] and for
    /// recovering the events of a bridge that stopped before they were acknowledged.
    pub async fn roll_forward(
        &self,
        now: u64,
        collection: &str,
        id: &Id,
        from: Option<u64>,
    ) -> StorageResult<Vec<Effect>> {
        let mut effects = Vec::new();
        self.forget(collection, &id.key());
        let stored = self.storage.object(collection, id).await?;
        let first = from.unwrap_or(stored.version).max(1);
        for version in first..=stored.version {
            if let Some(logged) = self.storage.event(collection, id, version).await? {
                effects.push(Effect::Publish(Box::new(self.publication(&logged))));
            }
        }
        self.advance(now, collection, id, stored, &mut effects).await?;
        Ok(effects)
    }

    pub(crate) fn publication(&self, logged: &LoggedEvent) -> Publication {
        let e = &logged.event;
        Publication {
            event: e.clone(),
            topic: self.config.topics.event(&e.collection, &e.id),
            payload: logged.payload.clone(),
        }
    }

    pub(crate) fn remember(&self, now: u64, collection: &str, key: &str, state: &Stored) {
        self.cache.lock().expect("cache lock").put(now, collection, key, state.clone());
    }

    pub(crate) fn forget(&self, collection: &str, key: &str) {
        self.cache.lock().expect("cache lock").forget(collection, key);
    }
}
