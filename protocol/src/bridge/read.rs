//! The read-only answers: a replay for a failure (§11) and a snapshot page for a load (§12).
//! Neither records anything; a storage error leaves the message unanswered, and the consumer
//! asks again.

use super::storage::StorageResult;
use super::{Bridge, Effect, Handled, Storage};
use crate::message::{Event, Failure, Load, LoadScope, Message, ObjectState, ObjectVersion, Snapshot};
use crate::{replay, value, Id};

/// Most events a replay carries; a consumer further behind gets a snapshot. Consumers keep up to
/// 64 early events per object (§11), so a longer replay would not help them either.
pub const MAX_REPLAY_EVENTS: u64 = 64;

/// Bytes kept free in a reply for its envelope.
const ENVELOPE: usize = 4096;

/// The position in an `ids` load that a page's cursor names (`i:3`: the fourth id).
fn ids_position(cursor: &str) -> Option<usize> {
    cursor.strip_prefix("i:")?.parse().ok().filter(|&n| n > 0)
}

impl<S: Storage> Bridge<S> {
    pub(crate) async fn on_failure(&self, now: u64, client: &str, collection: &str, payload: &[u8]) -> Handled {
        let failure = match Message::parse(payload, &self.config.limits) {
            Ok(Message::Failure(f)) if f.collection == collection && self.config.served.allows(collection) => f,
            _ => return Handled::new("ignored"),
        };
        if !self.config.rules.may_read(client, collection) {
            return Handled::new("forbidden");
        }
        let mut handled = Handled::new("replay");
        match self.replay(now, &failure, &mut handled.effects).await {
            Ok((answer, snapshot)) => {
                handled.outcome = if snapshot { "snapshot" } else { "replay" };
                handled.effects.push(self.reply(client, answer));
            }
            Err(e) => handled.error = Some(e),
        }
        handled
    }

    async fn replay(&self, now: u64, failure: &Failure, effects: &mut Vec<Effect>) -> StorageResult<(Vec<u8>, bool)> {
        let state = self.latest(now, &failure.collection, &failure.id, effects).await?;
        let mut events: Vec<Event> = Vec::new();
        if let Some(range) = replay::events_needed(failure, state.version) {
            if range.end() - range.start() < MAX_REPLAY_EVENTS {
                let budget = self.config.limits.max_payload.saturating_sub(ENVELOPE);
                let mut used = 0;
                for version in range {
                    let Some(logged) = self.storage.event(&failure.collection, &failure.id, version).await? else {
                        break;
                    };
                    used += logged.payload.len();
                    if used > budget {
                        break;
                    }
                    events.push(logged.event);
                }
            }
        }
        let answer = replay::answer(failure, &state, &events, &self.config.limits);
        let snapshot = matches!(answer.body, crate::message::ReplayBody::Snapshot(_));
        Ok((Message::Replay(answer).to_bytes(), snapshot))
    }

    pub(crate) async fn on_load(&self, now: u64, client: &str, collection: &str, payload: &[u8]) -> Handled {
        let load = match Message::parse(payload, &self.config.limits) {
            Ok(Message::Load(l)) if l.collection == collection && self.config.served.allows(collection) => l,
            _ => return Handled::new("ignored"),
        };
        if !self.config.rules.may_read(client, collection) {
            return Handled::new("forbidden");
        }
        let mut handled = Handled::new("load");
        match self.page(now, &load, &mut handled.effects).await {
            Ok(Some(page)) => handled.effects.push(self.reply(client, Message::Snapshot(page).to_bytes())),
            Ok(None) => handled.outcome = "ignored",
            Err(e) => handled.error = Some(e),
        }
        handled
    }

