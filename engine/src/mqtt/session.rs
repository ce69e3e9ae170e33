//! The MQTT client session, sans-IO: its methods only change state and queue bytes and events,
//! in the style of rumqttc's `state.rs` and quinn-proto's `Connection`. The shell moves bytes
//! between the WebSocket and the session and keeps one timer.
//!
//! | the shell calls | when |
//! |---|---|
//! | [`Session::connect`] | the WebSocket opened: send the bytes it returns |
//! | [`Session::handle_bytes`] | bytes arrived |
//! | [`Session::handle_timeout`] | the timer for [`Session::poll_timeout`] fired |
//! | [`Session::disconnected`] | the WebSocket closed or failed |
//! | [`Session::poll_transmit`], [`Session::poll_event`] | after any call above, until `None` |
//!
//! Decisions, and why:
//! - **Unacknowledged requests survive connections.** A QoS 1 PUBLISH, a SUBSCRIBE and an
//!   UNSUBSCRIBE stay until acknowledged, and are (re)sent in their original order with their
//!   original packet id once a CONNACK accepts the next connection. A PUBLISH is re-sent with
//!   DUP=1 only if the broker resumed the session (`session_present`); otherwise it is a new
//!   publication with DUP=0 (§4.4: DUP describes a re-delivery *within* a session). vmm connects
//!   with a clean session, so it always gets the second case; its messages are idempotent, so a
//!   message delivered twice (once before the drop, once after) is harmless.
//! - **Requests made while not connected wait** for the next CONNACK; a QoS 0 PUBLISH does not
//!   (at most once): it fails with [`SessionError::NotConnected`].
//! - **Subscriptions are not remembered**: with a clean session the broker forgets them on each
//!   connection, so the shell subscribes again on every `Connected { session_present: false }`.
//! - **Keep-alive**: a PINGREQ goes out once nothing was sent *or* nothing was received for the
//!   keep-alive period; the connection is reported [`SessionEvent::Dead`] if nothing at all
//!   arrives within the ping timeout (keep-alive / 2 by default) after it. Counting received
//!   bytes, not only the PINGRESP, avoids declaring a busy but slow link dead. Without `now` in
//!   [`Session::publish`], a send is dated by the latest time the session was given, which is
//!   never later than the truth, so pings are never late.
//! - **Errors end the connection**: malformed bytes or a packet a broker must not send produce
//!   [`SessionEvent::ProtocolError`]; like [`SessionEvent::Dead`] and
//!   [`SessionEvent::ConnectionRefused`], the session is then disconnected and the shell closes
//!   the WebSocket and reconnects.
//! - **Acknowledgements for unknown ids are ignored**: harmless, and a broker may re-send them.

use std::collections::VecDeque;
use std::fmt;

use super::codec::{
    self, CodecError, ConnAck, Connect, ConnectReturnCode, Packet, Publish, QoS, SubAck, Subscribe,
    SubscribeReturnCode, Unsubscribe,
};

/// How a [`Session`] connects. Build with [`SessionOptions::new`], then change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// The MQTT client identifier; unique per connected client.
    pub client_id: String,
    /// Keep-alive in seconds (default 30); 0 turns pings and dead-connection detection off.
    pub keep_alive_secs: u16,
    /// Ask for a clean session (default `true`, what vmm uses).
    pub clean_session: bool,
    /// The user name, if the broker wants one.
    pub username: Option<String>,
    /// The password; MQTT 3.1.1 allows it only with a user name.
    pub password: Option<Vec<u8>>,
    /// The largest packet accepted from the broker, fixed header included (default 32 MiB:
    /// a 16 MiB MongoDB document as JSON, with room to spare).
    pub max_packet_size: usize,
    /// How long to wait for anything after a PINGREQ (default: half the keep-alive).
    pub ping_timeout_ms: Option<u64>,
    /// How long to wait for the CONNACK (default 10 s).
    pub connect_timeout_ms: u64,
}

impl SessionOptions {
    /// Options with the defaults above and this client id.
    pub fn new(client_id: impl Into<String>) -> Self {
        SessionOptions {
            client_id: client_id.into(),
            keep_alive_secs: 30,
            clean_session: true,
            username: None,
            password: None,
            max_packet_size: 32 * 1024 * 1024,
            ping_timeout_ms: None,
            connect_timeout_ms: 10_000,
        }
    }

    fn keep_alive_ms(&self) -> u64 {
        u64::from(self.keep_alive_secs) * 1000
    }

    fn ping_timeout(&self) -> u64 {
        self.ping_timeout_ms.unwrap_or(self.keep_alive_ms() / 2)
    }
}

