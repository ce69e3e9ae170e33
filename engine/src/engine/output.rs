//! What the engine tells its shell: [`Output`], and the [`Status`] a UI shows.

use vmm_protocol::message::Event;
use vmm_protocol::{Code, Id, Violation};

/// The connection state as a UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Opening a connection to the broker; no attempt failed since the last success.
    Connecting,
    /// The last attempt to reach the broker failed ([`crate::Engine::problem`] says why); the
    /// shell tries again.
    Unreachable,
    /// Offline on purpose, after [`crate::Engine::disconnect`]: changes queue.
    Offline,
    /// Connected to the broker, but no bridge announces itself on the prefix (§2.2): changes
    /// wait, and go out as soon as one does.
    NoBridge,
    /// Connected and loading what it follows before sending queued changes.
    Resyncing,
    /// Connected, in sync, and a bridge is there.
    Online,
}

impl Status {
    /// `connecting`, `unreachable`, `offline`, `no-bridge`, `resyncing` or `online`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Unreachable => "unreachable",
            Status::Offline => "offline",
            Status::NoBridge => "no-bridge",
            Status::Resyncing => "resyncing",
            Status::Online => "online",
        }
    }

    /// Whether the broker connection is up (whatever the bridges do).
    pub fn is_connected(self) -> bool {
        matches!(self, Status::NoBridge | Status::Resyncing | Status::Online)
    }
}

/// Why the broker could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// The broker refused the connection (protocol version, client id, unavailable).
    Refused,
    /// The broker refused the credentials, or the client is not authorised to connect.
    Auth,
    /// No connection, or no answer in time: the network, the address, or the broker is down.
    Network,
}

impl ProblemKind {
    /// `refused`, `auth` or `network`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Refused => "refused",
            ProblemKind::Auth => "auth",
            ProblemKind::Network => "network",
        }
    }
}

/// Why the last attempt to reach the broker failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The kind, for the application to branch on.
    pub kind: ProblemKind,
    /// A human-readable explanation.
    pub message: String,
}

/// Why a change was rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    /// The collection.
    pub collection: String,
    /// The object.
    pub id: Id,
    /// The reject code, or `aborted` / `cancelled`.
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
    /// The status, the number of pending changes or the number of bridges changed.
    Status {
        /// The status.
        status: Status,
        /// How many changes wait for their outcome.
        pending: usize,
        /// How many bridges announce themselves.
        bridges: usize,
    },
    /// An attempt to reach the broker failed (reported once per new problem, not per retry).
    ConnectionFailed(Problem),
    /// The broker refused a subscription (an ACL): the events of `filter` will not arrive.
    SubscriptionRefused {
        /// The topic filter.
        filter: String,
        /// The collection it was for, if any ([`crate::Engine::collection_error`]).
        collection: Option<String>,
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
