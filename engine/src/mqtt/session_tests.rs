//! Tests of the session with simulated time: the broker's side is written as bytes.

use super::*;
use crate::mqtt::codec::{decode, encode};

const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const CONNACK_RESUMED: [u8; 4] = [0x20, 0x02, 0x01, 0x00];

fn options() -> SessionOptions {
    let mut options = SessionOptions::new("test-client");
    options.keep_alive_secs = 10;
    options
}

/// A session whose connection was accepted at `t = 0`, with its events and bytes drained.
fn connected() -> Session {
    let mut session = Session::new(options()).unwrap();
    session.connect(0);
    session.handle_bytes(0, &CONNACK);
    assert_eq!(events(&mut session), [SessionEvent::Connected { session_present: false }]);
    assert!(sent(&mut session).is_empty());
    session
}

fn events(session: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn sent(session: &mut Session) -> Vec<Packet> {
    std::iter::from_fn(|| session.poll_transmit())
        .map(|bytes| {
            let (packet, used) = decode(&bytes).unwrap().unwrap();
            assert_eq!(used, bytes.len(), "one packet per transmit");
            packet
        })
        .collect()
}

fn publish_bytes(topic: &str, payload: &[u8], pkid: Option<u16>) -> Vec<u8> {
    let qos = if pkid.is_some() { QoS::AtLeastOnce } else { QoS::AtMostOnce };
    encode(&Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        pkid,
        payload: payload.into(),
    }))
    .unwrap()
}

fn sent_publish(session: &mut Session) -> Publish {
    match sent(&mut *session).as_slice() {
        [Packet::Publish(publish)] => publish.clone(),
        other => panic!("expected one PUBLISH, got {other:?}"),
    }
}

#[test]
fn connect_returns_the_connect_packet_of_the_options() {
    let mut options = options();
    options.username = Some("u".into());
    options.password = Some(b"p".to_vec());
    let mut session = Session::new(options).unwrap();
    let connect = Connect {
        client_id: "test-client".into(),
        clean_session: true,
        keep_alive: 10,
        username: Some("u".into()),
        password: Some(b"p".to_vec()),
    };
    assert_eq!(decode(&session.connect(0)).unwrap().unwrap().0, Packet::Connect(connect));
    assert!(!session.is_connected());
}

#[test]
fn options_that_cannot_make_a_connect_are_refused() {
    let mut options = options();
    options.password = Some(b"p".to_vec());
    assert_eq!(Session::new(options).unwrap_err(), SessionError::Codec(CodecError::InvalidConnectFlags(0x40)));
}

#[test]
fn publish_qos1_is_sent_and_reported_published_on_its_puback() {
    let mut session = connected();
    let id = session.publish("a/b", b"hi", QoS::AtLeastOnce).unwrap().unwrap();
    assert_eq!(id, 1);
    let publish = sent_publish(&mut session);
    assert_eq!((publish.topic.as_str(), publish.payload.as_slice(), publish.pkid), ("a/b", &b"hi"[..], Some(1)));
    assert_eq!(session.in_flight(), 1);
    session.handle_bytes(5, &[0x40, 0x02, 0x00, 0x01]);
    assert_eq!(events(&mut session), [SessionEvent::Published { id: 1 }]);
    assert_eq!(session.in_flight(), 0);
}

#[test]
fn publish_qos0_is_sent_without_id_and_refused_while_disconnected() {
    let mut session = connected();
    assert_eq!(session.publish("a", b"x", QoS::AtMostOnce), Ok(None));
    assert_eq!(sent_publish(&mut session).pkid, None);
    session.disconnected();
    assert_eq!(session.publish("a", b"x", QoS::AtMostOnce), Err(SessionError::NotConnected));
}

#[test]
fn publish_to_an_invalid_topic_is_refused_without_holding_an_id() {
    let mut session = connected();
    assert_eq!(session.publish("a/#", b"", QoS::AtLeastOnce), Err(SessionError::Codec(CodecError::InvalidTopicName)));
    assert_eq!(session.in_flight(), 0);
    assert!(sent(&mut session).is_empty());
}

