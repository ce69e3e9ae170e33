//! Our own MQTT 3.1.1 client core, sans-IO: no socket, no clock, no wasm-bindgen.
//!
//! rumqttc does not build for `wasm32-unknown-unknown`, and a general-purpose sans-IO crate
//! (mqtt-protocol-core 0.7.9) makes gzipped wasm 2.5 times as large as ours: 47 KB against 19 KB
//! (figures in the crate's README, "MQTT codec: our own, and why"). vmm needs little of MQTT: QoS 0 and 1, clean
//! sessions, no will, so this module is small and tested against the specification's examples,
//! property tests and a real Mosquitto (`tests/mqtt_mosquitto.rs`).
//!
//! | module | job |
//! |---|---|
//! | [`codec`] | packets to bytes and back; rejects malformed input with a typed [`CodecError`] |
//! | [`session`] | the client state machine: packet ids, acknowledgements, keep-alive, resending |
//!
//! The shell (the WebSocket transport) drives a [`Session`] like this:
//!
//! ```
//! use vmm_engine::mqtt::{QoS, Session, SessionEvent, SessionOptions};
//!
//! let mut session = Session::new(SessionOptions::new("client-1")).unwrap();
//! let connect = session.connect(0); // send these bytes once the WebSocket is open
//! assert_eq!(connect[0], 0x10);
//! let id = session.publish("vmm/v1/tasks/requests", b"{}", QoS::AtLeastOnce).unwrap();
//! session.handle_bytes(5, &[0x20, 0x02, 0x00, 0x00]); // CONNACK, as received
//! assert_eq!(session.poll_event(), Some(SessionEvent::Connected { session_present: false }));
//! while let Some(bytes) = session.poll_transmit() {
//!     // websocket.send(bytes): here the queued PUBLISH
//!     assert_eq!(bytes[0], 0x32);
//! }
//! session.handle_bytes(9, &[0x40, 0x02, 0x00, id.unwrap() as u8]); // its PUBACK
//! assert_eq!(session.poll_event(), Some(SessionEvent::Published { id: id.unwrap() }));
//! // Arm a timer for session.poll_timeout() and call session.handle_timeout(now) when it fires.
//! assert!(session.poll_timeout().is_some());
//! ```

pub mod codec;
pub mod session;

pub use codec::{CodecError, ConnectReturnCode, Packet, QoS, SubscribeReturnCode};
pub use session::{Session, SessionError, SessionEvent, SessionOptions};
