//! The secure broker profile refuses what docs/PROTOCOL.md §2.3 says it must: real MQTT clients
//! (rumqttc) against the real Mosquitto of `scripts/services.sh start` (its password listener,
//! the ACL of .run/secure/acl and the client-id plugin services/vmm_clientid.c), and TLS
//! handshakes with `openssl s_client`. Every refusal is paired with a positive control (the same
//! step allowed, and seen), so that a test fails when the check it relies on sees nothing.
//!
//! Each test works under a topic prefix of its own; client ids carry it too, so tests run in
//! parallel (and beside other test binaries) without taking over each other's sessions.

mod common;

use common::secure::{self, ALICE, BOB, BRIDGE_USER, MALLORY};
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, Incoming, MqttOptions, Publish, QoS};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long one step (a CONNACK, a SUBACK, a message) may take.
const STEP: Duration = Duration::from_secs(5);

/// A name of its own for each test: the topic prefix and the tail of its client ids.
fn tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    format!("tb{}x{}x{}", std::process::id(), ms % 100_000, NEXT.fetch_add(1, Ordering::SeqCst))
}

enum Got {
    Message(Publish),
    SubAck(Vec<rumqttc::SubscribeReasonCode>),
    PubAck,
    /// The connection ended (the broker closed it: a takeover, or an error).
    Closed(String),
}

/// One MQTT 3.1.1 connection to the secure TCP listener, its event loop polled by a task of its
/// own (publishing from the task that polls would deadlock when the request channel fills).
struct Conn {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Got>,
    /// Messages that arrived while a step waited for an acknowledgement.
    early: VecDeque<Publish>,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Connects as `user` with client id `id`; the broker's refusal is the error.
/// (The error is boxed: rumqttc's is large.)
async fn try_connect(id: &str, user: &str, password: &str) -> Result<Conn, Box<ConnectionError>> {
    let mut options = MqttOptions::new(id, secure::HOST, secure::mqtt_port());
    options.set_credentials(user, password).set_keep_alive(Duration::from_secs(30)).set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let connected: Result<(), Box<ConnectionError>> = tokio::time::timeout(STEP, async {
        loop {
            match eventloop.poll().await.map_err(Box::new)? {
                Event::Incoming(Incoming::ConnAck(_)) => return Ok(()),
                _ => continue,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no CONNACK for {id} within {STEP:?}"));
    connected?;
    let (tx, events) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let got = match eventloop.poll().await {
                Ok(Event::Incoming(Incoming::Publish(p))) => Got::Message(p),
                Ok(Event::Incoming(Incoming::SubAck(s))) => Got::SubAck(s.return_codes),
                Ok(Event::Incoming(Incoming::PubAck(_))) => Got::PubAck,
                Ok(_) => continue,
                Err(e) => {
                    let _ = tx.send(Got::Closed(e.to_string()));
                    return;
                }
            };
            if tx.send(got).is_err() {
                return;
            }
        }
    });
    Ok(Conn { client, events, early: VecDeque::new(), task })
}

async fn connect(id: &str, user: &str, password: &str) -> Conn {
    try_connect(id, user, password).await.unwrap_or_else(|e| panic!("{user} as {id} was refused: {e}"))
}

async fn bridge_user(id: &str) -> Conn {
    connect(id, BRIDGE_USER, &secure::bridge_password()).await
}

/// The broker refused the connection with CONNACK "not authorized" (what Mosquitto answers to
/// a wrong password and to the plugin alike) or "bad user name or password".
fn assert_refused(result: Result<Conn, Box<ConnectionError>>, what: &str) {
    match result.map_err(|e| *e) {
        Err(ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword,
        )) => {}
        Err(e) => panic!("{what}: expected CONNACK not authorized, got the error {e}"),
        Ok(_) => panic!("{what}: the broker accepted it"),
    }
}

impl Conn {
    async fn next(&mut self, what: &str) -> Got {
        tokio::time::timeout(STEP, self.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{what}: nothing within {STEP:?}"))
            .unwrap_or_else(|| panic!("{what}: the connection's task ended"))
    }

    /// Subscribes (QoS 1) and waits for the SUBACK.
    async fn subscribe(&mut self, filters: &[&str]) {
        let subs = filters.iter().map(|f| rumqttc::SubscribeFilter::new(f.to_string(), QoS::AtLeastOnce));
        self.client.subscribe_many(subs).await.unwrap();
        loop {
            match self.next("SUBACK").await {
                Got::SubAck(codes) => return assert_eq!(codes.len(), filters.len()),
                Got::Message(p) => self.early.push_back(p),
                Got::PubAck => {}
                Got::Closed(e) => panic!("closed while subscribing: {e}"),
            }
        }
    }

    /// Publishes with QoS 1 and waits for the PUBACK: the broker has handled the message (sent
    /// it to the subscribers' queues, or dropped it) by then. Mosquitto acknowledges a publish
    /// its ACL denies too (MQTT 3.1.1 has no way to say no).
    async fn publish(&mut self, topic: &str, payload: &str, retain: bool) {
        self.client.publish(topic, QoS::AtLeastOnce, retain, payload.to_string()).await.unwrap();
        loop {
            match self.next("PUBACK").await {
                Got::PubAck => return,
                Got::Message(p) => self.early.push_back(p),
                Got::SubAck(_) => {}
                Got::Closed(e) => panic!("closed while publishing on {topic}: {e}"),
            }
        }
    }

    /// Every message until (and with) the one whose payload is `marker`.
    async fn until(&mut self, marker: &str) -> Vec<Publish> {
        let mut got = Vec::new();
        loop {
            let p = match self.early.pop_front() {
                Some(p) => p,
                None => match self.next(&format!("the message {marker:?}")).await {
                    Got::Message(p) => p,
                    Got::Closed(e) => panic!("closed while waiting for {marker:?} (after {got:?}): {e}"),
                    _ => continue,
                },
            };
            let done = p.payload.as_ref() == marker.as_bytes();
            got.push(p);
            if done {
                return got;
            }
        }
    }

    /// Waits (up to [`STEP`]) for the broker to close this connection.
    async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + STEP;
        while let Ok(Some(got)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            if let Got::Closed(_) = got {
                return true;
            }
        }
        false
    }
}

fn topics(got: &[Publish]) -> Vec<&str> {
    got.iter().map(|p| p.topic.as_str()).collect()
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_refused() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let id = format!("alice:{t}");
    assert_refused(try_connect(&id, ALICE.0, "wrong").await, "alice with a wrong password");
    assert_refused(try_connect(&id, ALICE.0, BOB.1).await, "alice with bob's password");
    assert_refused(try_connect(&format!("nobody:{t}"), "nobody", "x").await, "an unknown user");
    let mut anonymous = MqttOptions::new(format!("anon-{t}"), secure::HOST, secure::mqtt_port());
    anonymous.set_keep_alive(Duration::from_secs(30));
    let (_client, mut eventloop) = AsyncClient::new(anonymous, 10);
    let first = tokio::time::timeout(STEP, eventloop.poll()).await.expect("an answer to an anonymous CONNECT");
    assert!(
        matches!(first, Err(ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized))),
        "an anonymous client: {first:?}"
    );
    // The control: the right password is accepted.
    connect(&id, ALICE.0, ALICE.1).await;
}

