//! quantity-limits with a built-in minimum of 1 (two plugin versions for tests).
const MIN: i64 = 1;
include!("../../fixed-min.rs");
