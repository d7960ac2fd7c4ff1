//! Files compiled into the binary (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// An example plugin's component by crate name.
pub fn example(name: &str) -> Option<&'static [u8]> {
    EXAMPLE_PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
}
