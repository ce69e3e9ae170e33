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
//! | `server` | start-up, the request loop, carrying out the core's effects, graceful shutdown ([`run`], [`serve`]) |
//! | `mongo` | the MongoDB storage of the core: objects, the event log, tombstones, rejects (point operations) |
//! | `group` | group commit: concurrent event inserts as one `insertMany` |
//! | `paging` | the one collection read: a page of a load |
//! | `outbox` | publishing events in version order, each after the previous PUBACK (in memory) |
//! | `journal` | heartbeats, and recovering what a stopped bridge left unpublished |
//! | `retention` | forgetting old events and rejects |
//! | `mqtt` | the rumqttc connection and publishes whose PUBACK can be awaited |
//! | `admission` | which incoming message is handled next or dropped: caps, fairness, rates (no IO) |
//! | `intake` | the bounded queue between the MQTT connection and the workers, over `admission` |
//! | [`permissions`] | the permissions file, read into the core's rules |
//! | [`clock`] | the one clock, injected |
//! | `fdlimit` | raising the open-file limit at start-up ([`raise_fd_limit`]) |
//! | [`process`] | what both binaries do around their work: logs, the runtime, signals |
//! | [`http`], [`metrics`] | `/healthz` and `/metrics` |
//! | [`mirror`] | the `vmm-mirror` binary's consumer: another MongoDB kept equal over the protocol (docs/MIRROR.md) |
#![warn(missing_docs)]

mod admission;
pub mod clock;
pub mod config;
mod error;
mod fdlimit;
mod group;
pub mod http;
mod intake;
mod journal;
pub mod metrics;
pub mod mirror;
mod mongo;
mod mqtt;
mod outbox;
mod paging;
pub mod permissions;
pub mod process;
mod retention;
mod server;

pub use config::Config;
pub use error::{Error, Result};
pub use fdlimit::raise_fd_limit;
pub use server::{run, serve, serve_with_clock};
pub use vmm_protocol;

/// Test hook (`VMM_FAILPOINT`): the bridge kills itself with SIGKILL, to check that a crash at
/// that point loses nothing.
pub(crate) fn die(point: &str) -> ! {
    eprintln!("vmm-bridge: failpoint {point} reached: killing myself");
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
    std::process::abort();
}
