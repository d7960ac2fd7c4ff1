//! Tollgate: a Service Manager for the interworks.cloud platform whose
//! business rules are tenant-uploaded WebAssembly plugins.
//!
//! `spec §N` in comments refers to the platform's API as this project
//! implements it: `docs/service-manager-api.md` (a copy kept in the
//! repository, so the code stands alone).

/// Every binary built on the library (server, tests, benchmarks) uses the
/// same allocator, so benchmarks measure what the server runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod codec;
pub mod domain;
pub mod embedded;
pub mod http;
pub mod runtime;
pub mod service;
pub mod store;