#[tokio::test]
async fn a_client_id_of_another_identity_is_refused_and_its_owner_stays_connected() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let owned = format!("alice:{t}");
    let reply = format!("{t}/v1/reply/alice");
    let mut alice = connect(&owned, ALICE.0, ALICE.1).await;
    alice.subscribe(&[&reply]).await;
    for id in ["alice", "alice:x", owned.as_str()] {
        assert_refused(try_connect(id, MALLORY.0, MALLORY.1).await, &format!("mallory as {id:?}"));
    }
    // Not namespaced: a client id that merely begins with the user name is not alice's.
    assert_refused(try_connect(&format!("alice{t}"), ALICE.0, ALICE.1).await, "alice as \"alice<tag>\"");
    assert_refused(try_connect(&format!("mallory-{t}"), ALICE.0, ALICE.1).await, "alice as mallory's id");
    // Alice was not kicked off: she still receives what is sent to her.
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.publish(&reply, "still here", false).await;
    assert_eq!(topics(&alice.until("still here").await), [reply.as_str()]);
    // The control: a session that takes over alice's client id does kick her out, and this test
    // would see it.
    let _again = connect(&owned, ALICE.0, ALICE.1).await;
    assert!(alice.closed().await, "a takeover by alice's own second connection closes the first");
}

#[tokio::test]
async fn no_client_can_take_a_bridges_client_id() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let bridge_id = format!("vmm-bridge:{t}");
    let mut bridge = bridge_user(&bridge_id).await;
    bridge.subscribe(&[&format!("{t}/v1/req/+/+")]).await;
    assert_refused(try_connect(&bridge_id, ALICE.0, ALICE.1).await, "alice as the bridge's client id");
    assert_refused(try_connect("vmm-bridge", ALICE.0, ALICE.1).await, "alice as \"vmm-bridge\"");
    assert_refused(try_connect(&bridge_id, BRIDGE_USER, "wrong").await, "the bridge's user with a wrong password");
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    alice.publish(&format!("{t}/v1/req/alice/tasks"), "request", false).await;
    assert_eq!(topics(&bridge.until("request").await), [format!("{t}/v1/req/alice/tasks")], "the bridge still serves");
}

