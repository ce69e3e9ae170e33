//! # vmm-engine
//!
//! The vmm client engine, once for every platform: the protocol's replica
//! ([`vmm_protocol::replica`]) joined to an MQTT 3.1.1 session ([`mqtt`]), with no IO and no
//! clock. A shell gives it bytes, time and calls from the application; it gives back bytes to
//! send, the next time it wants to be called, and [`Output`]s: outcomes of requests, changed
//! objects, loaded collections and status changes. The browser package (`vmm-client`) and the
//! native client ([`native`], feature `tokio`) are such shells; both run this same code.
//!
//! ## Layout
//!
//! | module | job |
//! |---|---|
//! | [`mqtt`] | the MQTT 3.1.1 codec (one file per packet family) and the client session |
//! | [`engine`](Engine) | the replica and the session together: subscriptions, status, outcomes |
//! | [`native`] | the native client: the engine over a tokio TCP or TLS connection (feature `tokio`) |
//! | [`tls`] | a rustls client configuration from PEM files, shared with the bridge (feature `tls`) |
//!
//! ```
//! use vmm_engine::mqtt::codec::{self, ConnAck, ConnectReturnCode, Packet, SubAck, SubscribeReturnCode};
//! use vmm_engine::{Engine, Options, Output, Status};
//!
//! let mut engine = Engine::new(Options::new("alice", "s1")).unwrap();
//! engine.watch(0, "tasks").unwrap();
//! engine.transport_open(0); // the socket is open: the engine sends CONNECT
//! assert_eq!(engine.poll_transmit().unwrap()[0] >> 4, 1);
//! let connack = Packet::ConnAck(ConnAck { session_present: false, code: ConnectReturnCode::Accepted });
//! engine.handle_bytes(1, &codec::encode(&connack).unwrap());
//! let subscribe = engine.poll_transmit().unwrap(); // the reply topic and the collection's events
//! assert_eq!(subscribe[0], 0x82);
//! let suback = Packet::SubAck(SubAck { pkid: u16::from_be_bytes([subscribe[2], subscribe[3]]),
//!     return_codes: vec![SubscribeReturnCode::Success(codec::QoS::AtLeastOnce); 2] });
//! engine.handle_bytes(2, &codec::encode(&suback).unwrap());
//! assert_eq!(engine.status(), Status::Resyncing); // loading "tasks" before sending changes
//! assert!(std::iter::from_fn(|| engine.poll_output()).any(|o| o == Output::Watching { collection: "tasks".into() }));
//! ```
#![warn(missing_docs)]

mod engine;
pub mod mqtt;
#[cfg(feature = "tokio")]
pub mod native;
#[cfg(feature = "tls")]
pub mod tls;

pub use engine::{Engine, Options, Output, Problem, ProblemKind, Rollback, Status};
pub use vmm_protocol;
