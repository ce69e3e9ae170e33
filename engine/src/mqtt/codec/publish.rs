//! PUBLISH (§3.3) and PUBACK (§3.4), and the refusal of the QoS 2 flow: a QoS 2 PUBLISH, and
//! PUBREC, PUBREL and PUBCOMP (§3.5 to §3.7), decode to [`CodecError::QoS2NotSupported`] (why:
//! see the codec's docs).

use super::{check_pkid, put_str, validate_topic_name, CodecError, Packet, QoS, Reader};

/// PUBLISH (§3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// Set when this is a re-delivery of a QoS 1 message; must be false for QoS 0.
    pub dup: bool,
    /// The QoS of this delivery.
    pub qos: QoS,
    /// Whether the broker should keep (or kept) this message for new subscribers.
    pub retain: bool,
    /// The topic name: at least one character, no wildcards.
    pub topic: String,
    /// The packet identifier: `Some` (non-zero) for QoS 1, `None` for QoS 0.
    pub pkid: Option<u16>,
    /// The application message.
    pub payload: Vec<u8>,
}

/// Writes a PUBLISH's body; returns its fixed header's first byte (type and flags).
pub(super) fn encode_publish(p: &Publish, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    validate_topic_name(&p.topic)?;
    put_str(body, &p.topic)?;
    match (p.qos, p.pkid) {
        (QoS::AtMostOnce, None) if !p.dup => {}
        (QoS::AtMostOnce, _) => return Err(CodecError::InvalidFlags { packet_type: 3, flags: publish_flags(p) }),
        (QoS::AtLeastOnce, Some(pkid)) => body.extend_from_slice(&check_pkid(pkid)?.to_be_bytes()),
        (QoS::AtLeastOnce, None) => return Err(CodecError::ZeroPacketId),
    }
    body.extend_from_slice(&p.payload);
    Ok(0x30 | publish_flags(p))
}

fn publish_flags(p: &Publish) -> u8 {
    (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
}

/// Writes a PUBACK's body; returns its fixed header's first byte.
pub(super) fn encode_puback(pkid: u16, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    body.extend_from_slice(&check_pkid(pkid)?.to_be_bytes());
    Ok(0x40)
}

/// Reads a PUBLISH from its fixed header flags (DUP, QoS, RETAIN) and its body.
pub(super) fn decode_publish(flags: u8, r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    let dup = flags & 0x08 != 0;
    let qos = QoS::from_bits((flags >> 1) & 0x03)?;
    let retain = flags & 0x01 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(CodecError::InvalidFlags { packet_type: 3, flags });
    }
    let topic = r.string()?;
    validate_topic_name(&topic)?;
    let pkid = match qos {
        QoS::AtMostOnce => None,
        QoS::AtLeastOnce => Some(r.pkid()?),
    };
    let payload = r.rest().to_vec();
    Ok(Packet::Publish(Publish { dup, qos, retain, topic, pkid, payload }))
}

/// Reads a PUBACK's body (its fixed header flags are already checked).
pub(super) fn decode_puback(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    Ok(Packet::PubAck(r.pkid()?))
}

/// PUBREC, PUBREL and PUBCOMP exist only for QoS 2: refused whatever their flags and body.
pub(super) fn refuse_qos2_flow() -> CodecError {
    CodecError::QoS2NotSupported
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::mqtt::codec::encode;
    use crate::mqtt::codec::tests::{decoded, error, round_trip};

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
        let publish = Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "a/+".into(),
            pkid: None,
            payload: vec![],
        };
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
}
