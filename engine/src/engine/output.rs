//! What the engine tells its shell: [`Output`], and the [`Status`] a UI shows.

use vmm_protocol::message::Event;
use vmm_protocol::{Code, Id, Violation};

/// The connection state as a UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never online yet: connecting, or waiting for the broker.
    Connecting,
    /// Connected and loading what it follows before sending queued changes.
    Resyncing,
    /// Connected and in sync.
    Online,
    /// Was online, is not now: changes queue.
    Offline,
}

impl Status {
    /// `connecting`, `resyncing`, `online` or `offline`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Resyncing => "resyncing",
            Status::Online => "online",
            Status::Offline => "offline",
        }
    }
}

/// Why a change was rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The reject code, or `aborted` / `timeout`.
    pub code: Code,
    /// A human-readable explanation.
    pub message: String,
    /// The object's stored version, when the bridge said.
    pub current: Option<u64>,
}

/// Something the shell acts on; see [`crate::Engine::poll_output`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// A request settled: confirmed by its event, or rolled back.
    Outcome {
        /// The request id [`crate::Engine::request`] returned.
        rid: String,
        /// The confirming event, or why the change was rolled back.
        result: Result<Event, Rollback>,
    },
    /// The view of an object changed.
    Changed {
        /// The collection.
        collection: String,
        /// The object.
        id: Id,
    },
    /// A collection finished loading (its first snapshot, or a resync).
    Loaded {
        /// The collection.
        collection: String,
    },
    /// The engine now follows a collection: its subscription is held (or, offline, it will be
    /// subscribed on connecting).
    Watching {
        /// The collection.
        collection: String,
    },
    /// The status or the number of pending changes changed.
    Status {
        /// The status.
        status: Status,
        /// How many changes wait for their outcome.
        pending: usize,
    },
    /// The broker refused a subscription (an ACL): the events of `filter` will not arrive.
    SubscriptionRefused {
        /// The topic filter.
        filter: String,
    },
    /// A message was ignored: it could not be read or does not belong on its topic.
    Ignored {
        /// Its topic.
        topic: String,
        /// Why.
        reason: Violation,
    },
    /// The connection is over (refused, dead or broken): the shell closes the transport and
    /// opens a new one later, then calls [`crate::Engine::transport_open`].
    Lost {
        /// Why, for logs and the UI.
        reason: String,
    },
}
