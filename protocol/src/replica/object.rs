//! One object in a replica: its confirmed state, its pending changes, and the events that
//! arrived too early.

use super::pending::Pending;
use crate::error::Code;
use crate::id::Id;
use crate::limits::Limits;
use crate::message::Event;
use crate::value::Document;
use std::collections::BTreeMap;

/// What a replica decided about one event (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Judgement {
    /// Merged into the confirmed state.
    Merged,
    /// A duplicate or old event.
    Ignored,
    /// A gap: kept for later.
    Kept,
}

#[derive(Debug, Clone)]
pub(crate) struct ObjectEntry {
    pub(crate) id: Id,
    /// The confirmed version (0: nothing held).
    pub(crate) version: u64,
    /// The confirmed document (`None`: absent or deleted).
    pub(crate) doc: Option<Document>,
    /// Own changes not yet resolved, oldest first; only the first may be in flight.
    pub(crate) pending: Vec<Pending>,
    /// Events that do not follow the confirmed version yet, by `prev`.
    pub(crate) early: BTreeMap<u64, Event>,
    /// The outstanding failure: when to send it again, and the current back-off.
    pub(crate) failure: Option<(u64, u64)>,
    /// The last rollback of one of this replica's changes to this object.
    pub(crate) last_error: Option<(Code, String)>,
}

impl ObjectEntry {
    pub(crate) fn new(id: Id) -> Self {
        ObjectEntry {
            id,
            version: 0,
            doc: None,
            pending: Vec::new(),
            early: BTreeMap::new(),
            failure: None,
            last_error: None,
        }
    }

    /// Merges `event` if it follows the confirmed version, ignores it if old, keeps it if early.
    /// An event that follows but cannot apply means our confirmed copy is wrong: it is dropped,
    /// so that the failure sent next brings the object back from scratch.
    pub(crate) fn judge(&mut self, event: &Event, max_early: usize, limits: &Limits) -> Judgement {
        if event.version <= self.version {
            return Judgement::Ignored;
        }
        if event.prev == self.version {
            match event.change.apply(self.doc.as_ref(), limits) {
                Ok(doc) => {
                    self.doc = doc;
                    self.version = event.version;
                    Judgement::Merged
                }
                Err(_) => {
                    self.version = 0;
                    self.doc = None;
                    self.keep(event.clone(), max_early);
                    Judgement::Kept
                }
            }
        } else {
            self.keep(event.clone(), max_early);
            Judgement::Kept
        }
    }

    fn keep(&mut self, event: Event, max_early: usize) {
        if self.early.len() >= max_early {
            // Drop the newest: a replay brings it back, while the oldest is what fills the gap.
            match self.early.keys().next_back() {
                Some(&newest) if newest > event.prev => {
                    self.early.remove(&newest);
                }
                _ => return,
            }
        }
        self.early.insert(event.prev, event);
    }

    /// Merges the kept events that now follow; returns them in merge order.
    pub(crate) fn drain_early(&mut self, limits: &Limits) -> Vec<Event> {
        let mut merged = Vec::new();
        loop {
            let old: Vec<u64> = self.early.range(..self.version).map(|(k, _)| *k).collect();
            for k in old {
                self.early.remove(&k);
            }
            let Some(next) = self.early.remove(&self.version) else { break };
            if self.judge(&next, usize::MAX, limits) == Judgement::Merged {
                merged.push(next);
            } else {
                break;
            }
        }
        merged
    }

    /// Takes a state from a snapshot if it is newer than the confirmed one.
    pub(crate) fn take_state(&mut self, version: u64, doc: Option<Document>) -> bool {
        if version <= self.version {
            return false;
        }
        self.version = version;
        self.doc = doc;
        true
    }

    /// Whether an event is missing: events are kept that do not follow.
    pub(crate) fn has_gap(&self) -> bool {
        !self.early.is_empty()
    }

    /// The optimistic view: the confirmed document with the pending changes on top. A pending
    /// change that cannot apply is left out (it will be rejected).
    pub(crate) fn view(&self, limits: &Limits) -> Option<Document> {
        let mut doc = self.doc.clone();
        for p in &self.pending {
            if let Ok(next) = p.change.apply(doc.as_ref(), limits) {
                doc = next;
            }
        }
        doc
    }

    /// Nothing held, nothing pending, nothing awaited: the entry can go.
    pub(crate) fn is_empty(&self) -> bool {
        self.version == 0 && self.doc.is_none() && self.pending.is_empty() && self.early.is_empty()
    }
}