#[test]
fn puback_for_an_unknown_id_is_ignored() {
    let mut session = connected();
    let id = session.subscribe(&[("a", QoS::AtLeastOnce)]).unwrap();
    session.handle_bytes(1, &[0x40, 0x02, 0x00, 0x09]);
    session.handle_bytes(1, &[0x40, 0x02, 0x00, id as u8]); // a PUBACK for our SUBSCRIBE's id
    assert!(events(&mut session).is_empty());
    assert!(session.is_connected());
    assert_eq!(session.in_flight(), 1);
}

#[test]
fn incoming_qos1_publish_is_delivered_and_acknowledged_with_a_puback() {
    let mut session = connected();
    session.handle_bytes(1, &publish_bytes("x/y", b"payload", Some(42)));
    assert_eq!(
        events(&mut session),
        [SessionEvent::Message { topic: "x/y".into(), payload: b"payload".to_vec(), retain: false }]
    );
    assert_eq!(sent(&mut session), [Packet::PubAck(42)]);
}

#[test]
fn incoming_qos0_publish_is_delivered_without_an_acknowledgement() {
    let mut session = connected();
    session.handle_bytes(1, &publish_bytes("x", b"", None));
    assert_eq!(events(&mut session), [SessionEvent::Message { topic: "x".into(), payload: vec![], retain: false }]);
    assert!(sent(&mut session).is_empty());
}

#[test]
fn packets_split_or_joined_across_reads_are_all_handled() {
    let mut session = connected();
    let mut stream = publish_bytes("t", b"1", Some(1));
    stream.extend(publish_bytes("t", b"2", None));
    stream.extend([0xD0, 0x00]);
    for byte in &stream {
        session.handle_bytes(1, std::slice::from_ref(byte));
    }
    let expected = [
        SessionEvent::Message { topic: "t".into(), payload: b"1".to_vec(), retain: false },
        SessionEvent::Message { topic: "t".into(), payload: b"2".to_vec(), retain: false },
    ];
    assert_eq!(events(&mut session), expected);
    session.handle_bytes(2, &[stream.clone(), stream].concat());
    assert_eq!(events(&mut session), [expected.clone(), expected].concat());
}

#[test]
fn subscribe_reports_the_granted_codes_including_failures() {
    let mut session = connected();
    let id = session.subscribe(&[("a/#", QoS::AtLeastOnce), ("forbidden", QoS::AtMostOnce)]).unwrap();
    assert_eq!(
        sent(&mut session),
        [Packet::Subscribe(Subscribe {
            pkid: id,
            filters: vec![("a/#".into(), QoS::AtLeastOnce), ("forbidden".into(), QoS::AtMostOnce)]
        })]
    );
    session.handle_bytes(1, &[0x90, 0x04, 0x00, id as u8, 0x01, 0x80]);
    let granted = vec![SubscribeReturnCode::Success(QoS::AtLeastOnce), SubscribeReturnCode::Failure];
    assert_eq!(events(&mut session), [SessionEvent::Subscribed { id, granted }]);
}

#[test]
fn unsubscribe_is_reported_on_its_unsuback() {
    let mut session = connected();
    let id = session.unsubscribe(&["a/#"]).unwrap();
    assert_eq!(sent(&mut session), [Packet::Unsubscribe(Unsubscribe { pkid: id, filters: vec!["a/#".into()] })]);
    session.handle_bytes(1, &[0xB0, 0x02, 0x00, id as u8]);
    assert_eq!(events(&mut session), [SessionEvent::Unsubscribed { id }]);
}

#[test]
fn packet_ids_skip_ids_still_in_flight_when_they_wrap() {
    let mut session = connected();
    assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Ok(Some(1)));
    assert_eq!(session.subscribe(&[("t", QoS::AtLeastOnce)]), Ok(2));
    assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Ok(Some(3)));
    session.handle_bytes(1, &[0x40, 0x02, 0x00, 0x03]); // 3 is free again
    session.set_next_id(u16::MAX);
    assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Ok(Some(u16::MAX)));
    assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Ok(Some(3)), "0 is never used, 1 and 2 are in flight");
}

