//! Building and parsing topics (§2.2), and the name rules for the levels they carry.
//!
//! ```
//! use vmm_protocol::topic::{Route, Topics};
//! use vmm_protocol::Id;
//!
//! let topics = Topics::new("vmm").unwrap();
//! let id = Id::string("t1").unwrap();
//! assert_eq!(topics.event("tasks", &id), "vmm/v1/evt/tasks/s:t1");
//! assert_eq!(
//!     topics.parse("vmm/v1/req/alice/tasks").unwrap(),
//!     Route::Request { client: "alice".into(), collection: "tasks".into() }
//! );
//! ```

use crate::error::{Result, Violation};
use crate::id::Id;
use crate::limits::Limits;
use crate::PROTOCOL_VERSION;

/// The topic scheme of one deployment: its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    root: String,
}

/// What a topic is for, and the levels it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `{p}/v1/req/{client}/{collection}`: requests.
    Request {
        /// The sender's identity.
        client: String,
        /// The collection.
        collection: String,
    },
    /// `{p}/v1/fail/{client}/{collection}`: failures.
    Failure {
        /// The sender's identity.
        client: String,
        /// The collection.
        collection: String,
    },
    /// `{p}/v1/load/{client}/{collection}`: loads.
    Load {
        /// The sender's identity.
        client: String,
        /// The collection.
        collection: String,
    },
    /// `{p}/v1/evt/{collection}/{key}`: events.
    Event {
        /// The collection.
        collection: String,
        /// The object, from its id key.
        id: Id,
    },
    /// `{p}/v1/reply/{client}`: replies to one client.
    Reply {
        /// The client the replies are for.
        client: String,
    },
}

impl Topics {
    /// The default prefix.
    pub const DEFAULT_PREFIX: &'static str = "vmm";

    /// The scheme for a prefix (non-empty, no `+`, `#`, NUL, no empty level).
    pub fn new(prefix: &str) -> Result<Topics> {
        if prefix.is_empty()
            || prefix.split('/').any(str::is_empty)
            || prefix.contains(['+', '#', '\0'])
            || prefix.starts_with('$')
        {
            return Err(Violation::malformed(format!("bad topic prefix {prefix:?}")));
        }
        Ok(Topics { root: format!("{prefix}/{PROTOCOL_VERSION}") })
    }

    /// `{p}/v1/req/{client}/{collection}`.
    pub fn request(&self, client: &str, collection: &str) -> String {
        format!("{}/req/{client}/{collection}", self.root)
    }

    /// `{p}/v1/fail/{client}/{collection}`.
    pub fn failure(&self, client: &str, collection: &str) -> String {
        format!("{}/fail/{client}/{collection}", self.root)
    }

    /// `{p}/v1/load/{client}/{collection}`.
    pub fn load(&self, client: &str, collection: &str) -> String {
        format!("{}/load/{client}/{collection}", self.root)
    }

    /// `{p}/v1/evt/{collection}/{key}`.
    pub fn event(&self, collection: &str, id: &Id) -> String {
        format!("{}/evt/{collection}/{}", self.root, id.key())
    }

    /// The collection of an event topic filter (`{p}/v1/evt/{collection}/+` or
    /// `{p}/v1/evt/{collection}/{key}`), if `filter` is one.
    pub fn collection_of_events_filter(&self, filter: &str) -> Option<String> {
        let rest = filter.strip_prefix(self.root.as_str())?.strip_prefix("/evt/")?;
        let (collection, _) = rest.rsplit_once('/')?;
        check_collection(collection).ok().map(|()| collection.to_string())
    }

    /// `{p}/v1/reply/{client}`.
    pub fn reply(&self, client: &str) -> String {
        format!("{}/reply/{client}", self.root)
    }

    /// The filter a consumer subscribes to to follow a whole collection.
    pub fn collection_events(&self, collection: &str) -> String {
        format!("{}/evt/{collection}/+", self.root)
    }

    /// The filters a bridge subscribes to, as shared subscriptions of `group` if given.
    pub fn bridge_filters(&self, group: Option<&str>) -> [String; 3] {
        let share = |kind: &str| match group {
            Some(g) => format!("$share/{g}/{}/{kind}/+/+", self.root),
            None => format!("{}/{kind}/+/+", self.root),
        };
        [share("req"), share("fail"), share("load")]
    }

    /// Reads a topic of this scheme. Levels are checked against the name rules.
    pub fn parse(&self, topic: &str) -> Result<Route> {
        let rest = topic
            .strip_prefix(self.root.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| Violation::malformed(format!("topic {topic:?} is not under {}", self.root)))?;
        let levels: Vec<&str> = rest.split('/').collect();
        let route = match levels.as_slice() {
            ["req", client, collection] => {
                Route::Request { client: client_name(client)?, collection: collection_name(collection)? }
            }
            ["fail", client, collection] => {
                Route::Failure { client: client_name(client)?, collection: collection_name(collection)? }
            }
            ["load", client, collection] => {
                Route::Load { client: client_name(client)?, collection: collection_name(collection)? }
            }
            ["evt", collection, key] => {
                Route::Event { collection: collection_name(collection)?, id: Id::from_key(key)? }
            }
            ["reply", client] => Route::Reply { client: client_name(client)? },
            _ => return Err(Violation::malformed(format!("unknown topic {topic:?}"))),
        };
        Ok(route)
    }
}

impl Topics {
    /// A bridge process's presence topic, `{p}/v1/bridges/{instance}` (§2.2): the bridge
    /// publishes a retained announcement there once it serves, and its will (or its goodbye) is a
    /// retained empty message there, which clears the announcement and tells the other bridges to
    /// publish what it left unacknowledged. Clients read it to know whether a bridge is there.
    pub fn bridge_presence(&self, instance: &str) -> String {
        format!("{}/bridges/{instance}", self.root)
    }

