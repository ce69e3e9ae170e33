//! The engine: one replica and one MQTT session, moved by the shell.
//!
//! | the shell calls | when |
//! |---|---|
//! | [`Engine::transport_open`] | the socket opened (the engine queues CONNECT) |
//! | [`Engine::handle_bytes`] | bytes arrived |
//! | [`Engine::transport_closed`] | the socket closed or failed |
//! | [`Engine::handle_timeout`] | the time of [`Engine::poll_timeout`] came |
//! | [`Engine::watch`], [`Engine::request`], … | the application asked |
//! | [`Engine::poll_transmit`], [`Engine::poll_output`] | after any call above, until `None` |
//!
//! Decisions, and why:
//! - **The engine decides the subscriptions.** On every connection it subscribes to the reply
//!   topic and to everything the replica follows, and tells the replica it is connected only
//!   once the broker acknowledged them (§2.2). A change of an object the replica does not
//!   follow waits until the object's own event subscription is held, then goes out (§6.1), so its
//!   outcome arrives in one round trip.
//! - **Timers are looked at only when due**: a message costs the work it causes, not a walk over
//!   the replica (the replica's timers follow what is in flight).
//! - **Status and pending count are reported when they change**, as one [`Output::Status`].

mod options;
mod output;
#[cfg(test)]
mod tests;

pub use options::Options;
pub use output::{Output, Rollback, Status};

use crate::mqtt::{QoS, Session, SessionEvent, SessionOptions, SubscribeReturnCode};
use std::collections::{HashMap, VecDeque};
use vmm_protocol::replica::{Notice, Replica, Status as ReplicaStatus};
use vmm_protocol::{Id, Result, Value, Violation};

/// What a subscription is for.
#[derive(Debug, Clone, PartialEq)]
enum Watch {
    /// Everything the replica follows, on connecting: after its SUBACK the replica may load.
    Connect,
    /// A collection followed while connected.
    Collection(String),
    /// An object followed while connected.
    Object(String, Id),
}

/// The client engine; see the module docs.
#[derive(Debug)]
pub struct Engine {
    replica: Replica,
    session: Session,
    /// Subscriptions waiting for their SUBACK: what each is for, and its filters.
    subscribing: HashMap<u16, (Watch, Vec<String>)>,
    /// CONNECT, sent before anything the session queued.
    connect: Option<Vec<u8>>,
    ever_online: bool,
    reported: (Status, usize),
    out: VecDeque<Output>,
}

impl Engine {
    /// An engine, not connected.
    pub fn new(options: Options) -> Result<Engine> {
        let config = options.replica_config()?;
        let mut session_options = SessionOptions::new(options.client_id.clone());
        session_options.keep_alive_secs = options.keep_alive_secs;
        session_options.clean_session = true;
        session_options.username = options.username;
        session_options.password = options.password;
        let session =
            Session::new(session_options).map_err(|e| Violation::malformed(format!("bad MQTT options: {e}")))?;
        Ok(Engine {
            replica: Replica::new(config),
            session,
            subscribing: HashMap::new(),
            connect: None,
            ever_online: false,
            reported: (Status::Connecting, 0),
            out: VecDeque::new(),
        })
    }

    /// The replica: the confirmed objects, the optimistic view, per-object metadata.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The status a UI shows.
    pub fn status(&self) -> Status {
        match self.replica.status() {
            ReplicaStatus::Online => Status::Online,
            ReplicaStatus::Resyncing => Status::Resyncing,
            ReplicaStatus::Offline if self.ever_online => Status::Offline,
            ReplicaStatus::Offline => Status::Connecting,
        }
    }

    /// How many changes wait for their outcome.
    pub fn pending_count(&self) -> usize {
        self.replica.pending_count()
    }

    /// The transport (WebSocket, TCP) is open: the engine sends CONNECT, then subscribes.
    pub fn transport_open(&mut self, now: u64) {
        self.connect = Some(self.session.connect(now));
    }

