//! Our MQTT session against a real broker: Mosquitto at 127.0.0.1:1883 (`make services`), or
//! whatever `VMM_MQTT_URL` (`mqtt://host:port`) names. The shell here is a blocking `TcpStream`
//! polled with a short read timeout; every wait has a deadline, none is a fixed sleep.
#![cfg(not(target_arch = "wasm32"))]

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use vmm_engine::mqtt::{QoS, Session, SessionEvent, SessionOptions, SubscribeReturnCode};

const WAIT: Duration = Duration::from_secs(10);

fn broker() -> String {
    let url = std::env::var("VMM_MQTT_URL").unwrap_or_else(|_| "mqtt://127.0.0.1:1883".into());
    let address = url.strip_prefix("mqtt://").unwrap_or(&url);
    address.trim_end_matches('/').to_owned()
}

/// A unique name for this process and test, so parallel runs never share ids or topics.
fn unique(what: &str) -> String {
    format!("vmm-client-test-{what}-{}", std::process::id())
}

/// A session driven over TCP.
struct Client {
    stream: TcpStream,
    session: Session,
    start: Instant,
    pings_sent: usize,
}

impl Client {
    fn connect(options: SessionOptions) -> Client {
        let address = broker().to_socket_addrs().expect("broker address").next().expect("an address");
        let mut stream = TcpStream::connect_timeout(&address, WAIT)
            .unwrap_or_else(|e| panic!("no broker at {address} ({e}); run `make services`"));
        stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut session = Session::new(options).unwrap();
        let start = Instant::now();
        stream.write_all(&session.connect(0)).unwrap();
        let mut client = Client { stream, session, start, pings_sent: 0 };
        let event = client.wait_for(|e| matches!(e, SessionEvent::Connected { .. }));
        assert_eq!(event, SessionEvent::Connected { session_present: false });
        client
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Sends what the session queued, reads what arrived (for up to 20 ms), runs its timer.
    fn pump(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            if bytes == [0xC0, 0x00] {
                self.pings_sent += 1;
            }
            self.stream.write_all(&bytes).unwrap();
        }
        let mut buffer = [0u8; 4096];
        match self.stream.read(&mut buffer) {
            Ok(0) => panic!("the broker closed the connection"),
            Ok(n) => self.session.handle_bytes(self.now(), &buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read failed: {e}"),
        }
        if self.session.poll_timeout().is_some_and(|at| at <= self.now()) {
            self.session.handle_timeout(self.now());
        }
    }

    /// Pumps until an event matches, failing on `Dead`, a protocol error or the deadline.
    fn wait_for(&mut self, mut wanted: impl FnMut(&SessionEvent) -> bool) -> SessionEvent {
        let deadline = Instant::now() + WAIT;
        loop {
            while let Some(event) = self.session.poll_event() {
                if wanted(&event) {
                    return event;
                }
                assert!(
                    !matches!(
                        event,
                        SessionEvent::Dead | SessionEvent::ProtocolError(_) | SessionEvent::ConnectionRefused(_)
                    ),
                    "connection lost: {event:?}"
                );
            }
            assert!(Instant::now() < deadline, "no matching event within {WAIT:?}");
            self.pump();
        }
    }

    fn close(mut self) {
        self.pump();
        let bytes = self.session.disconnect();
        self.stream.write_all(&bytes).unwrap();
    }
}

#[test]
fn a_qos1_message_travels_between_two_sessions_through_mosquitto() {
    let nanos = std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_nanos();
    let topic = format!("{}/{nanos}", unique("topic"));
    let mut subscriber = Client::connect(SessionOptions::new(unique("sub")));
    let mut publisher = Client::connect(SessionOptions::new(unique("pub")));

    let sub_id = subscriber.session.subscribe(&[(topic.as_str(), QoS::AtLeastOnce)]).unwrap();
    let subscribed = subscriber.wait_for(|e| matches!(e, SessionEvent::Subscribed { .. }));
    let granted = vec![SubscribeReturnCode::Success(QoS::AtLeastOnce)];
    assert_eq!(subscribed, SessionEvent::Subscribed { id: sub_id, granted });

    let payload = b"{\"hello\":\"mosquitto\"}".to_vec();
    let pub_id = publisher.session.publish(&topic, &payload, QoS::AtLeastOnce).unwrap().expect("a QoS 1 id");
    let published = publisher.wait_for(|e| matches!(e, SessionEvent::Published { .. }));
    assert_eq!(published, SessionEvent::Published { id: pub_id });
    assert_eq!(publisher.session.in_flight(), 0);

    let message = subscriber.wait_for(|e| matches!(e, SessionEvent::Message { .. }));
    assert_eq!(message, SessionEvent::Message { topic, payload, retain: false });

    subscriber.close();
    publisher.close();
}

#[test]
fn keep_alive_pings_are_answered_by_mosquitto() {
    let mut options = SessionOptions::new(unique("ping"));
    options.keep_alive_secs = 1;
    let mut client = Client::connect(options);
    let deadline = Instant::now() + WAIT;
    // Two PINGREQs sent and the first answered (else the session would report Dead at 1.5 s).
    while client.pings_sent < 2 {
        assert!(Instant::now() < deadline, "no second ping within {WAIT:?}");
        client.pump();
        assert_eq!(client.session.poll_event(), None, "no event expected while idle");
    }
    assert!(client.session.is_connected());
    client.close();
}
