//! Paths of the plugins compiled for tests (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/plugins.rs"));

/// The bytes of a compiled plugin.
pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading test plugin {path}: {e}"))
}
