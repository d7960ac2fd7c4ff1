//! The pure domain: the interworks model, the hook contract types and the
//! rules Tollgate applies itself. No I/O, no HTTP, no SQL, no wasmtime.

pub mod catalog;
pub mod codes;
pub mod hook;
pub mod interworks;
pub mod quantity;
pub mod resources;
pub mod rules;
pub mod setup;
