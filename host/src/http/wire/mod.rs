//! The HTTP APIs' bodies as types: what the admin API reads and writes
//! (`admin`) and the Service Manager spec's shapes (`platform`). The
//! service layer never sees them: handlers map service data onto them.

pub mod admin;
pub mod platform;
