//! The bridge's cache of object states.
//!
//! A cached state is never trusted blindly: a request decided on it is recorded with the
//! compare-and-set of [`Storage::record`](super::Storage::record), which fails if any other
//! event took the next version, and the bridge then reads the winner. So a stale entry costs a
//! retry, never a wrong decision. Entries expire after `ttl_ms`, far below any event retention,
//! so the event that would expose a stale entry is always still in the log.

use crate::decide::Stored;
use std::collections::HashMap;

/// Bounded map from (collection, id key) to the object's last known state.
#[derive(Debug)]
pub(crate) struct Cache {
    entries: HashMap<(String, String), Entry>,
    max_entries: usize,
    ttl_ms: u64,
}

#[derive(Debug)]
struct Entry {
    state: Stored,
    at: u64,
}

impl Cache {
    pub(crate) fn new(max_entries: usize, ttl_ms: u64) -> Cache {
        Cache { entries: HashMap::new(), max_entries, ttl_ms }
    }

    pub(crate) fn get(&self, now: u64, collection: &str, key: &str) -> Option<Stored> {
        // Avoids building an owned key for the lookup on the hot path.
        let entry = self.entries.get(&(collection.to_string(), key.to_string()))?;
        (now.saturating_sub(entry.at) < self.ttl_ms).then(|| entry.state.clone())
    }

    /// Remembers `state` unless a newer one is known.
    pub(crate) fn put(&mut self, now: u64, collection: &str, key: &str, state: Stored) {
        if self.max_entries == 0 {
            return;
        }
        let k = (collection.to_string(), key.to_string());
        if let Some(e) = self.entries.get_mut(&k) {
            if e.state.version <= state.version {
                *e = Entry { state, at: now };
            }
            return;
        }
        if self.entries.len() >= self.max_entries {
            self.evict(now);
        }
        self.entries.insert(k, Entry { state, at: now });
    }

    pub(crate) fn forget(&mut self, collection: &str, key: &str) {
        self.entries.remove(&(collection.to_string(), key.to_string()));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops the expired entries, and if that frees less than a quarter, the oldest half.
    fn evict(&mut self, now: u64) {
        let ttl = self.ttl_ms;
        self.entries.retain(|_, e| now.saturating_sub(e.at) < ttl);
        if self.entries.len() * 4 > self.max_entries * 3 {
            let mut ages: Vec<u64> = self.entries.values().map(|e| e.at).collect();
            ages.sort_unstable();
            let median = ages[ages.len() / 2];
            self.entries.retain(|_, e| e.at > median);
        }
        if self.entries.capacity() > self.max_entries * 2 {
            self.entries.shrink_to_fit();
        }
    }

    /// Drops every expired entry (called when idle, so memory returns).
    pub(crate) fn expire(&mut self, now: u64) {
        let ttl = self.ttl_ms;
        self.entries.retain(|_, e| now.saturating_sub(e.at) < ttl);
        if self.entries.capacity() > self.entries.len() * 4 + 64 {
            self.entries.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u64) -> Stored {
        Stored { version, doc: None }
    }

    #[test]
    fn an_entry_expires_after_its_ttl() {
        let mut c = Cache::new(10, 100);
        c.put(0, "c", "k", at(1));
        assert_eq!(c.get(99, "c", "k"), Some(at(1)));
        assert_eq!(c.get(100, "c", "k"), None);
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let mut c = Cache::new(10, 100);
        c.put(0, "c", "k", at(5));
        c.put(1, "c", "k", at(4));
        assert_eq!(c.get(2, "c", "k"), Some(at(5)));
    }

    #[test]
    fn a_full_cache_evicts_instead_of_growing() {
        let mut c = Cache::new(8, 1_000_000);
        for i in 0..100 {
            c.put(i, "c", &i.to_string(), at(1));
            assert!(c.len() <= 8);
        }
        assert_eq!(c.get(100, "c", "99"), Some(at(1)), "the newest entry stays");
    }
}
