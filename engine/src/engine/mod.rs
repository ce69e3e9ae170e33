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
//! - **Status, pending count and bridges are reported when they change**, as one
//!   [`Output::Status`]. The status tells apart a broker that cannot be reached (and why: the
//!   network, refused, credentials), an offline mode chosen by the application, and a broker
//!   with no bridge on the prefix.
//! - **Bridges announce themselves** (§2.2: a retained message per bridge on
//!   `{p}/v1/bridges/{instance}`, cleared by its will). When one comes up, everything in flight
//!   is sent again at once: a bridge back after minutes is caught up in one round trip, not at
//!   the end of a back-off.
//! - **Nothing is rolled back for lack of time** (§6.4): a change stays pending, and is resent,
//!   until its outcome arrives or the application cancels it ([`Engine::cancel`]).

mod options;
mod output;
mod presence;
#[cfg(test)]
mod tests;

pub use options::Options;
pub use output::{Output, Problem, ProblemKind, Rollback, Status};

use crate::mqtt::{QoS, Session, SessionEvent, SessionOptions, SubscribeReturnCode};
use presence::Presence;
use std::collections::{HashMap, VecDeque};
use vmm_protocol::replica::{Notice, Replica, Status as ReplicaStatus};
use vmm_protocol::{Code, Id, Result, Value, Violation};

/// What a subscription is for.
#[derive(Debug, Clone, PartialEq)]
enum Watch {
    /// Everything the replica follows, on connecting: after its SUBACK the replica may load.
    Connect,
    /// A collection followed while connected.
    Collection(String),
    /// An object followed while connected.
    Object(String, Id),
    /// Nothing to do on the SUBACK (the replica already follows it, or no longer wants it).
    Nothing,
}

/// How far the current transport got: what its closing means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    /// No answer from the broker yet: closing now is a network problem.
    Unanswered,
    /// The broker accepted the connection: closing is a drop, no problem yet.
    Accepted,
    /// The problem was reported already (a refusal, no answer in time): closing adds none.
    Failed,
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
    presence: Presence,
    /// Why the last attempt to reach the broker failed, until one succeeds.
    problem: Option<Problem>,
    /// How far the current transport got.
    attempt: Attempt,
    /// Offline on purpose ([`Engine::disconnect`]) until the next transport opens.
    by_choice: bool,
    /// Collections whose subscription the broker refused, in no order: a few at most. A vector:
    /// a `BTreeMap<String, Violation>` is an instantiation of BTreeMap's code of its own (this and
    /// the presence's vector saved 3.9 KB of the gzipped wasm, wasm-client/README.md "Size").
    collection_errors: Vec<(String, Violation)>,
    reported: (Status, usize, usize),
    out: VecDeque<Output>,
}

