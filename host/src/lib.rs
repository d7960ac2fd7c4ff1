//! Tollgate: a Service Manager for the interworks.cloud platform whose
//! business rules are tenant-uploaded WebAssembly plugins.

pub mod codec;
pub mod domain;
pub mod embedded;
pub mod http;
pub mod runtime;
pub mod service;
pub mod store;