#[tokio::test]
async fn two_sessions_of_one_identity_coexist() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let reply = format!("{t}/v1/reply/alice");
    let mut a = connect(&format!("alice:a-{t}"), ALICE.0, ALICE.1).await;
    let mut b = connect(&format!("alice:b-{t}"), ALICE.0, ALICE.1).await;
    a.subscribe(&[&reply]).await;
    b.subscribe(&[&reply]).await;
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.publish(&reply, "to both", false).await;
    assert_eq!(topics(&a.until("to both").await), [reply.as_str()]);
    assert_eq!(topics(&b.until("to both").await), [reply.as_str()]);
}

#[tokio::test]
async fn a_client_publishes_only_requests_failures_and_loads_of_its_own() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    // What a bridge reads, and what a consumer (bob) reads: each would see a forbidden message.
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.subscribe(&[&format!("{t}/v1/req/+/+"), &format!("{t}/v1/fail/+/+"), &format!("{t}/v1/load/+/+")]).await;
    let mut bob = connect(&format!("bob:{t}"), BOB.0, BOB.1).await;
    bob.subscribe(&[&format!("{t}/v1/evt/#"), &format!("{t}/v1/bridges/+"), &format!("{t}/v1/reply/bob")]).await;
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    let forbidden = [
        format!("{t}/v1/req/bob/tasks"),
        format!("{t}/v1/fail/bob/tasks"),
        format!("{t}/v1/load/bob/tasks"),
        format!("{t}/v1/req/alice/tasks/deeper"),
        format!("{t}/v1/evt/tasks/x"),
        format!("{t}/v1/bridges/x"),
        format!("{t}/v1/reply/bob"),
    ];
    for topic in &forbidden {
        alice.publish(topic, "forged", false).await;
    }
    // The controls: alice's own request, failure and load reach the bridge; what the bridge
    // publishes reaches bob. All come after the forged ones, which the broker had handled (and
    // would have queued first) when it acknowledged them.
    let own = ["req", "fail", "load"].map(|kind| format!("{t}/v1/{kind}/alice/tasks"));
    for topic in &own {
        alice.publish(topic, topic, false).await;
    }
    let got = bridge.until(&own[2]).await;
    assert_eq!(topics(&got), own.iter().map(String::as_str).collect::<Vec<_>>(), "the bridge got only alice's own");
    bridge.publish(&format!("{t}/v1/evt/tasks/x"), "event", false).await;
    bridge.publish(&format!("{t}/v1/bridges/x"), "presence", false).await;
    bridge.publish(&format!("{t}/v1/reply/bob"), "reply", false).await;
    let got = bob.until("reply").await;
    assert!(got.iter().all(|p| p.payload.as_ref() != b"forged"), "bob got a forged message: {:?}", topics(&got));
    assert_eq!(got.len(), 3, "bob got the bridge's three: {:?}", topics(&got));
}

#[tokio::test]
async fn a_client_reads_no_one_elses_replies_even_with_a_wildcard() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    // Mosquitto grants every subscription and checks each delivery against the ACL.
    alice.subscribe(&[&format!("{t}/v1/reply/bob"), "#"]).await;
    let mut bob = connect(&format!("bob:{t}"), BOB.0, BOB.1).await;
    bob.subscribe(&[&format!("{t}/v1/reply/bob")]).await;
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.publish(&format!("{t}/v1/reply/bob"), "for bob", false).await;
    bridge.publish(&format!("{t}/v1/reply/alice"), "for alice", false).await;
    // The control: bob got his reply.
    assert_eq!(topics(&bob.until("for bob").await), [format!("{t}/v1/reply/bob")]);
    let got = alice.until("for alice").await;
    // Through `#`, alice sees other tests' events and presences too, but nothing her ACL denies.
    for p in &got {
        let levels: Vec<&str> = p.topic.split('/').collect();
        let allowed =
            matches!(levels.as_slice(), [_, "v1", "reply", "alice"] | [_, "v1", "bridges", _] | [_, "v1", "evt", ..]);
        assert!(allowed, "alice read {} ({:?})", p.topic, p.payload);
    }
}

