//! Tests of the codec across packets: the fixed header and the remaining length, buffers that
//! hold part of a packet or several, the packets that are a fixed header alone, and property
//! tests over every packet. Each packet family's own tests (byte vectors from the MQTT 3.1.1
//! specification's non-normative examples, malformed packets) are in its file; they share the
//! helpers below.

use super::*;
use proptest::prelude::*;

pub(super) fn decoded(bytes: &[u8]) -> Packet {
    let (packet, used) = decode(bytes).expect("valid").expect("complete");
    assert_eq!(used, bytes.len(), "the whole buffer is one packet");
    packet
}

pub(super) fn error(bytes: &[u8]) -> CodecError {
    decode(bytes).expect_err("malformed")
}

pub(super) fn round_trip(packet: Packet) {
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

// --- PINGREQ / PINGRESP / DISCONNECT: a fixed header alone -----------------------------------

#[test]
fn ping_and_disconnect_are_two_bytes_and_reject_flags_or_bodies() {
    for (packet, first) in [(Packet::PingReq, 0xC0), (Packet::PingResp, 0xD0), (Packet::Disconnect, 0xE0)] {
        assert_eq!(encode(&packet).unwrap(), [first, 0x00]);
        assert_eq!(decoded(&[first, 0x00]), packet);
        assert_eq!(error(&[first, 0x01, 0x00]), CodecError::TrailingBytes);
        assert!(matches!(error(&[first | 1, 0x00]), CodecError::InvalidFlags { .. }));
    }
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
