//! # vmm-bridge
//!
//! The bridge role of `docs/PROTOCOL.md`: the only writer to MongoDB and the publisher of every
//! event. It takes requests from MQTT, decides them with [`vmm_protocol::decide`], records them in
//! MongoDB without transactions, and publishes the events in order; it answers failures with
//! replays and loads with snapshot pages. Any number of bridges may run against one broker and
//! one database. Operating it: `docs/BRIDGE.md`.
//!
//! ## Layout
//!
//! | module | job |
//! |---|---|
//! | [`config`] | flags, `VMM_*` variables and the TOML file |
//! | `server` | start-up, the request loop, graceful shutdown ([`run`], [`serve`]) |
//! | `handle` | what is done with a request, a failure, a load |
//! | `store` | MongoDB: objects, the event log (also the outbox), tombstones, rejects |
//! | `outbox` | publishing events in version order, each after the previous PUBACK |
//! | `mqtt` | the rumqttc connection and publishes whose PUBACK can be awaited |
//! | [`http`], [`metrics`] | `/healthz` and `/metrics` |
//! | [`client`] | a native Rust client: the replica of `vmm-protocol` over rumqttc |
#![warn(missing_docs)]

pub mod client;
pub mod config;
mod error;
mod handle;
pub mod http;
pub mod metrics;
mod mqtt;
mod outbox;
mod server;
mod store;

pub use config::Config;
pub use error::{Error, Result};
pub use server::{run, serve};
pub use vmm_protocol;

/// Milliseconds since the Unix epoch, from the system clock (the core never reads it).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
