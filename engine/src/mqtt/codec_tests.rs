//! Tests of the codec: one group per packet, byte vectors from the MQTT 3.1.1 specification's
//! non-normative examples, and property tests.

use super::*;
use proptest::prelude::*;

fn decoded(bytes: &[u8]) -> Packet {
    let (packet, used) = decode(bytes).expect("valid").expect("complete");
    assert_eq!(used, bytes.len(), "the whole buffer is one packet");
    packet
}

fn error(bytes: &[u8]) -> CodecError {
    decode(bytes).expect_err("malformed")
}

fn round_trip(packet: Packet) {
    let bytes = encode(&packet).expect("encodable");
    assert_eq!(decoded(&bytes), packet);
}

// --- remaining length (§2.2.3) ---------------------------------------------------------------

#[test]
fn remaining_length_matches_the_spec_table() {
    // Table 2.4, "Size of Remaining Length field": the first and last value of each size.
    let table: [(usize, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];
    for (value, bytes) in table {
        let mut out = Vec::new();
        put_remaining_length(&mut out, value);
        assert_eq!(out, bytes, "encoding {value}");
        assert_eq!(decode_remaining_length(bytes), Ok(Some((value, bytes.len()))), "decoding {value}");
    }
}

#[test]
fn remaining_length_longer_than_four_bytes_is_rejected() {
    assert_eq!(decode_remaining_length(&[0xFF, 0xFF, 0xFF, 0xFF]), Err(CodecError::MalformedRemainingLength));
    assert_eq!(error(&[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), CodecError::MalformedRemainingLength);
}

#[test]
fn remaining_length_cut_short_needs_more_bytes() {
    assert_eq!(decode(&[]), Ok(None));
    assert_eq!(decode(&[0x30]), Ok(None));
    assert_eq!(decode(&[0x30, 0x80]), Ok(None));
    assert_eq!(decode(&[0x30, 0x80, 0x80, 0x80]), Ok(None));
}

#[test]
fn packet_over_the_limit_is_rejected_from_its_header_alone() {
    // 0x30, remaining length 200: 202 bytes, refused before any of the body arrived.
    let err = decode_with_limit(&[0x30, 0xC8, 0x01], 100).unwrap_err();
    assert_eq!(err, CodecError::PacketTooLarge { size: 203, max: 100 });
    assert_eq!(decode_with_limit(&[0xC0, 0x00], 2), Ok(Some((Packet::PingReq, 2))));
}

#[test]
fn a_buffer_with_two_packets_yields_the_first_and_its_length() {
    let mut bytes = encode(&Packet::PubAck(7)).unwrap();
    bytes.extend(encode(&Packet::PingResp).unwrap());
    assert_eq!(decode(&bytes), Ok(Some((Packet::PubAck(7), 4))));
    assert_eq!(decode(&bytes[4..]), Ok(Some((Packet::PingResp, 2))));
}

#[test]
fn reserved_packet_types_are_rejected() {
    assert_eq!(error(&[0x00, 0x00]), CodecError::InvalidPacketType(0));
    assert_eq!(error(&[0xF0, 0x00]), CodecError::InvalidPacketType(15));
}

// --- CONNECT / CONNACK -----------------------------------------------------------------------

#[test]
fn connect_encodes_like_the_spec_variable_header_example() {
    // §3.1.2.10 Figure 3.6: "MQTT", level 4, keep alive 10; our flags are user name + password +
    // clean session (0xC2): the example's will flags are not supported.
    let connect = Connect {
        client_id: "c".into(),
        clean_session: true,
        keep_alive: 10,
        username: Some("u".into()),
        password: Some(b"p".to_vec()),
    };
    let bytes = encode(&Packet::Connect(connect.clone())).unwrap();
    #[rustfmt::skip]
    let expected = [
        0x10, 19,
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xC2, 0x00, 0x0A,
        0x00, 0x01, b'c', 0x00, 0x01, b'u', 0x00, 0x01, b'p',
    ];
    assert_eq!(bytes, expected);
    assert_eq!(decoded(&bytes), Packet::Connect(connect));
}

#[test]
fn connect_without_credentials_and_with_empty_client_id_round_trips() {
    round_trip(Packet::Connect(Connect {
        client_id: String::new(),
        clean_session: true,
        keep_alive: 0,
        username: None,
        password: None,
    }));
}

#[test]
fn connect_with_a_will_is_rejected_as_unsupported() {
    let mut bytes = encode(&Packet::Connect(Connect {
        client_id: "c".into(),
        clean_session: true,
        keep_alive: 10,
        username: None,
        password: None,
    }))
    .unwrap();
    bytes[9] |= 0x04;
    assert_eq!(error(&bytes), CodecError::WillNotSupported);
}

#[test]
fn connect_with_a_password_but_no_user_name_is_rejected() {
    let connect = Connect {
        client_id: "c".into(),
        clean_session: true,
        keep_alive: 10,
        username: None,
        password: Some(b"p".to_vec()),
    };
    assert_eq!(encode(&Packet::Connect(connect)), Err(CodecError::InvalidConnectFlags(0x40)));
    let bytes = [0x10, 16, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x42, 0, 10, 0, 1, b'c', 0, 1, b'p'];
    assert_eq!(error(&bytes), CodecError::InvalidConnectFlags(0x42));
}

#[test]
fn connect_with_the_reserved_flag_or_another_protocol_level_is_rejected() {
    let ok = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0, 1, b'c'];
    assert!(matches!(decoded(&ok), Packet::Connect(_)));
    let mut reserved = ok;
    reserved[9] = 0x03;
    assert_eq!(error(&reserved), CodecError::InvalidConnectFlags(0x03));
    let mut mqtt5 = ok;
    mqtt5[8] = 5;
    assert_eq!(error(&mqtt5), CodecError::UnsupportedProtocol);
}

#[test]
fn connack_decodes_from_its_four_bytes() {
    let accepted = ConnAck { session_present: false, code: ConnectReturnCode::Accepted };
    assert_eq!(decoded(&[0x20, 0x02, 0x00, 0x00]), Packet::ConnAck(accepted));
    let resumed = ConnAck { session_present: true, code: ConnectReturnCode::Accepted };
    assert_eq!(decoded(&[0x20, 0x02, 0x01, 0x00]), Packet::ConnAck(resumed));
    let refused = ConnAck { session_present: false, code: ConnectReturnCode::NotAuthorized };
    assert_eq!(decoded(&[0x20, 0x02, 0x00, 0x05]), Packet::ConnAck(refused));
    round_trip(Packet::ConnAck(refused));
}

#[test]
fn connack_with_an_undefined_code_or_reserved_flags_is_rejected() {
    assert_eq!(error(&[0x20, 0x02, 0x00, 0x06]), CodecError::InvalidReturnCode(6));
    assert_eq!(error(&[0x20, 0x02, 0x02, 0x00]), CodecError::InvalidConnAckFlags(2));
    assert_eq!(error(&[0x20, 0x03, 0x00, 0x00, 0x00]), CodecError::TrailingBytes);
    assert_eq!(error(&[0x20, 0x01, 0x00]), CodecError::Truncated);
    assert_eq!(error(&[0x21, 0x02, 0x00, 0x00]), CodecError::InvalidFlags { packet_type: 2, flags: 1 });
}

// --- PUBLISH / PUBACK ------------------------------------------------------------------------

#[test]
fn publish_qos1_encodes_like_the_spec_variable_header_example() {
    // §3.3.2.3 Figure 3.11: topic "a/b", packet identifier 10.
    let publish = Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b".into(),
        pkid: Some(10),
        payload: b"hi".to_vec(),
    };
    let bytes = encode(&Packet::Publish(publish.clone())).unwrap();
    assert_eq!(bytes, [0x32, 9, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i']);
    assert_eq!(decoded(&bytes), Packet::Publish(publish));
}

#[test]
fn publish_qos0_has_no_packet_id_and_may_have_an_empty_payload() {
    let publish =
        Publish { dup: false, qos: QoS::AtMostOnce, retain: true, topic: "t".into(), pkid: None, payload: vec![] };
    let bytes = encode(&Packet::Publish(publish.clone())).unwrap();
    assert_eq!(bytes, [0x31, 3, 0x00, 0x01, b't']);
    assert_eq!(decoded(&bytes), Packet::Publish(publish));
}

#[test]
fn publish_dup_flag_round_trips_for_qos1() {
    round_trip(Packet::Publish(Publish {
        dup: true,
        qos: QoS::AtLeastOnce,
        retain: true,
        topic: "vmm/é".into(),
        pkid: Some(65_535),
        payload: vec![0; 300],
    }));
}

#[test]
fn publish_qos2_is_rejected_as_unsupported() {
    assert_eq!(error(&[0x34, 5, 0x00, 0x01, b't', 0x00, 0x01]), CodecError::QoS2NotSupported);
    assert_eq!(error(&[0x36, 5, 0x00, 0x01, b't', 0x00, 0x01]), CodecError::InvalidQoS(3));
}

#[test]
fn publish_qos0_with_dup_is_rejected() {
    assert_eq!(error(&[0x38, 3, 0x00, 0x01, b't']), CodecError::InvalidFlags { packet_type: 3, flags: 8 });
    let publish =
        Publish { dup: true, qos: QoS::AtMostOnce, retain: false, topic: "t".into(), pkid: None, payload: vec![] };
    assert!(encode(&Packet::Publish(publish)).is_err());
}

#[test]
fn publish_to_a_wildcard_or_empty_topic_is_rejected() {
    assert_eq!(error(&[0x30, 3, 0x00, 0x01, b'#']), CodecError::InvalidTopicName);
    assert_eq!(error(&[0x30, 2, 0x00, 0x00]), CodecError::InvalidTopicName);
    let publish =
        Publish { dup: false, qos: QoS::AtMostOnce, retain: false, topic: "a/+".into(), pkid: None, payload: vec![] };
    assert_eq!(encode(&Packet::Publish(publish)), Err(CodecError::InvalidTopicName));
}

#[test]
fn publish_with_packet_id_zero_is_rejected() {
    assert_eq!(error(&[0x32, 5, 0x00, 0x01, b't', 0x00, 0x00]), CodecError::ZeroPacketId);
}

#[test]
fn publish_topic_that_is_not_utf8_or_holds_nul_is_rejected() {
    assert_eq!(error(&[0x30, 4, 0x00, 0x02, 0xC3, 0x28]), CodecError::InvalidString);
    assert_eq!(error(&[0x30, 4, 0x00, 0x02, b'a', 0x00]), CodecError::InvalidString);
    assert_eq!(error(&[0x30, 4, 0x00, 0x05, b'a', b'b']), CodecError::Truncated);
}

#[test]
fn puback_is_four_bytes_and_rejects_extra_bytes() {
    assert_eq!(encode(&Packet::PubAck(10)).unwrap(), [0x40, 0x02, 0x00, 0x0A]);
    round_trip(Packet::PubAck(1));
    assert_eq!(error(&[0x40, 0x03, 0x00, 0x0A, 0x00]), CodecError::TrailingBytes);
    assert_eq!(error(&[0x40, 0x02, 0x00, 0x00]), CodecError::ZeroPacketId);
    assert_eq!(encode(&Packet::PubAck(0)), Err(CodecError::ZeroPacketId));
}

#[test]
fn qos2_flow_packets_are_rejected_as_unsupported() {
    assert_eq!(error(&[0x50, 0x02, 0x00, 0x01]), CodecError::QoS2NotSupported);
    assert_eq!(error(&[0x62, 0x02, 0x00, 0x01]), CodecError::QoS2NotSupported);
    assert_eq!(error(&[0x70, 0x02, 0x00, 0x01]), CodecError::QoS2NotSupported);
}

// --- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ---------------------------------------------

#[test]
fn subscribe_encodes_like_the_spec_payload_example() {
    // §3.8.3.1 Figure 3.22: packet identifier 10, "a/b" QoS 1, "c/d" (QoS 2 there; QoS 1 here).
    let subscribe =
        Subscribe { pkid: 10, filters: vec![("a/b".into(), QoS::AtLeastOnce), ("c/d".into(), QoS::AtLeastOnce)] };
    let bytes = encode(&Packet::Subscribe(subscribe.clone())).unwrap();
    #[rustfmt::skip]
    let expected = [
        0x82, 14, 0x00, 0x0A,
        0x00, 0x03, b'a', b'/', b'b', 0x01,
        0x00, 0x03, b'c', b'/', b'd', 0x01,
    ];
    assert_eq!(bytes, expected);
    assert_eq!(decoded(&bytes), Packet::Subscribe(subscribe));
}

#[test]
fn subscribe_with_wrong_flags_no_filters_or_reserved_option_bits_is_rejected() {
    assert_eq!(error(&[0x80, 6, 0, 1, 0, 1, b'a', 0]), CodecError::InvalidFlags { packet_type: 8, flags: 0 });
    assert_eq!(error(&[0x82, 2, 0, 1]), CodecError::EmptyList);
    assert_eq!(error(&[0x82, 6, 0, 1, 0, 1, b'a', 0x04]), CodecError::InvalidQoS(4));
    assert_eq!(error(&[0x82, 6, 0, 1, 0, 1, b'a', 0x02]), CodecError::QoS2NotSupported);
    assert_eq!(encode(&Packet::Subscribe(Subscribe { pkid: 1, filters: vec![] })), Err(CodecError::EmptyList));
}

#[test]
fn suback_decodes_success_and_failure_codes() {
    // §3.9.3.1 Figure 3.26 lists 0x00, 0x02, 0x80; QoS 2 is unsupported, so 0x00, 0x01, 0x80.
    let bytes = [0x90, 0x05, 0x00, 0x0A, 0x00, 0x01, 0x80];
    let suback = SubAck {
        pkid: 10,
        return_codes: vec![
            SubscribeReturnCode::Success(QoS::AtMostOnce),
            SubscribeReturnCode::Success(QoS::AtLeastOnce),
            SubscribeReturnCode::Failure,
        ],
    };
    assert_eq!(decoded(&bytes), Packet::SubAck(suback.clone()));
    assert_eq!(encode(&Packet::SubAck(suback)).unwrap(), bytes);
}

#[test]
fn suback_with_qos2_undefined_codes_or_no_codes_is_rejected() {
    assert_eq!(error(&[0x90, 0x03, 0x00, 0x0A, 0x02]), CodecError::QoS2NotSupported);
    assert_eq!(error(&[0x90, 0x03, 0x00, 0x0A, 0x81]), CodecError::InvalidReturnCode(0x81));
    assert_eq!(error(&[0x90, 0x02, 0x00, 0x0A]), CodecError::EmptyList);
}

#[test]
fn unsubscribe_encodes_like_the_spec_payload_example() {
    // §3.10.3.1 Figure 3.30: "a/b", "c/d".
    let unsubscribe = Unsubscribe { pkid: 10, filters: vec!["a/b".into(), "c/d".into()] };
    let bytes = encode(&Packet::Unsubscribe(unsubscribe.clone())).unwrap();
    assert_eq!(bytes, [0xA2, 12, 0x00, 0x0A, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x03, b'c', b'/', b'd']);
    assert_eq!(decoded(&bytes), Packet::Unsubscribe(unsubscribe));
    assert_eq!(error(&[0xA2, 2, 0, 1]), CodecError::EmptyList);
}

#[test]
fn unsuback_is_four_bytes() {
    assert_eq!(encode(&Packet::UnsubAck(10)).unwrap(), [0xB0, 0x02, 0x00, 0x0A]);
    round_trip(Packet::UnsubAck(10));
}

#[test]
fn ping_and_disconnect_are_two_bytes_and_reject_flags_or_bodies() {
    for (packet, first) in [(Packet::PingReq, 0xC0), (Packet::PingResp, 0xD0), (Packet::Disconnect, 0xE0)] {
        assert_eq!(encode(&packet).unwrap(), [first, 0x00]);
        assert_eq!(decoded(&[first, 0x00]), packet);
        assert_eq!(error(&[first, 0x01, 0x00]), CodecError::TrailingBytes);
        assert!(matches!(error(&[first | 1, 0x00]), CodecError::InvalidFlags { .. }));
    }
}

#[test]
fn topic_filters_allow_wildcards_only_as_whole_levels() {
    for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "vmm/v1/tasks/events/#"] {
        assert_eq!(validate_topic_filter(ok), Ok(()), "{ok}");
    }
    for bad in ["", "a#", "a/#/b", "a+", "a/b+/c", "#/a"] {
        assert_eq!(validate_topic_filter(bad), Err(CodecError::InvalidTopicFilter), "{bad}");
    }
    assert_eq!(validate_topic_filter("a\0"), Err(CodecError::InvalidString));
}

// --- properties ------------------------------------------------------------------------------

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _é€-]{0,12}"
}

