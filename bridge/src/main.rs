//! The `vmm-bridge` binary (a skeleton until the bridge issue lands).

fn main() {
    eprintln!("vmm-bridge {}: the bridge is not implemented yet; see docs/PROTOCOL.md", env!("CARGO_PKG_VERSION"));
    std::process::exit(2);
}