#[test]
fn packet_ids_run_out_only_when_all_65535_are_in_flight() {
    let mut session = Session::new(options()).unwrap();
    for expected in 1..=u16::MAX {
        assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Ok(Some(expected)));
    }
    assert_eq!(session.publish("t", b"", QoS::AtLeastOnce), Err(SessionError::PacketIdsExhausted));
    assert_eq!(session.subscribe(&[("t", QoS::AtMostOnce)]), Err(SessionError::PacketIdsExhausted));
}

#[test]
fn requests_made_before_the_connack_are_sent_after_it_in_order() {
    let mut session = Session::new(options()).unwrap();
    let sub = session.subscribe(&[("in", QoS::AtLeastOnce)]).unwrap();
    session.connect(0);
    let id = session.publish("out", b"1", QoS::AtLeastOnce).unwrap().unwrap();
    assert!(sent(&mut session).is_empty(), "nothing before the CONNACK");
    session.handle_bytes(1, &CONNACK);
    let packets = sent(&mut session);
    assert!(matches!(&packets[..], [Packet::Subscribe(s), Packet::Publish(p)] if s.pkid == sub && p.pkid == Some(id)));
}

#[test]
fn unacknowledged_publishes_are_resent_as_new_publishes_after_reconnecting_without_a_session() {
    let mut session = connected();
    let id = session.publish("t", b"1", QoS::AtLeastOnce).unwrap().unwrap();
    let first = sent_publish(&mut session);
    session.disconnected();
    assert!(!session.is_connected());
    assert_eq!(session.in_flight(), 1, "kept for the next connection");
    session.connect(100);
    session.handle_bytes(101, &CONNACK);
    assert_eq!(events(&mut session), [SessionEvent::Connected { session_present: false }]);
    let again = sent_publish(&mut session);
    assert_eq!(again, first, "same id, DUP clear: a new publication in a new session");
    session.handle_bytes(102, &[0x40, 0x02, 0x00, id as u8]);
    assert_eq!(events(&mut session), [SessionEvent::Published { id }]);
}

#[test]
fn unacknowledged_publishes_are_resent_with_dup_when_the_session_was_resumed() {
    let mut session = connected();
    session.publish("t", b"1", QoS::AtLeastOnce).unwrap();
    sent(&mut session);
    session.disconnected();
    let never_sent = session.publish("t", b"2", QoS::AtLeastOnce).unwrap();
    session.connect(100);
    session.handle_bytes(101, &CONNACK_RESUMED);
    assert_eq!(events(&mut session), [SessionEvent::Connected { session_present: true }]);
    let packets = sent(&mut session);
    let dups: Vec<(Option<u16>, bool)> = packets
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => (p.pkid, p.dup),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(dups, [(Some(1), true), (never_sent, false)]);
}

#[test]
fn keep_alive_sends_a_pingreq_after_the_idle_period_and_expects_an_answer() {
    let mut session = connected();
    assert_eq!(session.poll_timeout(), Some(10_000));
    session.handle_timeout(9_999);
    assert!(sent(&mut session).is_empty());
    session.handle_timeout(10_000);
    assert_eq!(sent(&mut session), [Packet::PingReq]);
    assert_eq!(session.poll_timeout(), Some(15_000), "half the keep-alive to answer");
    session.handle_bytes(10_050, &[0xD0, 0x00]);
    assert_eq!(session.poll_timeout(), Some(20_000));
    session.handle_timeout(15_000);
    assert!(events(&mut session).is_empty());
    assert!(session.is_connected());
}

#[test]
fn keep_alive_pings_when_only_one_direction_is_idle() {
    let mut session = connected();
    // The broker keeps talking, we stay silent: we must still send something within 10 s.
    for t in (1_000..10_000).step_by(1_000) {
        session.handle_bytes(t, &publish_bytes("t", b"", None));
    }
    session.handle_timeout(10_000);
    assert_eq!(sent(&mut session), [Packet::PingReq]);
}

