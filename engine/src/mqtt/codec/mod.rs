//! MQTT 3.1.1 packets: [`encode`] to bytes, [`decode`] from a buffer that may hold a partial
//! packet or several.
//!
//! The codec knows the packets a QoS 0/1 client needs, in both directions (decoding CONNECT or
//! SUBSCRIBE is only used by tests and would let a test broker reuse it). It rejects, with a typed
//! [`CodecError`], anything the specification forbids that it can check locally: reserved flag
//! bits, a remaining length longer than 4 bytes, strings that are not UTF-8 or contain U+0000,
//! packet identifier 0, wildcards in a topic name, malformed topic filters, empty SUBSCRIBE or
//! UNSUBSCRIBE, bytes left over after a packet's fields.
//!
//! Not supported, on purpose:
//! - **QoS 2**: a PUBLISH with QoS 2, a SUBSCRIBE or SUBACK with QoS 2, and the QoS 2 packets
//!   PUBREC, PUBREL and PUBCOMP decode to [`CodecError::QoS2NotSupported`]. A client that never
//!   publishes with QoS 2 and never subscribes with QoS 2 never receives any of them from a
//!   conforming broker (the broker downgrades deliveries to the subscription's QoS).
//! - **Will messages**: a CONNECT with the will flag decodes to [`CodecError::WillNotSupported`].
//!
//! ## Layout
//!
//! One file per packet family, each with its encoding, its decoding and its tests, as in
//! rumqttc's codec; this file holds what they share and the two entry points.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | [`QoS`], return codes, [`Packet`], [`CodecError`]; [`encode`], [`decode`]: the fixed header |
//! | `connect.rs` | CONNECT, CONNACK; DISCONNECT, like the pings, is a fixed header alone (`mod.rs`) |
//! | `publish.rs` | PUBLISH, PUBACK; the refusal of PUBREC, PUBREL, PUBCOMP |
//! | `subscribe.rs` | SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK |
//! | `topic.rs` | topic name and topic filter rules: [`validate_topic_name`], [`validate_topic_filter`] |
//! | `tests.rs` | tests across packets: remaining length, streams of packets, property tests |

use std::fmt;

mod connect;
mod publish;
mod subscribe;
mod topic;

pub use connect::{ConnAck, Connect};
pub use publish::Publish;
pub use subscribe::{SubAck, Subscribe, Unsubscribe};
pub use topic::{validate_topic_filter, validate_topic_name};

/// The largest remaining length MQTT can express (4 bytes of varint, §2.2.3).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The largest whole packet (fixed header included) MQTT can express; [`decode`]'s limit.
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// A quality of service this client supports. QoS 2 is not supported (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QoS {
    /// QoS 0: at most once, no acknowledgement.
    AtMostOnce = 0,
    /// QoS 1: at least once, acknowledged by PUBACK.
    AtLeastOnce = 1,
}

impl QoS {
    fn from_bits(bits: u8) -> Result<QoS, CodecError> {
        match bits {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Err(CodecError::QoS2NotSupported),
            other => Err(CodecError::InvalidQoS(other)),
        }
    }
}

/// The return code of a CONNACK (§3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectReturnCode {
    /// 0: connection accepted.
    Accepted = 0,
    /// 1: the server does not support protocol level 4.
    UnacceptableProtocolVersion = 1,
    /// 2: the client identifier is not allowed.
    IdentifierRejected = 2,
    /// 3: the MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 4: the user name or password is malformed or wrong.
    BadUserNameOrPassword = 4,
    /// 5: the client is not authorized to connect.
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    fn from_byte(byte: u8) -> Result<Self, CodecError> {
        Ok(match byte {
            0 => Self::Accepted,
            1 => Self::UnacceptableProtocolVersion,
            2 => Self::IdentifierRejected,
            3 => Self::ServerUnavailable,
            4 => Self::BadUserNameOrPassword,
            5 => Self::NotAuthorized,
            other => return Err(CodecError::InvalidReturnCode(other)),
        })
    }
}

/// One return code of a SUBACK (§3.9.3): the QoS granted to a filter, or failure (0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscribeReturnCode {
    /// The subscription was accepted with this maximum QoS.
    Success(QoS),
    /// 0x80: the broker refused the subscription (for example, its ACL forbids the filter).
    Failure,
}

/// An MQTT 3.1.1 control packet this codec knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT, client to server.
    Connect(Connect),
    /// CONNACK, server to client.
    ConnAck(ConnAck),
    /// PUBLISH, both ways.
    Publish(Publish),
    /// PUBACK with its packet identifier, both ways.
    PubAck(u16),
    /// SUBSCRIBE, client to server.
    Subscribe(Subscribe),
    /// SUBACK, server to client.
    SubAck(SubAck),
    /// UNSUBSCRIBE, client to server.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK with its packet identifier, server to client.
    UnsubAck(u16),
    /// PINGREQ, client to server.
    PingReq,
    /// PINGRESP, server to client.
    PingResp,
    /// DISCONNECT, client to server.
    Disconnect,
}

