//! What the application and the shell decide besides changes: cancelling pending changes, a
//! bridge coming up, no longer following a collection, and whether a collection is loaded.

use super::load::LoadKind;
use super::outgoing::{load_of, send};
use super::timers::{self, When};
use super::{Notice, Replica};
use crate::error::Code;
use crate::id::Id;
use crate::message::{Message, ObjectState};

impl Replica {
    /// Takes confirmed object states the application kept from an earlier run (a store that
    /// persists its data, a MongoDB mirror), each one only if it is newer than what the replica
    /// holds; returns how many it took. Call it before [`Replica::watch_collection`]: with
    /// [`Resync::Versions`](super::Resync::Versions) the load that follows then fetches only the
    /// objects whose version differs (§12.4). States are trusted as given: they must be states
    /// this protocol produced (a version and the document at that version).
    pub fn restore(&mut self, collection: &str, states: impl IntoIterator<Item = ObjectState>) -> usize {
        let mut taken = 0;
        for state in states {
            if self.entry(collection, &state.id).take_state(state.version, state.doc) {
                taken += 1;
            }
        }
        taken
    }

    /// Cancels this replica's pending changes of an object: each is rolled back at once with
    /// `cancelled`, in order, the one in flight included, and its request is not sent again.
    /// Returns their request ids. A change that was already sent may still be applied; its event
    /// then arrives and is merged like anyone else's (§6.4).
    pub fn cancel(&mut self, collection: &str, id: &Id) -> Vec<String> {
        let key = id.key();
        let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(&key)) else { return Vec::new() };
        let dropped: Vec<String> = entry.pending.drain(..).map(|p| p.rid).collect();
        if dropped.is_empty() {
            return dropped;
        }
        let id = entry.id.clone();
        for rid in &dropped {
            self.rids.remove(rid);
            self.out.notices.push_back(Notice::RolledBack {
                rid: rid.clone(),
                collection: collection.to_string(),
                id: id.clone(),
                code: Code::Cancelled,
                message: "cancelled by the application".into(),
                current: None,
            });
        }
        self.changed(collection, &key);
        dropped
    }

    /// A bridge announced that it serves this replica's prefix (§2.2): every request in flight,
    /// every outstanding failure and every load page is published again now, rather than at the
    /// end of its back-off, and the back-offs start again from the shortest. A bridge that was
    /// down for minutes is then caught up in one round trip.
    pub fn bridge_up(&mut self, now: u64) {
        if !self.online {
            return;
        }
        let can_send = self.can_send();
        for (collection, key) in &self.active {
            let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { continue };
            timers::failure(&self.config, &mut self.out, collection, entry, now, When::Restart);
            if can_send {
                timers::resend(&self.config, &mut self.out, collection, entry, now, When::Restart);
            }
        }
        for job in self.loads.values_mut() {
            job.retry_at = now;
        }
        self.retry_loads(now);
    }

    /// Stops following a collection: its loads stop, and the objects of it that this replica
    /// holds are forgotten, except those it also follows one by one and those with changes of its
    /// own pending, which it goes on following one by one (their outcomes must still arrive).
    /// Returns the objects the shell must now hold an event subscription for, to take before it
    /// drops the collection's.
    pub fn unwatch_collection(&mut self, now: u64, collection: &str) -> Vec<Id> {
        if !self.collections.remove(collection) {
            return Vec::new();
        }
        self.loaded.remove(collection);
        self.loads.retain(|_, j| !(j.collection == collection && matches!(j.kind, LoadKind::Collection { .. })));
        let mut kept = Vec::new();
        if let Some(objects) = self.objects.get_mut(collection) {
            let watched = self.watched_objects.entry(collection.to_string()).or_default();
            for (key, entry) in objects.iter() {
                if !entry.pending.is_empty() && !watched.contains_key(key) {
                    watched.insert(key.clone(), entry.id.clone());
                    kept.push(entry.id.clone());
                }
            }
            objects.retain(|key, _| watched.contains_key(key));
            // An emptied map stays in the outer maps (dropped, no node held): see `forget_empty`.
            forget_empty(watched);
            forget_empty(objects);
        }
        // Removed one by one: `retain` would add BTreeSet's `extract_if` code for this type.
        let gone: Vec<(String, String)> = self
            .active
            .iter()
            .filter(|(c, key)| c == collection && !self.objects.get(c).is_some_and(|m| m.contains_key(key)))
            .cloned()
            .collect();
        for object in gone {
            self.active.remove(&object);
        }
        self.end_resync_if_loaded(now);
        kept
    }

    /// Stops following one object (followed by [`Replica::watch_object`]). An object with changes
    /// of this replica pending stays followed until they settle, and after: nothing is dropped
    /// then. Returns whether the shell may drop the object's event subscription (it was followed
    /// one by one, and its collection is not followed).
    pub fn unwatch_object(&mut self, collection: &str, id: &Id) -> bool {
        let key = id.key();
        let pending = self.objects.get(collection).and_then(|m| m.get(&key)).is_some_and(|e| !e.pending.is_empty());
        let Some(ids) = self.watched_objects.get_mut(collection) else { return false };
        if pending || ids.remove(&key).is_none() {
            return false;
        }
        forget_empty(ids);
        if self.collections.contains(collection) {
            return false;
        }
        self.loads.retain(|_, j| {
            !(j.collection == collection
                && matches!(&j.kind, LoadKind::Ids { ids, .. } if ids.len() == 1 && ids[0].key() == key))
        });
        if let Some(objects) = self.objects.get_mut(collection) {
            objects.remove(&key);
            forget_empty(objects);
        }
        self.active.remove(&(collection.to_string(), key));
        true
    }

    /// Whether the first load of a collection this replica follows is complete (it stays so
    /// across reconnections: the objects are held, and a resync refreshes them).
    pub fn is_loaded(&self, collection: &str) -> bool {
        self.loaded.contains(collection)
    }

    /// Asks again for every load page that is due.
    pub(super) fn retry_loads(&mut self, now: u64) {
        let load_retry = self.config.load_retry;
        let due: Vec<String> = self.loads.iter().filter(|(_, j)| j.retry_at <= now).map(|(l, _)| l.clone()).collect();
        for lid in due {
            let job = self.loads.get_mut(&lid).expect("listed above");
            job.retry_at = now + load_retry;
            let load = load_of(&lid, job);
            let topic = self.config.topics.load(&self.config.client, &job.collection);
            send(&mut self.out, topic, Message::Load(load));
        }
    }
}

/// Frees a per-collection map that became empty. It stays in its outer map (keyed by collection
/// name, so these are a few): an empty entry means the same as none to every reader, and removing
/// from the outer maps would link BTreeMap's removal code for their type, about 1.4 KB of the
/// gzipped wasm, for a few bytes of memory per collection name.
fn forget_empty<V>(map: &mut std::collections::BTreeMap<String, V>) {
    if map.is_empty() {
        *map = std::collections::BTreeMap::new();
    }
}
