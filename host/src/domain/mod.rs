//! The pure domain: the interworks model, hook contract types and the rules
//! Tollgate applies itself. No I/O, no HTTP, no SQL, no wasmtime.

pub mod hook;