/// Why bytes could not be decoded, or a packet could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// The remaining length did not end within 4 bytes (§2.2.3).
    MalformedRemainingLength,
    /// The packet (fixed header included) is larger than the limit.
    PacketTooLarge {
        /// The packet's size in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Packet type 0 or 15 (reserved).
    InvalidPacketType(u8),
    /// The fixed header's flag bits are not the ones the packet type requires.
    InvalidFlags {
        /// The packet type (1 to 14).
        packet_type: u8,
        /// The low four bits of the first byte.
        flags: u8,
    },
    /// A QoS field holds 3.
    InvalidQoS(u8),
    /// QoS 2 (a QoS 2 PUBLISH, SUBSCRIBE or SUBACK, or PUBREC, PUBREL, PUBCOMP); see the module docs.
    QoS2NotSupported,
    /// A CONNECT with a will message; see the module docs.
    WillNotSupported,
    /// The packet ended before its fields did.
    Truncated,
    /// Bytes left over after the packet's fields.
    TrailingBytes,
    /// A string is not UTF-8, contains U+0000, or is longer than 65,535 bytes.
    InvalidString,
    /// Binary data (the password) longer than 65,535 bytes.
    BinaryTooLong,
    /// A packet identifier is 0 where a non-zero one is required (§2.3.1).
    ZeroPacketId,
    /// A topic name is empty or holds a wildcard (§4.7).
    InvalidTopicName,
    /// A topic filter is empty or misuses a wildcard (§4.7.1).
    InvalidTopicFilter,
    /// A SUBSCRIBE, UNSUBSCRIBE or SUBACK without any entry.
    EmptyList,
    /// A CONNECT whose protocol name is not "MQTT" or whose level is not 4.
    UnsupportedProtocol,
    /// CONNECT flags break a rule: reserved bit set, will fields without will, password without
    /// user name.
    InvalidConnectFlags(u8),
    /// CONNACK flags with a reserved bit set.
    InvalidConnAckFlags(u8),
    /// A CONNACK or SUBACK return code the specification does not define.
    InvalidReturnCode(u8),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedRemainingLength => f.write_str("remaining length longer than 4 bytes"),
            Self::PacketTooLarge { size, max } => write!(f, "packet of {size} bytes exceeds the limit of {max}"),
            Self::InvalidPacketType(t) => write!(f, "reserved packet type {t}"),
            Self::InvalidFlags { packet_type, flags } => {
                write!(f, "invalid fixed header flags {flags:#06b} for packet type {packet_type}")
            }
            Self::InvalidQoS(q) => write!(f, "invalid QoS {q}"),
            Self::QoS2NotSupported => f.write_str("QoS 2 is not supported"),
            Self::WillNotSupported => f.write_str("will messages are not supported"),
            Self::Truncated => f.write_str("packet ends before its fields"),
            Self::TrailingBytes => f.write_str("bytes left over after the packet's fields"),
            Self::InvalidString => f.write_str("string not UTF-8, containing U+0000, or too long"),
            Self::BinaryTooLong => f.write_str("binary field longer than 65535 bytes"),
            Self::ZeroPacketId => f.write_str("packet identifier 0"),
            Self::InvalidTopicName => f.write_str("topic name empty or containing a wildcard"),
            Self::InvalidTopicFilter => f.write_str("malformed topic filter"),
            Self::EmptyList => f.write_str("no topic filters or return codes"),
            Self::UnsupportedProtocol => f.write_str("protocol is not MQTT 3.1.1"),
            Self::InvalidConnectFlags(b) => write!(f, "invalid CONNECT flags {b:#010b}"),
            Self::InvalidConnAckFlags(b) => write!(f, "invalid CONNACK flags {b:#010b}"),
            Self::InvalidReturnCode(c) => write!(f, "undefined return code {c:#04x}"),
        }
    }
}

impl std::error::Error for CodecError {}

fn check_string(s: &str) -> Result<(), CodecError> {
    if s.len() > usize::from(u16::MAX) || s.contains('\0') {
        return Err(CodecError::InvalidString);
    }
    Ok(())
}

