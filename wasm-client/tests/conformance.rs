//! The protocol's conformance vectors, run in the browser: the same runners as
//! `protocol/tests/`, compiled to wasm with the vector files embedded.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "../../protocol/tests/vector_files/mod.rs"]
mod vector_files;
#[path = "../../protocol/tests/vectors.rs"]
mod vectors;
#[path = "../../protocol/tests/vectors_values_update.rs"]
mod vectors_values_update;
