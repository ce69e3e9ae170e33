//! Loads in progress (§12): one page request at a time per load.

use crate::id::Id;
use std::collections::{BTreeMap, BTreeSet};

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