fn check_pkid(pkid: u16) -> Result<u16, CodecError> {
    if pkid == 0 {
        Err(CodecError::ZeroPacketId)
    } else {
        Ok(pkid)
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Encodes a packet, checking it first; fails rather than write a packet a broker must reject.
pub fn encode(packet: &Packet) -> Result<Vec<u8>, CodecError> {
    let mut body = Vec::new();
    let first = match packet {
        Packet::Connect(c) => connect::encode_connect(c, &mut body)?,
        Packet::ConnAck(c) => connect::encode_connack(c, &mut body),
        Packet::Publish(p) => publish::encode_publish(p, &mut body)?,
        Packet::PubAck(pkid) => publish::encode_puback(*pkid, &mut body)?,
        Packet::Subscribe(s) => subscribe::encode_subscribe(s, &mut body)?,
        Packet::SubAck(s) => subscribe::encode_suback(s, &mut body)?,
        Packet::Unsubscribe(u) => subscribe::encode_unsubscribe(u, &mut body)?,
        Packet::UnsubAck(pkid) => subscribe::encode_unsuback(*pkid, &mut body)?,
        // A fixed header alone.
        Packet::PingReq => 0xC0,
        Packet::PingResp => 0xD0,
        Packet::Disconnect => 0xE0,
    };
    if body.len() > MAX_REMAINING_LENGTH {
        return Err(CodecError::PacketTooLarge { size: body.len() + 5, max: MAX_PACKET_SIZE });
    }
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    put_remaining_length(&mut out, body.len());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Appends the variable-length encoding of `len` (at most [`MAX_REMAINING_LENGTH`]).
fn put_remaining_length(out: &mut Vec<u8>, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if len == 0 {
            return;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), CodecError> {
    check_string(s)?;
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) -> Result<(), CodecError> {
    let len = u16::try_from(b.len()).map_err(|_| CodecError::BinaryTooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes the first packet in `buf`, with the protocol's own size limit ([`MAX_PACKET_SIZE`]).
///
/// `Ok(None)`: `buf` holds only part of a packet; call again with more bytes. `Ok(Some((packet,
/// n)))`: the packet took the first `n` bytes. An error means the stream cannot be trusted any
/// more: MQTT requires closing the connection.
pub fn decode(buf: &[u8]) -> Result<Option<(Packet, usize)>, CodecError> {
    decode_with_limit(buf, MAX_PACKET_SIZE)
}

/// [`decode`] with a size limit for the whole packet (fixed header included). A packet over the
/// limit is refused as soon as its header is read, without waiting for (or buffering) its body.
pub fn decode_with_limit(buf: &[u8], max_packet_size: usize) -> Result<Option<(Packet, usize)>, CodecError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let packet_type = first >> 4;
    let flags = first & 0x0F;
    if packet_type == 0 || packet_type == 15 {
        return Err(CodecError::InvalidPacketType(packet_type));
    }
    let Some((remaining, varint_len)) = decode_remaining_length(&buf[1..])? else { return Ok(None) };
    let header_len = 1 + varint_len;
    let size = header_len + remaining;
    if size > max_packet_size {
        return Err(CodecError::PacketTooLarge { size, max: max_packet_size });
    }
    let Some(body) = buf.get(header_len..size) else { return Ok(None) };
    let packet = decode_body(packet_type, flags, body)?;
    Ok(Some((packet, size)))
}

/// Reads a remaining length (§2.2.3): `Ok(None)` if `buf` ends inside it, else the value and
/// its size in bytes. Non-minimal encodings (0x80 0x00) are accepted: 3.1.1 does not forbid them.
fn decode_remaining_length(buf: &[u8]) -> Result<Option<(usize, usize)>, CodecError> {
    let mut value = 0usize;
    for (i, &byte) in buf.iter().enumerate() {
        value |= usize::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
        if i == 3 {
            return Err(CodecError::MalformedRemainingLength);
        }
    }
    Ok(None)
}

/// Reads a packet's body, once its fixed header is read and its type is neither 0 nor 15.
fn decode_body(packet_type: u8, flags: u8, body: &[u8]) -> Result<Packet, CodecError> {
    // PUBLISH's flags are its own (DUP, QoS, RETAIN); the QoS 2 flow is refused whatever its
    // flags; SUBSCRIBE and UNSUBSCRIBE require 0b0010 (§3.8.1, §3.10.1); the other packets 0.
    let required_flags = match packet_type {
        3 | 5..=7 => None,
        8 | 10 => Some(2),
        _ => Some(0),
    };
    if required_flags.is_some_and(|required| flags != required) {
        return Err(CodecError::InvalidFlags { packet_type, flags });
    }
    let mut r = Reader { buf: body };
    let packet = match packet_type {
        1 => connect::decode_connect(&mut r)?,
        2 => connect::decode_connack(&mut r)?,
        3 => publish::decode_publish(flags, &mut r)?,
        4 => publish::decode_puback(&mut r)?,
        5..=7 => return Err(publish::refuse_qos2_flow()),
        8 => subscribe::decode_subscribe(&mut r)?,
        9 => subscribe::decode_suback(&mut r)?,
        10 => subscribe::decode_unsubscribe(&mut r)?,
        11 => subscribe::decode_unsuback(&mut r)?,
        // A fixed header alone.
        12 => Packet::PingReq,
        13 => Packet::PingResp,
        14 => Packet::Disconnect,
        _ => return Err(CodecError::InvalidPacketType(packet_type)),
    };
    if !r.buf.is_empty() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(packet)
}

/// A cursor over a packet's body.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, CodecError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn pkid(&mut self) -> Result<u16, CodecError> {
        check_pkid(self.u16()?)
    }

    fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    fn string(&mut self) -> Result<String, CodecError> {
        let s = std::str::from_utf8(self.bytes()?).map_err(|_| CodecError::InvalidString)?;
        check_string(s)?;
        Ok(s.to_owned())
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