fn arb_topic() -> impl Strategy<Value = String> {
    "[a-z0-9é$]{1,6}(/[a-z0-9]{0,6}){0,3}"
}

fn arb_filter() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_topic(),
        arb_topic().prop_map(|t| format!("{t}/#")),
        arb_topic().prop_map(|t| format!("+/{t}/+")),
        Just("#".to_string())
    ]
}

fn arb_qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]
}

fn arb_pkid() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn arb_publish() -> impl Strategy<Value = Publish> {
    (arb_qos(), any::<bool>(), any::<bool>(), arb_topic(), arb_pkid(), prop::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(qos, dup, retain, topic, pkid, payload)| match qos {
            QoS::AtMostOnce => Publish { dup: false, qos, retain, topic, pkid: None, payload },
            QoS::AtLeastOnce => Publish { dup, qos, retain, topic, pkid: Some(pkid), payload },
        })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let connect = (
        arb_text(),
        any::<bool>(),
        any::<u16>(),
        prop::option::of(arb_text()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..20)),
    )
        .prop_map(|(client_id, clean_session, keep_alive, username, password)| {
            let password = if username.is_some() { password } else { None };
            Packet::Connect(Connect { client_id, clean_session, keep_alive, username, password })
        });
    let connack = (any::<bool>(), 0u8..=5).prop_map(|(session_present, code)| {
        Packet::ConnAck(ConnAck { session_present, code: ConnectReturnCode::from_byte(code).unwrap() })
    });
    let code = prop_oneof![arb_qos().prop_map(SubscribeReturnCode::Success), Just(SubscribeReturnCode::Failure)];
    prop_oneof![
        connect,
        connack,
        arb_publish().prop_map(Packet::Publish),
        arb_pkid().prop_map(Packet::PubAck),
        (arb_pkid(), prop::collection::vec((arb_filter(), arb_qos()), 1..4))
            .prop_map(|(pkid, filters)| Packet::Subscribe(Subscribe { pkid, filters })),
        (arb_pkid(), prop::collection::vec(code, 1..4))
            .prop_map(|(pkid, return_codes)| Packet::SubAck(SubAck { pkid, return_codes })),
        (arb_pkid(), prop::collection::vec(arb_filter(), 1..4))
            .prop_map(|(pkid, filters)| Packet::Unsubscribe(Unsubscribe { pkid, filters })),
        arb_pkid().prop_map(Packet::UnsubAck),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        Just(Packet::Disconnect),
    ]
}