#[tokio::test]
async fn a_client_cannot_publish_a_retained_message() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let request = format!("{t}/v1/req/alice/tasks");
    let presence = format!("{t}/v1/bridges/b1");
    let mut live = bridge_user(&format!("vmm-bridge:live-{t}")).await;
    live.subscribe(&[&format!("{t}/v1/req/+/+")]).await;
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    alice.publish(&request, "retained", true).await;
    alice.publish(&request, "not retained", false).await;
    // Denied, not just stripped of its flag: a live subscriber does not get it either.
    assert_eq!(live.until("not retained").await.len(), 1, "the retained request was delivered");
    // The control: the bridges' user may retain (its presence), and a later subscriber gets that.
    live.publish(&presence, "presence", true).await;
    let mut later = bridge_user(&format!("vmm-bridge:later-{t}")).await;
    later.subscribe(&[&format!("{t}/v1/req/+/+"), &format!("{t}/v1/bridges/+")]).await;
    alice.publish(&request, "after", false).await;
    let got = later.until("after").await;
    let retained: Vec<_> = got.iter().filter(|p| p.retain).map(|p| (p.topic.as_str(), p.payload.clone())).collect();
    assert_eq!(retained, [(presence.as_str(), "presence".into())], "only the bridge's presence was stored");
    live.publish(&presence, "", true).await;
}

/// Thousands of connections that never send CONNECT (Mosquitto 2.0.11 closes them only after
/// 90 s) do not keep others out: the listener's max_connections (4096) and the broker's
/// descriptor limit hold them, and a new client is served at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_silent_sockets_do_not_keep_a_client_out() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let started = Instant::now();
    let mut silent = Vec::with_capacity(2000);
    for _ in 0..2000 {
        silent
            .push(tokio::net::TcpStream::connect((secure::HOST, secure::mqtt_port())).await.expect("a TCP connection"));
    }
    let opened = started.elapsed();
    let started = Instant::now();
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    let reply = format!("{t}/v1/reply/alice");
    alice.subscribe(&[&reply]).await;
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.publish(&reply, "served", false).await;
    alice.until("served").await;
    let served = started.elapsed();
    assert!(served < Duration::from_secs(3), "two clients took {served:?} beside 2,000 silent sockets");
    // The broker holds them (none was closed): they were really there.
    let mut buf = [0u8; 1];
    let open = silent
        .iter()
        .filter(|s| matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock))
        .count();
    assert_eq!(open, 2000, "opened in {opened:?}; the broker closed some");
    drop(silent);
}

