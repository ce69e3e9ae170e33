//! Bridge presence (§2.2): which bridges announce themselves on the prefix, from the retained
//! messages on `{p}/v1/bridges/{instance}` (a bridge's announcement; an empty payload, its will or
//! its goodbye, clears it). And the words for a broker's refusal.

use super::ProblemKind;
use crate::mqtt::ConnectReturnCode;
use vmm_protocol::topic::Topics;

#[derive(Debug)]
pub(super) struct Presence {
    topics: Topics,
    filter: String,
    /// Whether the broker granted the subscription on this connection (its retained messages
    /// then follow): until then, and if it refused, nobody is known to be absent.
    subscribed: bool,
    /// The instances announced, in no order: a few at most. A vector rather than a `BTreeSet`,
    /// whose removal code the wasm would link for it (wasm-client/README.md "Size").
    up: Vec<String>,
}

impl Presence {
    pub(super) fn new(topics: &Topics) -> Presence {
        Presence { topics: topics.clone(), filter: topics.bridges_presence(), subscribed: false, up: Vec::new() }
    }

    /// The topic filter of every bridge's presence.
    pub(super) fn filter(&self) -> &str {
        &self.filter
    }

    pub(super) fn subscribed(&mut self, granted: bool) {
        self.subscribed = granted;
    }

    /// A new connection brings the retained announcements again.
    pub(super) fn clear(&mut self) {
        self.subscribed = false;
        self.up.clear();
    }

    pub(super) fn count(&self) -> usize {
        self.up.len()
    }

    /// Whether the client knows that no bridge is there.
    pub(super) fn none_there(&self) -> bool {
        self.subscribed && self.up.is_empty()
    }

    /// A message on `topic`: `None` if it is no presence message; else whether a bridge came up
    /// ([`vmm_protocol::topic::is_bridge_announcement`]; anything else means it is gone).
    pub(super) fn handle(&mut self, topic: &str, payload: &[u8]) -> Option<bool> {
        let instance = self.topics.presence_instance(topic)?;
        let announced = vmm_protocol::topic::is_bridge_announcement(payload);
        let known = self.up.contains(&instance);
        if announced && !known {
            self.up.push(instance);
            return Some(true);
        }
        if !announced && known {
            self.up.retain(|i| *i != instance);
        }
        Some(false)
    }
}

/// The kind and the words for a CONNACK that refused the connection.
pub(super) fn refusal(code: ConnectReturnCode) -> (ProblemKind, String) {
    match code {
        ConnectReturnCode::BadUserNameOrPassword => {
            (ProblemKind::Auth, "the broker refused the user name or password".into())
        }
        ConnectReturnCode::NotAuthorized => (ProblemKind::Auth, "the broker does not authorise this client".into()),
        ConnectReturnCode::IdentifierRejected => (ProblemKind::Refused, "the broker refused the client id".into()),
        ConnectReturnCode::ServerUnavailable => {
            (ProblemKind::Refused, "the broker refused the connection: the service is unavailable".into())
        }
        ConnectReturnCode::UnacceptableProtocolVersion => {
            (ProblemKind::Refused, "the broker does not speak MQTT 3.1.1".into())
        }
        ConnectReturnCode::Accepted => (ProblemKind::Refused, "the broker refused the connection".into()),
    }
}
