//! The conformance vector files, embedded at compile time so that the same runners work in a
//! browser (wasm has no file system): `vmm-client`'s wasm tests include these runners too.

/// The text of `protocol/vectors/<file>`.
pub fn text(file: &str) -> &'static str {
    match file {
        "values.json" => include_str!("../../vectors/values.json"),
        "update.json" => include_str!("../../vectors/update.json"),
        "topics.json" => include_str!("../../vectors/topics.json"),
        "validate.json" => include_str!("../../vectors/validate.json"),
        "decide.json" => include_str!("../../vectors/decide.json"),
        "replica.json" => include_str!("../../vectors/replica.json"),
        "bridge.json" => include_str!("../../vectors/bridge.json"),
        other => panic!("no vector file {other}"),
    }
}