proptest! {
    #[test]
    fn every_packet_decodes_to_itself_after_encoding(packet in arb_packet()) {
        let bytes = encode(&packet).unwrap();
        prop_assert_eq!(decode(&bytes), Ok(Some((packet, bytes.len()))));
    }

    #[test]
    fn every_proper_prefix_of_a_packet_needs_more_bytes(packet in arb_packet(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&packet).unwrap();
        let cut = cut.index(bytes.len());
        prop_assert_eq!(decode(&bytes[..cut]), Ok(None));
    }

    #[test]
    fn a_stream_split_anywhere_decodes_to_the_same_packets(
        packets in prop::collection::vec(arb_packet(), 1..8),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let stream: Vec<u8> = packets.iter().flat_map(|p| encode(p).unwrap()).collect();
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        let (mut buffer, mut got, mut start) = (Vec::new(), Vec::new(), 0);
        for cut in cuts {
            buffer.extend_from_slice(&stream[start..cut]);
            start = cut;
            while let Some((packet, used)) = decode(&buffer).unwrap() {
                got.push(packet);
                buffer.drain(..used);
            }
        }
        prop_assert!(buffer.is_empty());
        prop_assert_eq!(got, packets);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_claim_more_than_they_have(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(Some((_, used))) = decode(&bytes) {
            prop_assert!(used <= bytes.len());
        }
    }

    #[test]
    fn arbitrary_bodies_behind_valid_headers_never_panic(first in any::<u8>(), body in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut bytes = vec![first];
        put_remaining_length(&mut bytes, body.len());
        bytes.extend_from_slice(&body);
        let _ = decode(&bytes);
    }
}