#[test]
fn a_missing_pingresp_reports_the_connection_dead_and_keeps_requests() {
    let mut session = connected();
    session.publish("t", b"", QoS::AtLeastOnce).unwrap();
    sent(&mut session);
    session.handle_timeout(10_000);
    assert_eq!(sent(&mut session), [Packet::PingReq]);
    session.handle_timeout(14_999);
    assert!(events(&mut session).is_empty());
    session.handle_timeout(15_000);
    assert_eq!(events(&mut session), [SessionEvent::Dead]);
    assert!(!session.is_connected());
    assert_eq!(session.poll_timeout(), None);
    assert_eq!(session.in_flight(), 1);
}

#[test]
fn traffic_after_a_pingreq_postpones_the_dead_verdict() {
    let mut session = connected();
    session.handle_timeout(10_000);
    session.handle_bytes(14_000, &publish_bytes("t", b"", None));
    assert_eq!(session.poll_timeout(), Some(19_000));
    session.handle_timeout(15_000);
    assert!(session.is_connected());
}

#[test]
fn keep_alive_zero_never_pings() {
    let mut options = options();
    options.keep_alive_secs = 0;
    let mut session = Session::new(options).unwrap();
    session.connect(0);
    session.handle_bytes(0, &CONNACK);
    assert_eq!(session.poll_timeout(), None);
    session.handle_timeout(1_000_000);
    assert!(sent(&mut session).is_empty());
}

#[test]
fn no_connack_within_the_connect_timeout_reports_dead() {
    let mut session = Session::new(options()).unwrap();
    session.connect(1_000);
    assert_eq!(session.poll_timeout(), Some(11_000));
    session.handle_timeout(11_000);
    assert_eq!(events(&mut session), [SessionEvent::Dead]);
}

#[test]
fn a_refused_connection_is_reported_and_ends_the_connection() {
    let mut session = Session::new(options()).unwrap();
    session.connect(0);
    session.handle_bytes(1, &[0x20, 0x02, 0x00, 0x05]);
    assert_eq!(events(&mut session), [SessionEvent::ConnectionRefused(ConnectReturnCode::NotAuthorized)]);
    assert!(!session.is_connected());
}

#[test]
fn a_packet_before_the_connack_is_a_protocol_error() {
    let mut session = Session::new(options()).unwrap();
    session.connect(0);
    session.handle_bytes(1, &[0xD0, 0x00]);
    assert_eq!(events(&mut session), [SessionEvent::ProtocolError(SessionError::UnexpectedPacket("PINGRESP"))]);
    session.handle_bytes(2, &CONNACK);
    assert!(events(&mut session).is_empty(), "bytes of a dropped connection are ignored");
}

#[test]
fn malformed_bytes_are_a_protocol_error_and_end_the_connection() {
    let mut session = connected();
    session.publish("t", b"", QoS::AtMostOnce).unwrap();
    session.handle_bytes(1, &[0x36, 0x00]);
    assert_eq!(events(&mut session), [SessionEvent::ProtocolError(SessionError::Codec(CodecError::InvalidQoS(3)))]);
    assert!(!session.is_connected());
    assert!(session.poll_transmit().is_none(), "bytes for the dead connection are dropped");
}

#[test]
fn a_packet_over_the_size_limit_is_a_protocol_error() {
    let mut options = options();
    options.max_packet_size = 64;
    let mut session = Session::new(options).unwrap();
    session.connect(0);
    session.handle_bytes(0, &CONNACK);
    events(&mut session);
    session.handle_bytes(1, &publish_bytes("t", &[0; 100], None)[..3]);
    assert!(matches!(
        events(&mut session)[..],
        [SessionEvent::ProtocolError(SessionError::Codec(CodecError::PacketTooLarge { max: 64, .. }))]
    ));
}

#[test]
fn disconnect_flushes_queued_bytes_then_sends_disconnect() {
    let mut session = connected();
    session.publish("t", b"x", QoS::AtMostOnce).unwrap();
    let bytes = session.disconnect();
    let (first, used) = decode(&bytes).unwrap().unwrap();
    assert!(matches!(first, Packet::Publish(_)));
    assert_eq!(&bytes[used..], [0xE0, 0x00]);
    assert!(!session.is_connected());
    assert!(session.disconnect().is_empty(), "nothing to say when not connected");
}
