//! SUBSCRIBE (§3.8), SUBACK (§3.9), UNSUBSCRIBE (§3.10) and UNSUBACK (§3.11). A SUBSCRIBE or
//! SUBACK with QoS 2 decodes to [`CodecError::QoS2NotSupported`] (why: see the codec's docs); a
//! SUBSCRIBE, SUBACK or UNSUBSCRIBE without any entry to [`CodecError::EmptyList`].

use super::{check_pkid, put_str, validate_topic_filter, CodecError, Packet, QoS, Reader, SubscribeReturnCode};

/// SUBSCRIBE (§3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// The packet identifier (non-zero).
    pub pkid: u16,
    /// The topic filters and the maximum QoS asked for each; at least one.
    pub filters: Vec<(String, QoS)>,
}

/// SUBACK (§3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// The identifier of the SUBSCRIBE this answers.
    pub pkid: u16,
    /// One return code per filter of the SUBSCRIBE, in order.
    pub return_codes: Vec<SubscribeReturnCode>,
}

/// UNSUBSCRIBE (§3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The packet identifier (non-zero).
    pub pkid: u16,
    /// The topic filters to remove; at least one.
    pub filters: Vec<String>,
}

/// Writes a SUBSCRIBE's body; returns its fixed header's first byte.
pub(super) fn encode_subscribe(s: &Subscribe, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    if s.filters.is_empty() {
        return Err(CodecError::EmptyList);
    }
    body.extend_from_slice(&check_pkid(s.pkid)?.to_be_bytes());
    for (filter, qos) in &s.filters {
        validate_topic_filter(filter)?;
        put_str(body, filter)?;
        body.push(*qos as u8);
    }
    Ok(0x82)
}

/// Writes a SUBACK's body; returns its fixed header's first byte.
pub(super) fn encode_suback(s: &SubAck, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    if s.return_codes.is_empty() {
        return Err(CodecError::EmptyList);
    }
    body.extend_from_slice(&check_pkid(s.pkid)?.to_be_bytes());
    body.extend(s.return_codes.iter().map(|code| match code {
        SubscribeReturnCode::Success(qos) => *qos as u8,
        SubscribeReturnCode::Failure => 0x80,
    }));
    Ok(0x90)
}

/// Writes an UNSUBSCRIBE's body; returns its fixed header's first byte.
pub(super) fn encode_unsubscribe(u: &Unsubscribe, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    if u.filters.is_empty() {
        return Err(CodecError::EmptyList);
    }
    body.extend_from_slice(&check_pkid(u.pkid)?.to_be_bytes());
    for filter in &u.filters {
        validate_topic_filter(filter)?;
        put_str(body, filter)?;
    }
    Ok(0xA2)
}

/// Writes an UNSUBACK's body; returns its fixed header's first byte.
pub(super) fn encode_unsuback(pkid: u16, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    body.extend_from_slice(&check_pkid(pkid)?.to_be_bytes());
    Ok(0xB0)
}

/// Reads a SUBSCRIBE's body (its fixed header flags are already checked).
pub(super) fn decode_subscribe(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    let pkid = r.pkid()?;
    let mut filters = Vec::new();
    while !r.buf.is_empty() {
        let filter = r.string()?;
        validate_topic_filter(&filter)?;
        let options = r.u8()?;
        if options & 0xFC != 0 {
            return Err(CodecError::InvalidQoS(options));
        }
        filters.push((filter, QoS::from_bits(options)?));
    }
    if filters.is_empty() {
        return Err(CodecError::EmptyList);
    }
    Ok(Packet::Subscribe(Subscribe { pkid, filters }))
}

/// Reads a SUBACK's body (its fixed header flags are already checked).
pub(super) fn decode_suback(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    let pkid = r.pkid()?;
    let return_codes = r
        .rest()
        .iter()
        .map(|&code| match code {
            0x80 => Ok(SubscribeReturnCode::Failure),
            0 | 1 => QoS::from_bits(code).map(SubscribeReturnCode::Success),
            2 => Err(CodecError::QoS2NotSupported),
            other => Err(CodecError::InvalidReturnCode(other)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if return_codes.is_empty() {
        return Err(CodecError::EmptyList);
    }
    Ok(Packet::SubAck(SubAck { pkid, return_codes }))
}

/// Reads an UNSUBSCRIBE's body (its fixed header flags are already checked).
pub(super) fn decode_unsubscribe(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    let pkid = r.pkid()?;
    let mut filters = Vec::new();
    while !r.buf.is_empty() {
        let filter = r.string()?;
        validate_topic_filter(&filter)?;
        filters.push(filter);
    }
    if filters.is_empty() {
        return Err(CodecError::EmptyList);
    }
    Ok(Packet::Unsubscribe(Unsubscribe { pkid, filters }))
}

/// Reads an UNSUBACK's body (its fixed header flags are already checked).
pub(super) fn decode_unsuback(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    Ok(Packet::UnsubAck(r.pkid()?))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::mqtt::codec::encode;
    use crate::mqtt::codec::tests::{decoded, error, round_trip};

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
}