impl Engine {
    /// An engine, not connected.
    pub fn new(options: Options) -> Result<Engine> {
        let config = options.replica_config()?;
        let presence = Presence::new(&config.topics);
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
            presence,
            problem: None,
            attempt: Attempt::Unanswered,
            by_choice: false,
            collection_errors: Vec::new(),
            reported: (Status::Connecting, 0, 0),
            out: VecDeque::new(),
        })
    }

    /// Takes confirmed states kept from an earlier run before the collection is watched
    /// ([`Replica::restore`]); returns how many were newer than what the replica held.
    pub fn restore(
        &mut self,
        collection: &str,
        states: impl IntoIterator<Item = vmm_protocol::message::ObjectState>,
    ) -> usize {
        self.replica.restore(collection, states)
    }

    /// The replica: the confirmed objects, the optimistic view, per-object metadata.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// The status a UI shows.
    pub fn status(&self) -> Status {
        if self.by_choice {
            return Status::Offline;
        }
        match self.replica.status() {
            ReplicaStatus::Offline if self.problem.is_some() => Status::Unreachable,
            ReplicaStatus::Offline => Status::Connecting,
            _ if self.presence.none_there() => Status::NoBridge,
            ReplicaStatus::Resyncing => Status::Resyncing,
            ReplicaStatus::Online => Status::Online,
        }
    }

    /// Why the last attempt to reach the broker failed, while no attempt has succeeded since.
    pub fn problem(&self) -> Option<&Problem> {
        self.problem.as_ref()
    }

    /// How many bridges announce themselves on the prefix (§2.2).
    pub fn bridges(&self) -> usize {
        self.presence.count()
    }

    /// Why the events of a collection cannot arrive (the broker refused its subscription), if so.
    pub fn collection_error(&self, collection: &str) -> Option<&Violation> {
        self.collection_errors.iter().find(|(c, _)| c == collection).map(|(_, v)| v)
    }

    /// How many changes wait for their outcome.
    pub fn pending_count(&self) -> usize {
        self.replica.pending_count()
    }

    /// The transport (WebSocket, TCP) is open: the engine sends CONNECT, then subscribes.
    pub fn transport_open(&mut self, now: u64) {
        self.by_choice = false;
        self.attempt = Attempt::Unanswered;
        self.connect = Some(self.session.connect(now));
    }

    /// Bytes arrived from the broker.
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        self.session.handle_bytes(now, bytes);
        self.drive(now);
    }

    /// The transport could not be opened, for a reason the shell knows (a refused TCP
    /// connection, a failed TLS handshake): a network problem with that reason, then as
    /// [`Engine::transport_closed`].
    pub fn transport_failed(&mut self, now: u64, reason: String) {
        if !self.by_choice {
            self.failed(ProblemKind::Network, reason);
        }
        self.transport_closed(now);
    }

    /// The transport closed or failed: changes queue until the next connection.
    pub fn transport_closed(&mut self, now: u64) {
        self.connect = None;
        if self.attempt == Attempt::Unanswered && !self.by_choice {
            self.failed(
                ProblemKind::Network,
                "the broker cannot be reached (no connection, or it closed at once)".into(),
            );
        }
        // The next transport starts unanswered (a WebSocket that never opens reports no open).
        self.attempt = Attempt::Unanswered;
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

    /// Stops following a collection: unsubscribes from its events and forgets its objects,
    /// except those with changes pending, which stay followed one by one until settled (and
    /// after). Idempotent.
    pub fn unwatch(&mut self, now: u64, collection: &str) -> Result<()> {
        vmm_protocol::topic::check_collection(collection)?;
        let filter = self.replica.config().topics.collection_events(collection);
        self.unwanted(&Watch::Collection(collection.to_string()));
        let kept = self.replica.unwatch_collection(now, collection);
        self.collection_errors.retain(|(c, _)| c != collection);
        if self.session.is_connected() {
            // The objects' subscriptions first: the broker applies packets in order, so their
            // events never go unsubscribed.
            let topics = &self.replica.config().topics;
            let filters: Vec<String> = kept.iter().map(|id| topics.event(collection, id)).collect();
            if !filters.is_empty() {
                let with_qos: Vec<(&str, QoS)> = filters.iter().map(|f| (f.as_str(), QoS::AtLeastOnce)).collect();
                if let Ok(id) = self.session.subscribe(&with_qos) {
                    self.subscribing.insert(id, (Watch::Nothing, filters));
                }
            }
            let _ = self.session.unsubscribe(&[filter.as_str()]);
        }
        self.drive(now);
        Ok(())
    }

    /// Stops following one object followed by [`Engine::watch_object`]: unsubscribes from its
    /// events and forgets it, unless its collection is followed or changes of it are pending.
    pub fn unwatch_object(&mut self, now: u64, collection: &str, id: &Id) -> Result<()> {
        vmm_protocol::topic::check_collection(collection)?;
        self.unwanted(&Watch::Object(collection.to_string(), id.clone()));
        if self.replica.unwatch_object(collection, id) && self.session.is_connected() {
            let filter = self.replica.config().topics.event(collection, id);
            let _ = self.session.unsubscribe(&[filter.as_str()]);
        }
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

    /// Cancels this client's pending changes of an object ([`Replica::cancel`]): each gets an
    /// [`Output::Outcome`] rolled back with `cancelled`. Returns their request ids.
    pub fn cancel(&mut self, now: u64, collection: &str, id: &Id) -> Vec<String> {
        let rids = self.replica.cancel(collection, id);
        self.drive(now);
        rids
    }

    /// Goes offline on purpose (the status says `offline`): returns the bytes to send before
    /// closing the transport. Pending changes stay pending, and go out on the next connection.
    pub fn disconnect(&mut self, now: u64) -> Vec<u8> {
        let mut bytes = self.connect.take().unwrap_or_default();
        bytes.extend(self.session.disconnect());
        self.by_choice = true;
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
                Err(e) => {
                    let collection = self.replica.config().topics.collection_of_events_filter(&filter);
                    self.out.push_back(Output::SubscriptionRefused { filter: format!("{filter}: {e}"), collection })
                }
            }
        } else {
            // Subscribed with everything else on the next connection.
            self.start_following(now, watch);
        }
    }

    /// A watch whose SUBACK is awaited is no longer wanted: nothing follows on its SUBACK.
    fn unwanted(&mut self, watch: &Watch) {
        for (w, _) in self.subscribing.values_mut() {
            if w == watch {
                *w = Watch::Nothing;
            }
        }
    }

    fn start_following(&mut self, now: u64, watch: Watch) {
        let _ = match &watch {
            Watch::Collection(c) => self.replica.watch_collection(now, c),
            Watch::Object(c, id) => self.replica.watch_object(now, c, id),
            Watch::Connect | Watch::Nothing => Ok(()),
        };
        if let Watch::Collection(collection) = watch {
            self.out.push_back(Output::Watching { collection });
        }
    }

    /// The connection is gone: the replica goes offline; watches that were waiting for their
    /// SUBACK are subscribed again with the rest on the next connection.
    fn went_down(&mut self) {
        self.replica.disconnected();
        self.presence.clear();
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
        let now_reported = (self.status(), self.replica.pending_count(), self.presence.count());
        if now_reported != self.reported {
            self.reported = now_reported;
            let (status, pending, bridges) = now_reported;
            self.out.push_back(Output::Status { status, pending, bridges });
        }
    }

    fn on_session_event(&mut self, now: u64, event: SessionEvent) {
        match event {
            SessionEvent::Connected { .. } => {
                self.problem = None;
                self.attempt = Attempt::Accepted;
                self.subscribe_all(now);
            }
            SessionEvent::Subscribed { id, granted } => self.on_suback(now, id, &granted),
            SessionEvent::Message { topic, payload, retain } => {
                if let Some(came_up) = self.presence.handle(&topic, &payload) {
                    // A retained announcement was there before we subscribed: what we just
                    // sent reaches that bridge anyway. A fresh one is a bridge (back) now.
                    if came_up && !retain {
                        self.replica.bridge_up(now);
                    }
                } else if let Err(reason) = self.replica.handle(now, &topic, &payload) {
                    self.out.push_back(Output::Ignored { topic, reason });
                }
            }
            SessionEvent::Dead => {
                let message = "no answer from the broker in time";
                if self.attempt == Attempt::Unanswered {
                    self.failed(ProblemKind::Network, message.into());
                }
                self.lost(message.into());
            }
            SessionEvent::ProtocolError(e) => self.lost(format!("the broker broke the protocol: {e}")),
            SessionEvent::ConnectionRefused(code) => {
                let (kind, message) = presence::refusal(code);
                self.failed(kind, message.clone());
                self.lost(message);
            }
            SessionEvent::Published { .. } | SessionEvent::Unsubscribed { .. } => {}
        }
    }

    fn lost(&mut self, reason: String) {
        self.went_down();
        self.out.push_back(Output::Lost { reason });
    }

    /// An attempt to reach the broker failed: reported when the problem is new.
    fn failed(&mut self, kind: ProblemKind, message: String) {
        self.attempt = Attempt::Failed;
        let problem = Problem { kind, message };
        if self.problem.as_ref() != Some(&problem) {
            self.out.push_back(Output::ConnectionFailed(problem.clone()));
        }
        self.problem = Some(problem);
    }

    /// A new connection: everything the replica follows, and the watches that were waiting for
    /// their SUBACK, in one SUBSCRIBE.
    fn subscribe_all(&mut self, now: u64) {
        let waiting: Vec<Watch> = self.subscribing.drain().map(|(_, (w, _))| w).collect();
        for watch in waiting {
            self.start_following(now, watch);
        }
        let mut filters = self.replica.subscriptions();
        filters.push(self.presence.filter().to_string());
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
            let refused = *code == SubscribeReturnCode::Failure;
            if filter == self.presence.filter() {
                self.presence.subscribed(!refused);
                continue;
            }
            let collection = self.replica.config().topics.collection_of_events_filter(filter);
            if let Some(c) = &collection {
                self.collection_errors.retain(|(other, _)| other != c);
                if refused {
                    let why = format!("the broker refused the subscription to {filter} (an ACL?)");
                    self.collection_errors.push((c.clone(), Violation::new(Code::Forbidden, why)));
                }
            }
            if refused {
                self.out.push_back(Output::SubscriptionRefused { filter: filter.clone(), collection });
            }
        }
        match watch {
            Watch::Connect if self.replica.status() == ReplicaStatus::Offline => self.replica.connected(now),
            Watch::Connect | Watch::Nothing => {}
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