/// What happened, for the shell to act on; see [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The broker accepted the connection; queued requests are now being sent.
    Connected {
        /// Whether the broker resumed a stored session (never with a clean session).
        session_present: bool,
    },
    /// The broker refused the connection; the session is disconnected.
    ConnectionRefused(ConnectReturnCode),
    /// A message arrived on a subscribed topic (a QoS 1 one is already acknowledged).
    Message {
        /// The topic it was published to.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
        /// Set when the broker sends a retained message because of a new subscription (MQTT
        /// 3.1.1 §3.3.1.3): it was published before, not now.
        retain: bool,
    },
    /// The broker acknowledged our QoS 1 PUBLISH with this packet id.
    Published {
        /// The id [`Session::publish`] returned.
        id: u16,
    },
    /// The broker answered our SUBSCRIBE.
    Subscribed {
        /// The id [`Session::subscribe`] returned.
        id: u16,
        /// One code per filter, in order: the granted QoS or a failure.
        granted: Vec<SubscribeReturnCode>,
    },
    /// The broker acknowledged our UNSUBSCRIBE.
    Unsubscribed {
        /// The id [`Session::unsubscribe`] returned.
        id: u16,
    },
    /// The broker broke the protocol; the session is disconnected.
    ProtocolError(SessionError),
    /// No CONNACK in time, or nothing received in time after a PINGREQ; the session is
    /// disconnected.
    Dead,
}

/// Why a session call failed, or why a connection was given up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// A packet could not be encoded (bad topic or filter, too large), or received bytes could
    /// not be decoded.
    Codec(CodecError),
    /// The broker sent a packet it must not send now (the packet's name).
    UnexpectedPacket(&'static str),
    /// A QoS 0 publish while not connected: it would be lost anyway.
    NotConnected,
    /// All 65,535 packet ids are in flight.
    PacketIdsExhausted,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "MQTT codec: {e}"),
            Self::UnexpectedPacket(name) => write!(f, "unexpected {name} from the broker"),
            Self::NotConnected => f.write_str("not connected"),
            Self::PacketIdsExhausted => f.write_str("all packet ids are in flight"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Codec(e) => Some(e),
            _ => None,
        }
    }
}

