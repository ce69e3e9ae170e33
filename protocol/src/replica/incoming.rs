//! What a replica does with what arrives: events, rejects, replays and snapshot pages, and the
//! state changes they cause (merges, confirmations, rollbacks, the end of a load).

use super::load::{LoadJob, LoadKind, VersionsResync};
use super::object::{Judgement, ObjectEntry};
use super::outgoing::{load_of, send};
use super::pending::Pending;
use super::{Notice, Replica, Status};
use crate::error::Code;
use crate::id::Id;
use crate::message::{Event, Message, ObjectState, ObjectVersion, Reject, Replay, ReplayBody, Snapshot};

impl Replica {
    /// Whether this replica follows an object (or has changes of its own pending on it).
    pub(super) fn follows(&self, collection: &str, key: &str) -> bool {
        self.collections.contains(collection)
            || self.watched_objects.get(collection).is_some_and(|ids| ids.contains_key(key))
            || self.objects.get(collection).and_then(|m| m.get(key)).is_some_and(|e| !e.pending.is_empty())
    }

    pub(super) fn loading(&self, collection: &str, key: &str) -> bool {
        self.loads.values().any(|j| j.covers(collection, key))
    }

    pub(super) fn on_event(&mut self, now: u64, event: Event) {
        let collection = event.collection.clone();
        let key = event.id.key();
        if !self.follows(&collection, &key) {
            return;
        }
        let loading = self.loading(&collection, &key);
        let limits = self.config.limits.clone();
        let max_early = self.config.max_early;
        let entry = self.entry(&collection, &event.id);
        let mut settled = Vec::new();
        let verdict = entry.judge(&event, max_early, &limits);
        match verdict {
            Judgement::Merged => {
                settled.push(event);
                settled.extend(entry.drain_early(&limits));
            }
            Judgement::Ignored => settled.push(event),
            Judgement::Kept => {}
        }
        let changed = verdict == Judgement::Merged;
        let gap = entry.has_gap();
        if !gap {
            entry.failure = None;
        }
        for e in settled {
            self.confirm_if_ours(now, &e);
        }
        if changed {
            self.changed(&collection, &key);
        }
        if gap && !loading {
            self.report_gap(now, &collection, &key);
        }
    }

    pub(super) fn on_reject(&mut self, now: u64, reject: Reject) {
        let Some(rid) = reject.rid.clone() else { return };
        let Some((collection, key)) = self.rids.get(&rid).cloned() else { return };
        let Some(entry) = self.objects.get_mut(&collection).and_then(|m| m.get_mut(&key)) else { return };
        let Some(head) = entry.pending.first_mut() else { return };
        if head.rid != rid || head.flight.is_none() {
            return;
        }
        if reject.code == Code::Internal {
            // Nothing was applied and nothing recorded: the same request may simply be retried.
            if let Some(f) = head.flight.as_mut() {
                f.resend_at = now + f.backoff;
            }
            return;
        }
        let behind = reject.current.is_some_and(|c| c > entry.version);
        self.roll_back_head(&collection, &key, reject.code, reject.message, reject.current);
        if behind && self.follows(&collection, &key) && !self.loading(&collection, &key) {
            // The bridge holds a newer version than we do: fetch it, so the user sees what won.
            self.send_failure(now, &collection, &key);
        }
    }

    pub(super) fn on_replay(&mut self, now: u64, replay: Replay) {
        let key = replay.id.key();
        if !self.follows(&replay.collection, &key) {
            return;
        }
        match replay.body {
            ReplayBody::Events(events) => {
                for e in events {
                    self.on_event(now, e);
                }
            }
            ReplayBody::Snapshot(state) => {
                self.take_states(now, &replay.collection, vec![state]);
            }
        }
        self.rejudge(now, &replay.collection, &key);
    }

