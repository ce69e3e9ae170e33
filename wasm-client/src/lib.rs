//! # vmm-client
//!
//! The browser side of vmm: a wasm-pack package that speaks MQTT 3.1.1 over a WebSocket and
//! exposes the optimistic store of [`vmm_protocol::replica`] to JavaScript and Vue.
//!
//! ## Layout
//!
//! | module | job |
//! |---|---|
//! | [`mqtt`] | our sans-IO MQTT 3.1.1 codec and client session (no IO, host-tested) |
//! | `store` | the `Store` class JS sees: replica + session, promises, listeners (wasm only) |
//! | `transport` | the WebSocket and its reconnection (wasm only) |
//! | `errors` | reject codes as JS `Error` subclasses from `js/errors.js` (wasm only) |
//! | `js/` | the JS entry, the Vue 3 plugin and composables, the Vuex 4 plugin |
#![warn(missing_docs)]

pub mod mqtt;

#[cfg(target_arch = "wasm32")]
mod errors;
#[cfg(target_arch = "wasm32")]
mod store;
#[cfg(target_arch = "wasm32")]
mod transport;

#[cfg(target_arch = "wasm32")]
pub use store::{connect_store, Store};
pub use vmm_protocol;
