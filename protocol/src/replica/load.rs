//! Loads in progress (§12): one page request at a time per load.

use crate::id::Id;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Clone)]
pub(crate) enum LoadKind {
    /// A whole collection, page by page.
    Collection {
        /// The cursor the current page was asked with.
        after: Option<String>,
        /// The confirmed versions of the live objects held when the load began (§12.2).
        before: BTreeMap<String, u64>,
        /// The objects the pages listed so far.
        seen: BTreeSet<String>,
        /// A resync by versions (§12.4): `Some` while the collection is listed by versions and
        /// what differs is fetched; `None` for a load of documents.
        by_versions: Option<VersionsResync>,
    },
    /// Some objects, page by page when their states do not fit one payload.
    Ids {
        /// The objects.
        ids: Vec<Id>,
        /// The cursor the current page was asked with.
        after: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct LoadJob {
    pub(crate) collection: String,
    pub(crate) kind: LoadKind,
    /// When to ask for the current page again.
    pub(crate) retry_at: u64,
}

impl LoadJob {
    /// Whether this load may bring the object with this key.
    pub(crate) fn covers(&self, collection: &str, key: &str) -> bool {
        self.collection == collection
            && match &self.kind {
                LoadKind::Collection { .. } => true,
                LoadKind::Ids { ids, .. } => ids.iter().any(|id| id.key() == key),
            }
    }
}

/// A collection resync by versions (§12.4): list the live objects' versions page by page, and
/// fetch (with `ids` loads of at most 100) the objects listed newer than the copy's. One page is
/// asked at a time: a fetch goes before the next listing page.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionsResync {
    /// The listing is complete (its last page had `next: null`).
    pub(crate) listed: bool,
    /// Objects listed newer than held, not yet fetched.
    pub(crate) wanted: VecDeque<Id>,
    /// The `ids` load in progress and the cursor its current page was asked with.
    pub(crate) fetching: Option<(Vec<Id>, Option<String>)>,
}