    pub(super) fn on_snapshot(&mut self, now: u64, page: Snapshot) {
        self.load_counts.states += page.objects.len() as u64;
        self.load_counts.versions += page.versions.as_ref().map_or(0, Vec::len) as u64;
        let Some(mut job) = self.loads.remove(&page.lid) else {
            // An answer to a page already done: the states are still good to merge.
            let states = page.objects.into_iter().filter(|s| self.follows(&page.collection, &s.id.key())).collect();
            self.take_states(now, &page.collection, states);
            return;
        };
        if let Some(versions) = &page.versions {
            self.on_versions_page(&mut job, versions, page.next.clone());
            return self.next_page(now, job);
        }
        if let LoadKind::Collection { seen, by_versions: None, .. } = &mut job.kind {
            seen.extend(page.objects.iter().map(|s| s.id.key()));
        }
        self.take_states(now, &page.collection, page.objects);
        match (&mut job.kind, page.next) {
            (
                LoadKind::Collection { by_versions: Some(VersionsResync { fetching: Some((_, after)), .. }), .. }
                | LoadKind::Ids { after, .. },
                Some(next),
            ) => *after = Some(next),
            (LoadKind::Collection { by_versions: Some(v), .. }, None) => v.fetching = None,
            (LoadKind::Collection { after, .. }, Some(next)) => *after = Some(next),
            (_, None) => return self.finish_load(now, job),
        }
        self.next_page(now, job);
    }

    /// A page of a versions listing (§12.4): every object listed newer than the copy's is wanted.
    fn on_versions_page(&mut self, job: &mut LoadJob, versions: &[ObjectVersion], next: Option<String>) {
        let LoadKind::Collection { after, seen, by_versions: Some(resync), .. } = &mut job.kind else { return };
        let held = self.objects.get(&job.collection);
        for entry in versions {
            let key = entry.id.key();
            let version = held.and_then(|m| m.get(&key)).map_or(0, |e| e.version);
            if entry.version > version {
                resync.wanted.push_back(entry.id.clone());
            }
            seen.insert(key);
        }
        match next {
            Some(next) => *after = Some(next),
            None => resync.listed = true,
        }
    }

    /// Asks for the next page of a load, or finishes it: for a resync by versions, a fetch of at
    /// most 100 wanted objects goes before the next listing page.
    fn next_page(&mut self, now: u64, mut job: LoadJob) {
        if let LoadKind::Collection { by_versions: Some(resync), .. } = &mut job.kind {
            if resync.fetching.is_none() && !resync.wanted.is_empty() {
                let n = resync.wanted.len().min(crate::limits::Limits::MAX_LOAD_IDS);
                resync.fetching = Some((resync.wanted.drain(..n).collect(), None));
            }
            if resync.fetching.is_none() && resync.listed {
                return self.finish_load(now, job);
            }
        }
        job.retry_at = now + self.config.load_retry;
        let lid = self.fresh_id("l");
        let load = load_of(&lid, &job);
        send(&mut self.out, self.config.topics.load(&self.config.client, &job.collection), Message::Load(load));
        self.loads.insert(lid, job);
    }

    // ---- state changes ----

    pub(super) fn entry(&mut self, collection: &str, id: &Id) -> &mut ObjectEntry {
        self.objects
            .entry(collection.to_string())
            .or_default()
            .entry(id.key())
            .or_insert_with(|| ObjectEntry::new(id.clone()))
    }

    pub(super) fn changed(&mut self, collection: &str, key: &str) {
        if let Some(e) = self.objects.get(collection).and_then(|m| m.get(key)) {
            self.out.notices.push_back(Notice::Changed { collection: collection.to_string(), id: e.id.clone() });
        }
    }

    pub(super) fn take_states(&mut self, now: u64, collection: &str, states: Vec<ObjectState>) {
        for state in states {
            let key = state.id.key();
            let entry = self.entry(collection, &state.id);
            if entry.take_state(state.version, state.doc) {
                self.changed(collection, &key);
            }
            self.rejudge(now, collection, &key);
        }
    }