    /// Bytes arrived from the broker.
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.session.handle_bytes(now, bytes);
        self.drive(now);
    }

    /// The transport closed or failed: changes queue until the next connection.
    pub fn transport_closed(&mut self, now: u64) {
        self.connect = None;
        self.session.disconnected();
        self.went_down();
        self.drive(now);
    }

    /// The time came: keep-alive, resends, load retries, timeouts.
    pub fn handle_timeout(&mut self, now: u64) {
        self.session.handle_timeout(now);
        self.drive(now);
    }

    /// When [`Engine::handle_timeout`] should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        [self.replica.poll_timeout(), self.session.poll_timeout()].into_iter().flatten().min()
    }

    /// The next bytes to send, one packet each.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.connect.take().or_else(|| self.session.poll_transmit())
    }

    /// The next output for the shell.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Follows a collection: subscribes to its events, then loads it. Idempotent.
    pub fn watch(&mut self, now: u64, collection: &str) -> Result<()> {
        vmm_protocol::topic::check_collection(collection)?;
        let filter = self.replica.config().topics.collection_events(collection);
        let known = self.replica.watches(collection);
        self.follow(now, known, filter, Watch::Collection(collection.to_string()));
        self.drive(now);
        Ok(())
    }

    /// Follows one object: subscribes to its events, then loads it. Idempotent.
    pub fn watch_object(&mut self, now: u64, collection: &str, id: &Id) -> Result<()> {
        vmm_protocol::topic::check_collection(collection)?;
        let filter = self.replica.config().topics.event(collection, id);
        let known = self.replica.is_followed(collection, &id.key());
        self.follow(now, known, filter, Watch::Object(collection.to_string(), id.clone()));
        self.drive(now);
        Ok(())
    }

    /// Makes a change (see [`Replica::request`] for `op`): shown at once, pending until its
    /// [`Output::Outcome`]. Returns the request id; an error changes nothing.
    pub fn request(&mut self, now: u64, collection: &str, op: Value) -> Result<String> {
        let rid = self.replica.request(now, collection, op)?;
        self.drive(now);
        Ok(rid)
    }

    /// Ends the connection politely: returns the bytes to send before closing the transport.
    /// Pending changes stay pending.
    pub fn disconnect(&mut self, now: u64) -> Vec<u8> {
        let mut bytes = self.connect.take().unwrap_or_default();
        bytes.extend(self.session.disconnect());
        self.went_down();
        self.drive(now);
        bytes
    }

    fn follow(&mut self, now: u64, known: bool, filter: String, watch: Watch) {
        let subscribing = self.subscribing.values().any(|(w, _)| *w == watch);
        if known || subscribing {
            // Already followed, or about to be.
        } else if self.session.is_connected() {
            match self.session.subscribe(&[(filter.as_str(), QoS::AtLeastOnce)]) {
                Ok(id) => {
                    self.subscribing.insert(id, (watch, vec![filter]));
                }
                Err(e) => self.out.push_back(Output::SubscriptionRefused { filter: format!("{filter}: {e}") }),
            }
        } else {
            // Subscribed with everything else on the next connection.
            self.start_following(now, watch);
        }
    }

    fn start_following(&mut self, now: u64, watch: Watch) {
        let _ = match &watch {
            Watch::Collection(c) => self.replica.watch_collection(now, c),
            Watch::Object(c, id) => self.replica.watch_object(now, c, id),
            Watch::Connect => Ok(()),
        };
        if let Watch::Collection(collection) = watch {
            self.out.push_back(Output::Watching { collection });
        }
    }

    /// The connection is gone: the replica goes offline; watches that were waiting for their
    /// SUBACK are subscribed again with the rest on the next connection.
    fn went_down(&mut self) {
        self.replica.disconnected();
        self.subscribing.retain(|_, (w, _)| *w != Watch::Connect);
    }

    /// Moves everything that can move: session events into the replica, the replica's messages
    /// into the session, notices into outputs.
    fn drive(&mut self, now: u64) {
        while let Some(event) = self.session.poll_event() {
            self.on_session_event(now, event);
        }
        if self.replica.poll_timeout().is_some_and(|t| t <= now) {
            self.replica.handle_timeout(now);
        }
        while let Some((collection, id)) = self.replica.poll_follow() {
            self.follow(
                now,
                false,
                self.replica.config().topics.event(&collection, &id),
                Watch::Object(collection, id),
            );
        }
        while let Some(tx) = self.replica.poll_transmit() {
            if let Err(e) = self.session.publish(&tx.topic, &tx.payload, QoS::AtLeastOnce) {
                // Only a message the codec cannot encode fails here; the replica's limits keep
                // requests far below MQTT's.
                self.out.push_back(Output::Ignored { topic: tx.topic, reason: Violation::malformed(e.to_string()) });
            }
        }
        while let Some(notice) = self.replica.poll_notice() {
            self.on_notice(notice);
        }
        if self.replica.status() == ReplicaStatus::Online {
            self.ever_online = true;
        }
        let now_reported = (self.status(), self.replica.pending_count());
        if now_reported != self.reported {
            self.reported = now_reported;
            self.out.push_back(Output::Status { status: now_reported.0, pending: now_reported.1 });
        }
    }

    fn on_session_event(&mut self, now: u64, event: SessionEvent) {
        match event {
            SessionEvent::Connected { .. } => self.subscribe_all(now),
            SessionEvent::Subscribed { id, granted } => self.on_suback(now, id, &granted),
            SessionEvent::Message { topic, payload } => {
                if let Err(reason) = self.replica.handle(now, &topic, &payload) {
                    self.out.push_back(Output::Ignored { topic, reason });
                }
            }
            SessionEvent::Dead => self.lost("no answer from the broker in time".into()),
            SessionEvent::ProtocolError(e) => self.lost(format!("the broker broke the protocol: {e}")),
            SessionEvent::ConnectionRefused(code) => self.lost(format!("the broker refused the connection: {code:?}")),
            SessionEvent::Published { .. } | SessionEvent::Unsubscribed { .. } => {}
        }
    }

    fn lost(&mut self, reason: String) {
        self.went_down();
        self.out.push_back(Output::Lost { reason });
    }

    /// A new connection: everything the replica follows, and the watches that were waiting for
    /// their SUBACK, in one SUBSCRIBE.
    fn subscribe_all(&mut self, now: u64) {
        let waiting: Vec<Watch> = self.subscribing.drain().map(|(_, (w, _))| w).collect();
        for watch in waiting {
            self.start_following(now, watch);
        }
        let filters = self.replica.subscriptions();
        let with_qos: Vec<(&str, QoS)> = filters.iter().map(|f| (f.as_str(), QoS::AtLeastOnce)).collect();
        match self.session.subscribe(&with_qos) {
            Ok(id) => {
                self.subscribing.insert(id, (Watch::Connect, filters));
            }
            Err(e) => self.lost(format!("cannot subscribe: {e}")),
        }
    }

    fn on_suback(&mut self, now: u64, id: u16, granted: &[SubscribeReturnCode]) {
        let Some((watch, filters)) = self.subscribing.remove(&id) else { return };
        for (filter, code) in filters.iter().zip(granted) {
            if *code == SubscribeReturnCode::Failure {
                self.out.push_back(Output::SubscriptionRefused { filter: filter.clone() });
            }
        }
        match watch {
            Watch::Connect if self.replica.status() == ReplicaStatus::Offline => self.replica.connected(now),
            Watch::Connect => {}
            other => self.start_following(now, other),
        }
    }

    fn on_notice(&mut self, notice: Notice) {
        let output = match notice {
            Notice::Changed { collection, id } => Output::Changed { collection, id },
            Notice::Confirmed { rid, event } => Output::Outcome { rid, result: Ok(event) },
            Notice::RolledBack { rid, collection, id, code, message, current } => {
                Output::Outcome { rid, result: Err(Rollback { collection, id, code, message, current }) }
            }
            Notice::Loaded { collection } => Output::Loaded { collection },
            Notice::Status(_) => return,
        };
        self.out.push_back(output);
    }
}