/// Runs `openssl s_client` against `port` (stdin empty: it handshakes, then leaves); its exit
/// status says whether the handshake and the verification succeeded.
fn s_client(port: u16, args: &[&str]) -> (bool, String) {
    let connect = format!("{}:{port}", secure::HOST);
    let mut child = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &connect, "-verify_return_error", "-brief"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (the secure profile needs it too)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("openssl s_client on port {port} did not finish within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn path(name: &str) -> String {
    secure::file(name).to_str().unwrap().to_string()
}

#[test]
fn tls_listeners_present_the_profiles_certificate_and_a_wrong_ca_refuses_it() {
    let Some(_) = secure::require() else { return };
    let (ca, wrong) = (path("ca.crt"), path("wrong-ca.crt"));
    for (what, port) in
        [("MQTTS", secure::mqtts_port()), ("WSS", secure::wss_port()), ("FerretDB TLS", secure::mongo_tls_port())]
    {
        let (ok, out) = s_client(port, &["-CAfile", &ca, "-verify_ip", secure::HOST]);
        assert!(ok, "{what} on {port}: the handshake with ca.crt failed: {out}");
        let (ok, out) = s_client(port, &["-CAfile", &ca, "-verify_hostname", "localhost"]);
        assert!(ok, "{what} on {port}: the certificate does not name localhost: {out}");
        let (ok, out) = s_client(port, &["-CAfile", &wrong]);
        assert!(!ok, "{what} on {port}: a client trusting another CA accepted the server: {out}");
    }
}

#[test]
fn the_client_certificate_listener_refuses_a_client_without_one() {
    let Some(_) = secure::require() else { return };
    let port = secure::mqtts_cert_port();
    let ca = path("ca.crt");
    // TLS 1.2, where the server's refusal ends the handshake itself (in 1.3 it comes after).
    let (ok, out) = s_client(port, &["-CAfile", &ca, "-tls1_2"]);
    assert!(!ok, "no client certificate was accepted: {out}");
    let (ok, out) =
        s_client(port, &["-CAfile", &ca, "-tls1_2", "-cert", &path("client.crt"), "-key", &path("client.key")]);
    assert!(ok, "the profile's client certificate was refused: {out}");
}

/// The CONNACK of an MQTT CONNECT over WebSockets (RFC 6455, by hand: the tests have no
/// WebSocket client) to the secure WebSockets listener; `Accepted` or the refusal.
async fn ws_connack(id: &str, user: &str, password: &str) -> vmm_engine::mqtt::ConnectReturnCode {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use vmm_engine::mqtt::{Session, SessionEvent, SessionOptions};
    let port = secure::ws_port();
    let mut s = tokio::net::TcpStream::connect((secure::HOST, port)).await.expect("the WebSockets listener");
    let upgrade = format!(
        "GET /mqtt HTTP/1.1\r\nHost: {}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
        secure::HOST
    );
    s.write_all(upgrade.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(s.read_u8().await.expect("the HTTP upgrade answer"));
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    let mut options = SessionOptions::new(id);
    options.username = Some(user.into());
    options.password = Some(password.as_bytes().to_vec());
    let mut session = Session::new(options).unwrap();
    let connect = session.connect(0);
    assert!(connect.len() < 126, "one short frame");
    // A binary frame, masked (as a client must) with the key 0: the payload as is.
    let mut frame = vec![0x82, 0x80 | connect.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(&connect);
    s.write_all(&frame).await.unwrap();
    loop {
        // The broker's frames are unmasked; a CONNACK is short.
        let (opcode, len) = (s.read_u8().await.unwrap() & 0x0f, s.read_u8().await.unwrap());
        assert!(opcode != 0x8, "the broker closed the WebSocket without a CONNACK");
        assert!(len < 126, "a short frame");
        let mut payload = vec![0; len as usize];
        s.read_exact(&mut payload).await.unwrap();
        session.handle_bytes(0, &payload);
        match session.poll_event() {
            Some(SessionEvent::Connected { .. }) => return vmm_engine::mqtt::ConnectReturnCode::Accepted,
            Some(SessionEvent::ConnectionRefused(code)) => return code,
            _ => continue,
        }
    }
}

#[tokio::test]
async fn the_websockets_listener_checks_passwords_and_client_ids_too() {
    use vmm_engine::mqtt::ConnectReturnCode::{Accepted, NotAuthorized};
    let Some(_) = secure::require() else { return };
    let t = tag();
    let id = format!("alice:{t}");
    let answer = |id: String, user: &'static str, password: &'static str| async move {
        tokio::time::timeout(STEP, ws_connack(&id, user, password)).await.expect("a CONNACK in time")
    };
    assert_eq!(answer(id.clone(), ALICE.0, "wrong").await, NotAuthorized, "a wrong password");
    assert_eq!(answer(id.clone(), MALLORY.0, MALLORY.1).await, NotAuthorized, "mallory as alice");
    assert_eq!(answer(id, ALICE.0, ALICE.1).await, Accepted, "the control: alice");
}

/// The anonymous development listener (`VMM_MQTT_PORT`, else 1883): a broker of its own.
fn anonymous_port() -> u16 {
    std::env::var("VMM_MQTT_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(1883)
}

#[tokio::test]
async fn nothing_published_on_the_anonymous_broker_reaches_the_secure_profile() {
    let Some(_) = secure::require() else { return };
    let t = tag();
    let mut bridge = bridge_user(&format!("vmm-bridge:{t}")).await;
    bridge.subscribe(&[&format!("{t}/v1/req/+/+")]).await;
    // Anyone may connect to the anonymous listener and publish as bob there: QoS 1, acknowledged.
    let mut options = MqttOptions::new(format!("bob:{t}"), secure::HOST, anonymous_port());
    options.set_clean_session(true);
    let (anonymous, mut eventloop) = AsyncClient::new(options, 10);
    anonymous.publish(format!("{t}/v1/req/bob/tasks"), QoS::AtLeastOnce, false, "forged").await.unwrap();
    tokio::time::timeout(STEP, async {
        loop {
            if let Event::Incoming(Incoming::PubAck(_)) = eventloop.poll().await.expect("the anonymous broker") {
                return;
            }
        }
    })
    .await
    .expect("the anonymous broker acknowledged the forged request");
    // The control: alice's own request, published after it, reaches the bridge alone.
    let mut alice = connect(&format!("alice:{t}"), ALICE.0, ALICE.1).await;
    let own = format!("{t}/v1/req/alice/tasks");
    alice.publish(&own, &own, false).await;
    let got = bridge.until(&own).await;
    assert_eq!(topics(&got), [own.as_str()], "the bridge got only alice's request");
}
