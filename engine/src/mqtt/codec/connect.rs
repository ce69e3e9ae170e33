//! CONNECT (§3.1) and CONNACK (§3.2). DISCONNECT (§3.14) is a fixed header alone, written and
//! read by [`encode`](super::encode) and [`decode`](super::decode) themselves, like the pings.
//!
//! Will messages are not supported: a CONNECT with the will flag decodes to
//! [`CodecError::WillNotSupported`] (see the codec's docs).

use super::{check_string, put_bytes, put_str, CodecError, ConnectReturnCode, Packet, Reader};

/// CONNECT (§3.1). Will messages are not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The client identifier; may be empty only with a clean session (the broker decides).
    pub client_id: String,
    /// Start a new session, and drop it when the connection ends.
    pub clean_session: bool,
    /// The keep-alive period in seconds; 0 turns keep-alive off.
    pub keep_alive: u16,
    /// The user name, if any.
    pub username: Option<String>,
    /// The password, if any; MQTT 3.1.1 allows it only with a user name.
    pub password: Option<Vec<u8>>,
}

/// CONNACK (§3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the broker resumed a stored session.
    pub session_present: bool,
    /// Whether the connection was accepted, and why not.
    pub code: ConnectReturnCode,
}

/// Writes a CONNECT's body; returns its fixed header's first byte.
pub(super) fn encode_connect(c: &Connect, body: &mut Vec<u8>) -> Result<u8, CodecError> {
    check_string(&c.client_id)?;
    if c.password.is_some() && c.username.is_none() {
        return Err(CodecError::InvalidConnectFlags(0x40));
    }
    put_str(body, "MQTT")?;
    body.push(4);
    let mut flags = 0u8;
    if c.clean_session {
        flags |= 0x02;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&c.keep_alive.to_be_bytes());
    put_str(body, &c.client_id)?;
    if let Some(username) = &c.username {
        put_str(body, username)?;
    }
    if let Some(password) = &c.password {
        put_bytes(body, password)?;
    }
    Ok(0x10)
}

/// Writes a CONNACK's body; returns its fixed header's first byte.
pub(super) fn encode_connack(c: &ConnAck, body: &mut Vec<u8>) -> u8 {
    body.push(u8::from(c.session_present));
    body.push(c.code as u8);
    0x20
}

/// Reads a CONNECT's body (its fixed header flags are already checked).
pub(super) fn decode_connect(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    if r.string()? != "MQTT" || r.u8()? != 4 {
        return Err(CodecError::UnsupportedProtocol);
    }
    let flags = r.u8()?;
    let has_username = flags & 0x80 != 0;
    let has_password = flags & 0x40 != 0;
    if flags & 0x04 != 0 {
        return Err(CodecError::WillNotSupported);
    }
    // Reserved bit, or will QoS / will retain without a will, or a password without a user name.
    if flags & 0x01 != 0 || flags & 0x38 != 0 || (has_password && !has_username) {
        return Err(CodecError::InvalidConnectFlags(flags));
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let username = if has_username { Some(r.string()?) } else { None };
    let password = if has_password { Some(r.bytes()?.to_vec()) } else { None };
    Ok(Packet::Connect(Connect { client_id, clean_session: flags & 0x02 != 0, keep_alive, username, password }))
}

/// Reads a CONNACK's body (its fixed header flags are already checked).
pub(super) fn decode_connack(r: &mut Reader<'_>) -> Result<Packet, CodecError> {
    let ack_flags = r.u8()?;
    if ack_flags & 0xFE != 0 {
        return Err(CodecError::InvalidConnAckFlags(ack_flags));
    }
    let code = ConnectReturnCode::from_byte(r.u8()?)?;
    Ok(Packet::ConnAck(ConnAck { session_present: ack_flags & 1 == 1, code }))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::mqtt::codec::encode;
    use crate::mqtt::codec::tests::{decoded, error, round_trip};

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
}