    /// One page: the objects named, or the next live objects of the collection that fit the
    /// payload limit (at least one). `None` for a cursor that is not an id key.
    async fn page(&self, now: u64, load: &Load, effects: &mut Vec<Effect>) -> StorageResult<Option<Snapshot>> {
        let collection = &load.collection;
        let (objects, next) = match &load.scope {
            LoadScope::Ids { ids, after } => {
                let start = match after.as_deref().map(ids_position) {
                    None => 0,
                    Some(Some(n)) if n < ids.len() => n,
                    Some(_) => return Ok(None),
                };
                self.ids_page(now, collection, &ids[start..], start, effects).await?
            }
            LoadScope::Collection { after } => {
                let Ok(after) = after.as_deref().map(Id::from_key).transpose() else { return Ok(None) };
                let limit = load.limit.unwrap_or(self.config.page_size) as usize;
                let found = self.storage.page(collection, after.as_ref(), limit + 1, true).await?;
                self.fit(found.into_iter(), limit)
            }
            LoadScope::Versions { after } => {
                let Ok(after) = after.as_deref().map(Id::from_key).transpose() else { return Ok(None) };
                let limit = load.limit.unwrap_or(self.config.versions_page_size) as usize;
                let found = self.storage.page(collection, after.as_ref(), limit + 1, false).await?;
                let (versions, next) = self.fit_versions(found, limit);
                let page = Snapshot {
                    lid: load.lid.clone(),
                    collection: collection.clone(),
                    objects: Vec::new(),
                    versions: Some(versions),
                    next,
                };
                return Ok(Some(page));
            }
        };
        Ok(Some(Snapshot { lid: load.lid.clone(), collection: collection.clone(), objects, versions: None, next }))
    }

    /// The states of `ids` (which start at position `start` of the load's ids) that fit one
    /// payload, at least one: read one by one, so that the work is bounded by the page, not by
    /// the load (100 ids of a 200 KB object are 100 pages, not one 20 MB answer). The cursor is
    /// the position of the first id left out.
    async fn ids_page(
        &self,
        now: u64,
        collection: &str,
        ids: &[Id],
        start: usize,
        effects: &mut Vec<Effect>,
    ) -> StorageResult<(Vec<ObjectState>, Option<String>)> {
        // The envelope (lid, collection, next) is bounded by their syntax.
        let budget = self.config.limits.max_payload.saturating_sub(ENVELOPE);
        let mut states = Vec::new();
        let mut used = 0;
        for id in ids {
            let s = self.latest(now, collection, id, effects).await?;
            let state = ObjectState { id: id.clone(), version: s.version, doc: s.doc };
            // Measured with its separating comma.
            let size = value::serialized_len(&state.to_value()) + 1;
            if used + size > budget && !states.is_empty() {
                let next = format!("i:{}", start + states.len());
                return Ok((states, Some(next)));
            }
            used += size;
            states.push(state);
        }
        Ok((states, None))
    }

    /// [`Bridge::fit`] for a versions page: ids and versions only.
    fn fit_versions(&self, found: Vec<ObjectState>, limit: usize) -> (Vec<ObjectVersion>, Option<String>) {
        let entries = found.into_iter().map(|s| ObjectVersion { id: s.id, version: s.version });
        // Measured with its separating comma.
        self.fit_page(entries, limit, |e| value::serialized_len(&e.to_value()) + 1, |e| e.id.key())
    }

    /// Keeps at most `limit` objects and as many as fit the payload limit (at least one); the
    /// cursor names the last one kept when more follow.
    fn fit(
        &self,
        found: impl ExactSizeIterator<Item = ObjectState>,
        limit: usize,
    ) -> (Vec<ObjectState>, Option<String>) {
        self.fit_page(found, limit, |s| value::serialized_len(&s.to_value()), |s| s.id.key())
    }

    /// The first entries of `found` that fit a page: at most `limit`, within the payload limit
    /// (at least one); the cursor (`key` of the last kept) when more follow.
    fn fit_page<T>(
        &self,
        found: impl ExactSizeIterator<Item = T>,
        limit: usize,
        size: impl Fn(&T) -> usize,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let budget = self.config.limits.max_payload.saturating_sub(ENVELOPE);
        let total = found.len();
        let mut used = 0;
        let mut kept = Vec::with_capacity(total.min(limit));
        for entry in found {
            let n = size(&entry);
            if kept.len() == limit || (used + n > budget && !kept.is_empty()) {
                break;
            }
            used += n;
            kept.push(entry);
        }
        let next = (kept.len() < total).then(|| kept.last().map(&key)).flatten();
        (kept, next)
    }
}