impl From<CodecError> for SessionError {
    fn from(e: CodecError) -> Self {
        SessionError::Codec(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Disconnected,
    Connecting { deadline: u64 },
    Connected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Publish,
    Subscribe,
    Unsubscribe,
}

/// A request waiting for its acknowledgement.
#[derive(Debug)]
struct Request {
    id: u16,
    kind: Kind,
    /// The encoded packet, DUP clear.
    bytes: Vec<u8>,
    /// Whether it was ever transmitted (decides DUP when a session is resumed).
    sent: bool,
}

/// An MQTT 3.1.1 client session without IO; see the module docs.
#[derive(Debug)]
pub struct Session {
    options: SessionOptions,
    connect_bytes: Vec<u8>,
    state: State,
    next_id: u16,
    /// Unacknowledged requests, oldest first, so they are re-sent in order. A Vec and a bitset
    /// rather than maps: 5 KB less gzipped wasm, and an acknowledgement usually matches the
    /// oldest request.
    requests: Vec<Request>,
    /// One bit per packet id, set while the id is in flight.
    ids: Vec<u64>,
    transmit: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    received: Vec<u8>,
    /// The latest time any call gave.
    now: u64,
    last_sent: u64,
    last_received: u64,
    ping_sent: Option<u64>,
}

impl Session {
    /// A disconnected session; fails if the options cannot make a valid CONNECT.
    pub fn new(options: SessionOptions) -> Result<Session, SessionError> {
        let connect_bytes = codec::encode(&Packet::Connect(Connect {
            client_id: options.client_id.clone(),
            clean_session: options.clean_session,
            keep_alive: options.keep_alive_secs,
            username: options.username.clone(),
            password: options.password.clone(),
        }))?;
        Ok(Session {
            options,
            connect_bytes,
            state: State::Disconnected,
            next_id: 1,
            requests: Vec::new(),
            ids: vec![0; 1024],
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            received: Vec::new(),
            now: 0,
            last_sent: 0,
            last_received: 0,
            ping_sent: None,
        })
    }

    /// Starts a connection (ending the current one, if any): returns the CONNECT to send first.
    /// Queued requests go out once the CONNACK arrives.
    pub fn connect(&mut self, now_ms: u64) -> Vec<u8> {
        self.go_down();
        let now = self.observe(now_ms);
        self.state = State::Connecting { deadline: now.saturating_add(self.options.connect_timeout_ms) };
        self.last_sent = now;
        self.last_received = now;
        self.connect_bytes.clone()
    }

    /// Feeds bytes received from the broker; they may hold part of a packet or several.
    /// Ignored while disconnected (they belong to a connection already given up).
    pub fn handle_bytes(&mut self, now_ms: u64, bytes: &[u8]) {
        let now = self.observe(now_ms);
        if self.state == State::Disconnected {
            return;
        }
        self.received.extend_from_slice(bytes);
        let mut used = 0;
        loop {
            match codec::decode_with_limit(&self.received[used..], self.options.max_packet_size) {
                Ok(Some((packet, n))) => {
                    used += n;
                    self.last_received = now;
                    self.handle_packet(now, packet);
                    if self.state == State::Disconnected {
                        return; // `go_down` cleared the buffer
                    }
                }
                Ok(None) => break,
                Err(e) => return self.fail(SessionError::Codec(e)),
            }
        }
        self.received.drain(..used);
    }

    /// Sends a PINGREQ or gives the connection up, as the time requires; see the module docs.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let now = self.observe(now_ms);
        match self.state {
            State::Disconnected => {}
            State::Connecting { deadline } => {
                if now >= deadline {
                    self.dead();
                }
            }
            State::Connected => match self.ping_sent {
                Some(sent) => {
                    if now >= sent.max(self.last_received).saturating_add(self.options.ping_timeout()) {
                        self.dead();
                    }
                }
                None => {
                    if self.options.keep_alive_secs > 0 && now >= self.ping_due() {
                        self.send(vec![0xC0, 0x00]);
                        self.ping_sent = Some(now);
                    }
                }
            },
        }
    }

    /// When [`Session::handle_timeout`] next has something to do (ms, same clock as `now_ms`);
    /// `None` when disconnected or with keep-alive off.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            State::Disconnected => None,
            State::Connecting { deadline } => Some(deadline),
            State::Connected => match self.ping_sent {
                Some(sent) => Some(sent.max(self.last_received).saturating_add(self.options.ping_timeout())),
                None if self.options.keep_alive_secs > 0 => Some(self.ping_due()),
                None => None,
            },
        }
    }

    /// The next bytes to send on the WebSocket, one packet each.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front()
    }

    /// The next event for the shell.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Publishes a message. QoS 1: returns its packet id, and the message waits (and survives
    /// reconnections) until its PUBACK gives [`SessionEvent::Published`]. QoS 0: returns `None`,
    /// and fails with [`SessionError::NotConnected`] unless connected.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Result<Option<u16>, SessionError> {
        let mut publish =
            Publish { dup: false, qos, retain: false, topic: topic.to_owned(), pkid: None, payload: payload.to_vec() };
        match qos {
            QoS::AtMostOnce => {
                if self.state != State::Connected {
                    return Err(SessionError::NotConnected);
                }
                let bytes = codec::encode(&Packet::Publish(publish))?;
                self.send(bytes);
                Ok(None)
            }
            QoS::AtLeastOnce => {
                let id = self.free_id()?;
                publish.pkid = Some(id);
                let bytes = codec::encode(&Packet::Publish(publish))?;
                self.request(id, Kind::Publish, bytes);
                Ok(Some(id))
            }
        }
    }

    /// Subscribes to topic filters, each with its maximum QoS; returns the packet id that
    /// [`SessionEvent::Subscribed`] will carry. Waits for a connection if needed.
    pub fn subscribe(&mut self, filters: &[(&str, QoS)]) -> Result<u16, SessionError> {
        let id = self.free_id()?;
        let filters = filters.iter().map(|(filter, qos)| ((*filter).to_owned(), *qos)).collect();
        let bytes = codec::encode(&Packet::Subscribe(Subscribe { pkid: id, filters }))?;
        self.request(id, Kind::Subscribe, bytes);
        Ok(id)
    }

    /// Unsubscribes from topic filters; returns the packet id that
    /// [`SessionEvent::Unsubscribed`] will carry. Waits for a connection if needed.
    pub fn unsubscribe(&mut self, filters: &[&str]) -> Result<u16, SessionError> {
        let id = self.free_id()?;
        let filters = filters.iter().map(|filter| (*filter).to_owned()).collect();
        let bytes = codec::encode(&Packet::Unsubscribe(Unsubscribe { pkid: id, filters }))?;
        self.request(id, Kind::Unsubscribe, bytes);
        Ok(id)
    }

    /// The connection dropped: forget its bytes, keep unacknowledged requests for the next one.
    pub fn disconnected(&mut self) {
        self.go_down();
    }

    /// Ends the connection politely: returns the bytes still queued followed by DISCONNECT (or
    /// nothing if not connected), to send before closing the WebSocket. Unacknowledged requests
    /// are kept, as with [`Session::disconnected`].
    pub fn disconnect(&mut self) -> Vec<u8> {
        if self.state == State::Disconnected {
            return Vec::new();
        }
        let mut bytes: Vec<u8> = self.transmit.drain(..).flatten().collect();
        bytes.extend_from_slice(&[0xE0, 0x00]);
        self.go_down();
        bytes
    }

    /// Whether a CONNACK accepted the current connection.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// How many requests (QoS 1 publishes, subscribes, unsubscribes) wait for acknowledgement.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    fn handle_packet(&mut self, now: u64, packet: Packet) {
        match (self.state, packet) {
            (State::Connecting { .. }, Packet::ConnAck(ConnAck { session_present, code })) => {
                if code != ConnectReturnCode::Accepted {
                    self.events.push_back(SessionEvent::ConnectionRefused(code));
                    return self.go_down();
                }
                self.state = State::Connected;
                self.events.push_back(SessionEvent::Connected { session_present });
                for request in &mut self.requests {
                    let mut bytes = request.bytes.clone();
                    if request.kind == Kind::Publish && request.sent && session_present {
                        bytes[0] |= 0x08; // DUP
                    }
                    request.sent = true;
                    self.transmit.push_back(bytes);
                    self.last_sent = now;
                }
            }
            (State::Connected, Packet::Publish(publish)) => {
                if let Some(id) = publish.pkid {
                    let [hi, lo] = id.to_be_bytes();
                    self.send(vec![0x40, 0x02, hi, lo]);
                }
                self.events.push_back(SessionEvent::Message {
                    topic: publish.topic,
                    payload: publish.payload,
                    retain: publish.retain,
                });
            }
            (State::Connected, Packet::PubAck(id)) => {
                if self.acknowledge(id, Kind::Publish) {
                    self.events.push_back(SessionEvent::Published { id });
                }
            }
            (State::Connected, Packet::SubAck(SubAck { pkid, return_codes })) => {
                if self.acknowledge(pkid, Kind::Subscribe) {
                    self.events.push_back(SessionEvent::Subscribed { id: pkid, granted: return_codes });
                }
            }
            (State::Connected, Packet::UnsubAck(id)) => {
                if self.acknowledge(id, Kind::Unsubscribe) {
                    self.events.push_back(SessionEvent::Unsubscribed { id });
                }
            }
            (State::Connected, Packet::PingResp) => self.ping_sent = None,
            (_, packet) => self.fail(SessionError::UnexpectedPacket(packet_name(&packet))),
        }
    }

    /// Removes the request with this id and kind; false if there is none.
    fn acknowledge(&mut self, id: u16, kind: Kind) -> bool {
        let Some(index) = self.requests.iter().position(|r| r.id == id && r.kind == kind) else { return false };
        self.requests.remove(index);
        self.set_in_flight(id, false);
        true
    }

    fn request(&mut self, id: u16, kind: Kind, bytes: Vec<u8>) {
        let sent = self.state == State::Connected;
        if sent {
            self.send(bytes.clone());
        }
        self.requests.push(Request { id, kind, bytes, sent });
        self.set_in_flight(id, true);
    }

    /// The next packet id after the last one given, skipping ids in flight (§2.3.1: an id is
    /// reusable once its acknowledgement arrived).
    fn free_id(&mut self) -> Result<u16, SessionError> {
        for _ in 0..u16::MAX {
            let id = self.next_id;
            self.next_id = if id == u16::MAX { 1 } else { id + 1 };
            if !self.in_flight_id(id) {
                return Ok(id);
            }
        }
        Err(SessionError::PacketIdsExhausted)
    }

    fn in_flight_id(&self, id: u16) -> bool {
        self.ids[usize::from(id / 64)] & (1 << (id % 64)) != 0
    }

    fn set_in_flight(&mut self, id: u16, on: bool) {
        let (word, bit) = (usize::from(id / 64), 1u64 << (id % 64));
        if on {
            self.ids[word] |= bit;
        } else {
            self.ids[word] &= !bit;
        }
    }

    fn send(&mut self, bytes: Vec<u8>) {
        self.transmit.push_back(bytes);
        self.last_sent = self.now;
    }

    fn ping_due(&self) -> u64 {
        self.last_sent.min(self.last_received).saturating_add(self.options.keep_alive_ms())
    }

    fn observe(&mut self, now_ms: u64) -> u64 {
        self.now = self.now.max(now_ms);
        self.now
    }

    fn fail(&mut self, error: SessionError) {
        self.events.push_back(SessionEvent::ProtocolError(error));
        self.go_down();
    }

    fn dead(&mut self) {
        self.events.push_back(SessionEvent::Dead);
        self.go_down();
    }

    fn go_down(&mut self) {
        self.state = State::Disconnected;
        self.transmit.clear();
        self.received.clear();
        self.ping_sent = None;
    }

    #[cfg(all(test, not(target_arch = "wasm32")))]
    fn set_next_id(&mut self, id: u16) {
        self.next_id = id;
    }
}

fn packet_name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
#[path = "session_tests.rs"]
mod tests;
