//! # vmm-client
//!
//! The browser side of vmm: a wasm-pack package that runs the client engine of `vmm-engine`
//! (the protocol's replica and our MQTT 3.1.1 session) over a WebSocket, and exposes it to
//! JavaScript and Vue. The native client runs the same engine over TCP.
//!
//! ## Layout
//!
//! | module | job |
//! |---|---|
//! | `store` | the `Store` class JS sees (wasm only) |
//! | `shell` | the engine's shell: socket, timers, promises, batched listener calls (wasm only) |
//! | `socket` | the WebSocket: bytes in and out, nothing else (wasm only) |
//! | `convert` | values between JS and Rust, through JSON text and `js/values.js` (wasm only) |
//! | `json` | the JSON text JS parses: integers JS cannot hold as `$numberLong`, where the wrappers are |
//! | `errors` | refusals and rollbacks as JS `Error` subclasses from `js/errors.js` (wasm only) |
//! | `js/` | the JS entry, the Vue 3 plugin and composables, the Vuex 4 plugin |
#![warn(missing_docs)]

/// talc, not std's dlmalloc: smaller in the wasm (see `Cargo.toml`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
mod convert;
#[cfg(target_arch = "wasm32")]
mod errors;
#[cfg(any(target_arch = "wasm32", test))]
mod json;
#[cfg(target_arch = "wasm32")]
mod shell;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(target_arch = "wasm32")]
pub use errors::Error;
#[cfg(target_arch = "wasm32")]
pub use store::{connect_store, Store};
pub use vmm_engine;
pub use vmm_protocol;
