//! What a replica sends: requests (one in flight per object), failures and load pages.

use super::load::{LoadJob, LoadKind, VersionsResync};
use super::pending::{Flight, Pending};
use super::{Out, Replica, Resync, Transmit};
use crate::id::Id;
use crate::message::{Failure, Load, LoadScope, Message, Request};
use std::collections::BTreeSet;

impl Replica {
    pub(super) fn fresh_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{}-{kind}{}", self.config.id_prefix, self.next_id)
    }

    pub(super) fn can_send(&self) -> bool {
        self.online && !self.resyncing
    }

    /// Sends the first pending change of an object if it is not in flight and its base is known.
    /// A change of an object this replica does not follow waits until it does (§6.1).
    pub(super) fn send_head(&mut self, now: u64, collection: &str, key: &str) {
        if !self.can_send() || !self.is_followed(collection, key) {
            return;
        }
        let cfg = &self.config;
        let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { return };
        let id = entry.id.clone();
        let Some(head) = entry.pending.first_mut() else { return };
        let Some(base) = head.base else { return };
        if head.flight.is_some() {
            return;
        }
        head.flight = Some(Flight { resend_at: now + cfg.resend_after, backoff: cfg.resend_after });
        let request = request_of(collection, id, base, head);
        send(&mut self.out, cfg.topics.request(&cfg.client, collection), Message::Request(request));
        self.active.insert((collection.to_string(), key.to_string()));
    }

    /// After a resync: publishes again every request in flight, then the first waiting ones.
    pub(super) fn send_all(&mut self, now: u64) {
        let heads: Vec<(String, String)> = self
            .objects
            .iter()
            .flat_map(|(c, m)| {
                m.iter().filter(|(_, e)| !e.pending.is_empty()).map(move |(k, _)| (c.clone(), k.clone()))
            })
            .collect();
        for (collection, key) in heads {
            if let Some(head) =
                self.objects.get_mut(&collection).and_then(|m| m.get_mut(&key)).and_then(|e| e.pending.first_mut())
            {
                head.flight = None;
            }
            self.send_head(now, &collection, &key);
        }
    }

    pub(super) fn report_gap(&mut self, now: u64, collection: &str, key: &str) {
        let outstanding = self.objects.get(collection).and_then(|m| m.get(key)).is_some_and(|e| e.failure.is_some());
        if !outstanding {
            self.send_failure(now, collection, key);
        }
    }

    pub(super) fn send_failure(&mut self, now: u64, collection: &str, key: &str) {
        if !self.online {
            return;
        }
        let cfg = &self.config;
        let Some(entry) = self.objects.get_mut(collection).and_then(|m| m.get_mut(key)) else { return };
        entry.failure = Some((now + cfg.failure_retry, cfg.failure_retry));
        let failure = Failure { collection: collection.to_string(), id: entry.id.clone(), version: entry.version };
        send(&mut self.out, cfg.topics.failure(&cfg.client, collection), Message::Failure(failure));
        self.active.insert((collection.to_string(), key.to_string()));
    }

    pub(super) fn start_collection_load(&mut self, now: u64, collection: &str) {
        let before: std::collections::BTreeMap<String, u64> = self
            .objects
            .get(collection)
            .map(|m| m.iter().filter(|(_, e)| e.doc.is_some()).map(|(k, e)| (k.clone(), e.version)).collect())
            .unwrap_or_default();
        // A copy that holds objects resyncs by versions if so configured (§12.4): it then fetches
        // only what changed. An empty one loads documents, which costs one pass.
        let by_versions = (self.config.resync == Resync::Versions && !before.is_empty()).then(VersionsResync::default);
        let kind = LoadKind::Collection { after: None, before, seen: BTreeSet::new(), by_versions };
        self.start_load(now, collection, kind);
    }

    pub(super) fn start_ids_load(&mut self, now: u64, collection: &str, ids: Vec<Id>) {
        self.start_load(now, collection, LoadKind::Ids { ids, after: None });
    }

    pub(super) fn start_load(&mut self, now: u64, collection: &str, kind: LoadKind) {
        let lid = self.fresh_id("l");
        let job = LoadJob { collection: collection.to_string(), kind, retry_at: now + self.config.load_retry };
        let load = load_of(&lid, &job);
        send(&mut self.out, self.config.topics.load(&self.config.client, collection), Message::Load(load));
        self.loads.insert(lid, job);
    }
}

pub(super) fn send(out: &mut Out, topic: String, message: Message) {
    out.transmits.push_back(Transmit { topic, payload: message.to_bytes() });
}

pub(super) fn request_of(collection: &str, id: Id, base: u64, p: &Pending) -> Request {
    Request {
        rid: p.rid.clone(),
        collection: collection.to_string(),
        id,
        base,
        change: p.change.clone(),
        policy: p.policy,
    }
}

pub(super) fn load_of(lid: &str, job: &LoadJob) -> Load {
    let scope = match &job.kind {
        LoadKind::Collection { by_versions: Some(VersionsResync { fetching: Some((ids, after)), .. }), .. } => {
            LoadScope::Ids { ids: ids.clone(), after: after.clone() }
        }
        LoadKind::Collection { after, by_versions: Some(_), .. } => LoadScope::Versions { after: after.clone() },
        LoadKind::Collection { after, .. } => LoadScope::Collection { after: after.clone() },
        LoadKind::Ids { ids, after } => LoadScope::Ids { ids: ids.clone(), after: after.clone() },
    };
    Load { lid: lid.to_string(), collection: job.collection.clone(), scope, limit: None }
}