    /// The filter of every bridge's presence.
    pub fn bridges_presence(&self) -> String {
        format!("{}/bridges/+", self.root)
    }

    /// The instance of a presence topic, if `topic` is one.
    pub fn presence_instance(&self, topic: &str) -> Option<String> {
        let instance = topic.strip_prefix(self.root.as_str())?.strip_prefix("/bridges/")?;
        (!instance.is_empty() && !instance.contains('/')).then(|| instance.to_string())
    }

    /// The requester of a request topic whose other levels may be invalid
    /// (`{p}/v1/req/{client}/…`): the bridge answers such a request on that client's reply topic
    /// (§6.2). `None` if the topic is not a request topic or its `{client}` level is not valid.
    pub fn requester(&self, topic: &str) -> Option<String> {
        let rest = topic.strip_prefix(self.root.as_str())?.strip_prefix("/req/")?;
        let client = rest.split('/').next()?;
        check_client(client).ok().map(|()| client.to_string())
    }
}

impl Default for Topics {
    fn default() -> Self {
        Topics::new(Self::DEFAULT_PREFIX).expect("the default prefix is valid")
    }
}

fn token_chars(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'~' | b'-'))
}

/// Checks a client identity: 1 to 128 characters of `[A-Za-z0-9._:~-]`.
pub fn check_client(client: &str) -> Result<()> {
    if client.is_empty() || client.len() > Limits::MAX_CLIENT || !token_chars(client) {
        return Err(Violation::malformed(format!(
            "client identity {client:?} must be 1 to 128 characters of [A-Za-z0-9._:~-]"
        )));
    }
    Ok(())
}

/// Checks a request or load id: 1 to 64 characters of `[A-Za-z0-9._:~-]`.
pub fn check_token(what: &str, token: &str) -> Result<()> {
    if token.is_empty() || token.len() > Limits::MAX_TOKEN || !token_chars(token) {
        return Err(
            Violation::malformed(format!("{what} {token:?} must be 1 to 64 characters of [A-Za-z0-9._:~-]")).at(what)
        );
    }
    Ok(())
}

/// Checks a collection name (§3.4): dot-separated parts of `[A-Za-z0-9_-]`, 1 to 120 bytes, not
/// `system.*` (the database's) nor `vmm_*` (the bridge's bookkeeping). No empty part: drivers and
/// shells cannot address `a..b` or `x.` the usual way (`db.x.`), and MongoDB refuses some of
/// them outright.
pub fn check_collection(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 120
        && name.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        })
        && !name.starts_with("system.")
        && !name.starts_with("vmm_");
    if !ok {
        return Err(Violation::malformed(format!(
            "collection name {name:?} must be 1 to 120 characters of [A-Za-z0-9_-] parts joined by single dots, \
             and not start with system. or vmm_"
        ))
        .at("collection"));
    }
    Ok(())
}

fn client_name(s: &str) -> Result<String> {
    check_client(s).map(|()| s.to_string())
}

fn collection_name(s: &str) -> Result<String> {
    check_collection(s).map(|()| s.to_string())
}

/// Whether a payload on a presence topic is a bridge's announcement (§2.2): a JSON object with
/// `"type": "bridge"`. Anything else (an empty payload, or an older bridge's will, which carried
/// its instance id as text) means that bridge is gone.
pub fn is_bridge_announcement(payload: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(payload)
        .is_ok_and(|v| v.get("type").and_then(|t| t.as_str()) == Some("bridge"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_topic_parses_back_to_its_route() {
        let t = Topics::new("acme/prod").unwrap();
        let id = Id::Int(-3);
        assert_eq!(
            t.parse(&t.request("a", "c")).unwrap(),
            Route::Request { client: "a".into(), collection: "c".into() }
        );
        assert_eq!(
            t.parse(&t.failure("a", "c")).unwrap(),
            Route::Failure { client: "a".into(), collection: "c".into() }
        );
        assert_eq!(t.parse(&t.load("a", "c")).unwrap(), Route::Load { client: "a".into(), collection: "c".into() });
        assert_eq!(t.parse(&t.event("c", &id)).unwrap(), Route::Event { collection: "c".into(), id });
        assert_eq!(t.parse(&t.reply("a")).unwrap(), Route::Reply { client: "a".into() });
    }

    #[test]
    fn bridge_filters_use_shared_subscriptions_when_grouped() {
        let t = Topics::default();
        assert_eq!(t.bridge_filters(Some("g"))[0], "$share/g/vmm/v1/req/+/+");
        assert_eq!(t.bridge_filters(None)[2], "vmm/v1/load/+/+");
    }

    #[test]
    fn topics_of_other_prefixes_versions_or_shapes_are_refused() {
        let t = Topics::default();
        for topic in [
            "other/v1/req/a/c",
            "vmm/v2/req/a/c",
            "vmm/v1/req/a",
            "vmm/v1/req/a/c/d",
            "vmm/v1/evt/c/x:1",
            "vmm/v1/reply/a b",
            "vmm/v1/req/a/system.users",
            "vmm/v1/req/a/vmm_events",
            "vmm/v1/req/a/a..b",
            "vmm/v1/req/a/x.",
            "vmm/v1/evt/.x/s:1",
        ] {
            assert!(t.parse(topic).is_err(), "{topic} was accepted");
        }
    }

    #[test]
    fn prefixes_with_wildcards_or_empty_levels_are_refused() {
        for p in ["", "a//b", "a/+", "#", "/a", "$SYS"] {
            assert!(Topics::new(p).is_err(), "{p:?} was accepted");
        }
    }
}