    /// Merges the early events of an object that now follow, and reports a gap if one remains.
    pub(super) fn rejudge(&mut self, now: u64, collection: &str, key: &str) {
        let limits = self.config.limits.clone();
        let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { return };
        let merged = entry.drain_early(&limits);
        let gap = entry.has_gap();
        if !gap {
            entry.failure = None;
        }
        let any = !merged.is_empty();
        for e in merged {
            self.confirm_if_ours(now, &e);
        }
        if any {
            self.changed(collection, key);
        }
        if gap && !self.loading(collection, key) {
            self.report_gap(now, collection, key);
        }
    }

    pub(super) fn finish_load(&mut self, now: u64, job: LoadJob) {
        let collection = job.collection.clone();
        if let LoadKind::Collection { before, seen, .. } = job.kind {
            // §12.2: what we held when the load began, unchanged since and listed by no page, was
            // deleted while we were not looking.
            for (key, version) in before {
                if seen.contains(&key) {
                    continue;
                }
                let Some(entry) = self.objects.get_mut(&collection).and_then(|m| m.get_mut(&key)) else { continue };
                if entry.version == version && entry.doc.is_some() {
                    entry.version = 0;
                    entry.doc = None;
                    self.changed(&collection, &key);
                }
            }
            self.loaded.insert(collection.clone());
            self.out.notices.push_back(Notice::Loaded { collection: collection.clone() });
        }
        let keys: Vec<String> = self.objects.get(&collection).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        for key in keys {
            self.rejudge(now, &collection, &key);
        }
        if let Some(m) = self.objects.get_mut(&collection) {
            m.retain(|_, e| !e.is_empty());
        }
        self.end_resync_if_loaded(now);
    }

    /// Once nothing is loading any more, a resync is over: online, and what waited is sent.
    pub(super) fn end_resync_if_loaded(&mut self, now: u64) {
        if self.resyncing && self.loads.is_empty() {
            self.resyncing = false;
            self.out.notices.push_back(Notice::Status(Status::Online));
            self.send_all(now);
        }
    }

    pub(super) fn confirm_if_ours(&mut self, now: u64, event: &Event) {
        if event.client != self.config.client {
            return;
        }
        let key = event.id.key();
        let Some(entry) = self.objects.get_mut(&event.collection).and_then(|m| m.get_mut(&key)) else { return };
        // The event of this very change: our rid on this object (the entry is the event's
        // collection and id) and the same operation. An event of ours with the rid but another
        // op is a different request that reused the rid (§9): merged like anyone's, it confirms
        // nothing, and the change's own outcome (a `rid_reused` reject) settles it.
        let is_head = entry
            .pending
            .first()
            .is_some_and(|p| p.rid == event.rid && p.change.op() == event.change.op() && p.flight.is_some());
        if !is_head || event.version > entry.version {
            return;
        }
        let head = entry.pending.remove(0);
        if let Some(next) = entry.pending.first_mut() {
            next.base.get_or_insert(event.version);
        }
        self.rids.remove(&head.rid);
        self.out.notices.push_back(Notice::Confirmed { rid: head.rid, event: event.clone() });
        self.changed(&event.collection, &key);
        self.send_head(now, &event.collection, &key);
    }

    /// Rolls back the change in flight of an object, and every change waiting behind it.
    pub(super) fn roll_back_head(
        &mut self,
        collection: &str,
        key: &str,
        code: Code,
        message: String,
        current: Option<u64>,
    ) {
        let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { return };
        let id = entry.id.clone();
        let dropped: Vec<Pending> = entry.pending.drain(..).collect();
        entry.last_error = Some((code, message.clone()));
        for (i, p) in dropped.into_iter().enumerate() {
            self.rids.remove(&p.rid);
            let (code, message) = if i == 0 {
                (code, message.clone())
            } else {
                (Code::Aborted, "an earlier change of the same object was rolled back".to_string())
            };
            self.out.notices.push_back(Notice::RolledBack {
                rid: p.rid,
                collection: collection.to_string(),
                id: id.clone(),
                code,
                message,
                current: if i == 0 { current } else { None },
            });
        }
        self.changed(collection, key);
    }
}
