//! The secure broker profile as the tests reach it (scripts/secure.sh, docs/BRIDGE.md "The secure
//! broker profile"): its files (CA, certificates, passwords) and its ports.
//!
//! A test that needs the profile and does not find it fails with a message saying how to start
//! it ([`require`]), unless `VMM_SKIP_SECURE=1`: a missing profile must never pass silently.

#![allow(dead_code)]

use std::path::PathBuf;

/// The users of the password listeners (`.run/secure/users.txt`), besides `vmm-bridge`.
pub const ALICE: (&str, &str) = ("alice", "alice-secret");
pub const BOB: (&str, &str) = ("bob", "bob-secret");
pub const MALLORY: (&str, &str) = ("mallory", "mallory-secret");
/// The bridges' user; its password is [`bridge_password`].
pub const BRIDGE_USER: &str = "vmm-bridge";

/// The host of every secure listener (the server certificate names it, and `localhost`).
pub const HOST: &str = "127.0.0.1";

/// The profile's files: `VMM_SECURE_DIR`, else `<repo>/.run/secure` if it exists.
pub fn secure_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("VMM_SECURE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.run/secure");
    dir.is_dir().then_some(dir)
}

/// [`secure_dir`] for a test that needs the profile: `None` (the test returns early) only when
/// `VMM_SKIP_SECURE=1`; otherwise a missing profile fails the test.
pub fn require() -> Option<PathBuf> {
    if std::env::var("VMM_SKIP_SECURE").is_ok_and(|v| v == "1") {
        eprintln!("VMM_SKIP_SECURE=1: skipping a test of the secure broker profile");
        return None;
    }
    let dir = secure_dir().filter(|d| d.join("passwd").is_file()).unwrap_or_else(|| {
        panic!(
            "the secure broker profile is not there: run `bash scripts/services.sh start` (it makes \
             .run/secure/ and its listeners), or set VMM_SECURE_DIR to its files, or VMM_SKIP_SECURE=1"
        )
    });
    Some(dir)
}

/// A file of the profile, e.g. `file("ca.crt")`.
pub fn file(name: &str) -> PathBuf {
    secure_dir().expect("the secure profile's directory").join(name)
}

/// The password of user `vmm-bridge` (`vmm-bridge.password`, random per checkout).
pub fn bridge_password() -> String {
    let path = file("vmm-bridge.password");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string()
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var).ok().map_or(default, |p| p.parse().unwrap_or_else(|_| panic!("{var}={p}: not a port")))
}

/// MQTT over TCP with a password, the ACL and the client-id plugin.
pub fn mqtt_port() -> u16 {
    port("VMM_SECURE_MQTT_PORT", 1884)
}

/// MQTT over TLS (the server certificate of `ca.crt`), with a password.
pub fn mqtts_port() -> u16 {
    port("VMM_MQTTS_PORT", 8883)
}

/// MQTT over TLS with a client certificate of `ca.crt` instead of a password.
pub fn mqtts_cert_port() -> u16 {
    port("VMM_MQTTS_CERT_PORT", 8884)
}

/// MQTT over WebSockets with a password.
pub fn ws_port() -> u16 {
    port("VMM_SECURE_WS_PORT", 9003)
}

/// MQTT over secure WebSockets with a password.
pub fn wss_port() -> u16 {
    port("VMM_WSS_PORT", 9443)
}

/// FerretDB's TLS listener.
pub fn mongo_tls_port() -> u16 {
    port("VMM_MONGO_TLS_PORT", 27019)
}

/// `mqtt://127.0.0.1:<port>` of the password TCP listener.
pub fn mqtt_url() -> String {
    format!("mqtt://{HOST}:{}", mqtt_port())
}
