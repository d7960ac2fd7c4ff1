//! quantity-limits with a built-in minimum of 3 (two plugin versions for tests).
const MIN: i64 = 3;
include!("../../fixed-min.rs");
